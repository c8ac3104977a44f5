-- Off-line channels (package notify): webhook subscriptions and the durable
-- outbound queue of e-mails and webhook calls.

-- A webhook subscription. post_id binds it to one post (a national system):
-- it then receives only the events whose audience covers that post; without
-- a post it receives every operational event. During a secret rotation the
-- previous secret stays valid until prev_valid_until and requests carry both
-- signatures. cursor_pos is the last outbox position the dispatcher has
-- turned into queue rows for this webhook (durable, moved in the same
-- transaction as the rows it produced). event_types is a JSON array of
-- event types ('[]' = every type).
CREATE TABLE webhooks (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    url              TEXT NOT NULL,
    post_id          TEXT REFERENCES posts(id),
    secret           TEXT NOT NULL,
    prev_secret      TEXT NOT NULL DEFAULT '',
    prev_valid_until TIMESTAMP,
    event_types      TEXT NOT NULL DEFAULT '[]',
    active           BOOLEAN NOT NULL DEFAULT TRUE,
    cursor_pos       BIGINT NOT NULL DEFAULT 0,
    created_at       TIMESTAMP NOT NULL,
    created_by       TEXT NOT NULL DEFAULT '',
    updated_at       TIMESTAMP NOT NULL,
    disabled_at      TIMESTAMP
);
CREATE INDEX webhooks_post ON webhooks(post_id);

-- One row per message: an e-mail to a person or a call of a webhook. id is
-- stable across retries (the e-mail Message-ID, the Sitroom-Event-Id
-- header). purpose says what the message is about: for e-mails alert,
-- escalation or ended (rendered when sent, from the alert row, so a 10,000
-- post alert does not copy its body 10,000 times); for webhooks the event
-- type, and payload is the exact JSON body. A sender claims due rows
-- (status sending, next_attempt_at = the end of its lease, lease_owner = it)
-- in a short transaction, sends outside any transaction, then records sent
-- or the next attempt; a lease that runs out makes the row due again, so a
-- crash between sending and recording resends with the same id.
CREATE TABLE notify_outbound (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('email','webhook')),
    target           TEXT NOT NULL,
    purpose          TEXT NOT NULL DEFAULT '',
    payload          TEXT NOT NULL DEFAULT '{}',
    status           TEXT NOT NULL CHECK (status IN ('pending','sending','sent','dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP NOT NULL,
    lease_owner      TEXT NOT NULL DEFAULT '',
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    first_attempt_at TIMESTAMP,
    sent_at          TIMESTAMP,
    dead_at          TIMESTAMP,
    alert_id         TEXT REFERENCES alerts(id),
    delivery_id      TEXT REFERENCES deliveries(id),
    person_id        TEXT REFERENCES people(id),
    webhook_id       TEXT REFERENCES webhooks(id),
    event_pos        BIGINT
);
CREATE INDEX notify_outbound_due ON notify_outbound(next_attempt_at) WHERE status IN ('pending','sending');
CREATE INDEX notify_outbound_dead ON notify_outbound(id) WHERE status = 'dead';
CREATE INDEX notify_outbound_alert ON notify_outbound(alert_id, kind);
-- An outbox event is queued at most once per webhook, even if a dispatcher
-- ran twice over the same positions.
CREATE UNIQUE INDEX notify_outbound_event ON notify_outbound(webhook_id, event_pos) WHERE webhook_id IS NOT NULL;
