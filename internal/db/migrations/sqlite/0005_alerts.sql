-- Alerts and their deliveries. A sent alert is never edited (a correction is
-- a new alert with corrects_id); only its state moves open → cancelled|closed.
CREATE TABLE alerts (
    id                 TEXT PRIMARY KEY,
    title              TEXT NOT NULL,
    body               TEXT NOT NULL DEFAULT '',
    priority           TEXT NOT NULL CHECK (priority IN ('routine','urgent','flash')),
    exercise           BOOLEAN NOT NULL DEFAULT FALSE,
    ack_within_seconds INTEGER NOT NULL,
    deadline_at        TIMESTAMP NOT NULL,
    case_id            TEXT,
    check_id           TEXT,
    corrects_id        TEXT REFERENCES alerts(id),
    sender_post_id     TEXT REFERENCES posts(id),
    targets            TEXT NOT NULL,
    recipients         INTEGER NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('open','cancelled','closed')),
    created_at         TIMESTAMP NOT NULL,
    created_by         TEXT NOT NULL,
    created_by_user    TEXT REFERENCES users(id),
    ended_at           TIMESTAMP,
    ended_by           TEXT NOT NULL DEFAULT '',
    end_comment        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alerts_created ON alerts(created_at);
CREATE INDEX alerts_open ON alerts(state, created_at);

-- One per addressed post. due_at is the durable timer of its next
-- escalation step (NULL: nothing pending); the engine works due rows.
CREATE TABLE deliveries (
    id                 TEXT PRIMARY KEY,
    alert_id           TEXT NOT NULL REFERENCES alerts(id),
    post_id            TEXT NOT NULL REFERENCES posts(id),
    state              TEXT NOT NULL CHECK (state IN ('pending','delivered','acknowledged','escalated','missed','cancelled')),
    on_duty            TEXT NOT NULL DEFAULT '[]',
    delivered_at       TIMESTAMP,
    delivered_via      TEXT NOT NULL DEFAULT '',
    acked_at           TIMESTAMP,
    acked_by_user      TEXT,
    acked_by_login     TEXT NOT NULL DEFAULT '',
    acked_by_person    TEXT,
    ack_channel        TEXT NOT NULL DEFAULT '',
    late               BOOLEAN NOT NULL DEFAULT FALSE,
    phone_at           TIMESTAMP,
    phone_by           TEXT NOT NULL DEFAULT '',
    phone_note         TEXT NOT NULL DEFAULT '',
    escalation_level   INTEGER NOT NULL DEFAULT 0,
    due_at             TIMESTAMP,
    missed_at          TIMESTAMP,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (alert_id, post_id)
);
CREATE INDEX deliveries_due ON deliveries(due_at) WHERE due_at IS NOT NULL;
CREATE INDEX deliveries_post ON deliveries(post_id, alert_id);

-- The per-delivery timeline. An escalation level is recorded at most once
-- per delivery (the unique index makes a repeated step impossible, even
-- after a crash between commit and acknowledgement of the work).
CREATE TABLE delivery_steps (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id),
    alert_id    TEXT NOT NULL REFERENCES alerts(id),
    at          TIMESTAMP NOT NULL,
    kind        TEXT NOT NULL,
    level       INTEGER NOT NULL DEFAULT -1,
    channel     TEXT NOT NULL DEFAULT '',
    person_id   TEXT,
    login       TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX delivery_steps_delivery ON delivery_steps(delivery_id, id);
CREATE UNIQUE INDEX delivery_steps_level ON delivery_steps(delivery_id, level) WHERE kind = 'escalated';
CREATE INDEX delivery_steps_person ON delivery_steps(person_id, delivery_id);

-- Templates for recurring messages in the composer.
CREATE TABLE alert_templates (
    id                 TEXT PRIMARY KEY,
    code               TEXT NOT NULL UNIQUE,
    name_en            TEXT NOT NULL,
    name_ru            TEXT NOT NULL,
    title              TEXT NOT NULL,
    body               TEXT NOT NULL DEFAULT '',
    priority           TEXT NOT NULL,
    ack_within_seconds INTEGER NOT NULL,
    exercise           BOOLEAN NOT NULL DEFAULT FALSE,
    targets            TEXT NOT NULL DEFAULT '{}',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
