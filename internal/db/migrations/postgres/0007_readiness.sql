-- Readiness checks (package readiness): exercise alerts sent now or at a
-- scheduled instant, one-off or recurring.
--
-- A recurring check is a rule (readiness_series: weekdays or days of the
-- month, a window of local wall times 'HH:MM' and the IANA zone they are
-- read in); its next occurrence is always materialised as one
-- readiness_checks row, whose minute is drawn once (crypto/rand) when that
-- row is written. A one-off check is a readiness_checks row without series.
--
-- A check row moves scheduled → firing → fired (or cancelled, or failed when
-- the alert could not be sent). fire_at is the drawn or chosen instant; until
-- the check fires it is shown to centre roles only. claimed_at is when a
-- sender took the row (state firing): a firing row left behind by a crash is
-- taken up again after a grace period. The alert a check sends carries
-- alerts.check_id = readiness_checks.id; the unique index below makes a
-- second alert for the same check impossible, so a retried firing links the
-- alert already sent instead of sending another.

CREATE TABLE readiness_series (
    id                 TEXT PRIMARY KEY,
    title              TEXT NOT NULL,
    body               TEXT NOT NULL DEFAULT '',
    priority           TEXT NOT NULL CHECK (priority IN ('routine','urgent','flash')),
    ack_within_seconds INTEGER NOT NULL,
    targets            TEXT NOT NULL,
    weekdays           TEXT NOT NULL DEFAULT '[]',
    month_days         TEXT NOT NULL DEFAULT '[]',
    window_start       TEXT NOT NULL,
    window_end         TEXT NOT NULL,
    tz                 TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('active','cancelled')),
    created_at         TIMESTAMPTZ NOT NULL,
    created_by         TEXT NOT NULL,
    created_by_user    TEXT REFERENCES users(id),
    updated_at         TIMESTAMPTZ NOT NULL,
    cancelled_at       TIMESTAMPTZ,
    cancelled_by       TEXT NOT NULL DEFAULT '',
    cancel_comment     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE readiness_checks (
    id                 TEXT PRIMARY KEY,
    series_id          TEXT REFERENCES readiness_series(id),
    kind               TEXT NOT NULL CHECK (kind IN ('now','at','surprise','recurring')),
    title              TEXT NOT NULL,
    body               TEXT NOT NULL DEFAULT '',
    priority           TEXT NOT NULL CHECK (priority IN ('routine','urgent','flash')),
    ack_within_seconds INTEGER NOT NULL,
    targets            TEXT NOT NULL,
    window_from        TIMESTAMPTZ,
    window_to          TIMESTAMPTZ,
    fire_at            TIMESTAMPTZ NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('scheduled','firing','fired','cancelled','failed')),
    claimed_at         TIMESTAMPTZ,
    alert_id           TEXT REFERENCES alerts(id),
    fired_at           TIMESTAMPTZ,
    failure            TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMPTZ NOT NULL,
    created_by         TEXT NOT NULL,
    created_by_user    TEXT REFERENCES users(id),
    updated_at         TIMESTAMPTZ NOT NULL,
    cancelled_at       TIMESTAMPTZ,
    cancelled_by       TEXT NOT NULL DEFAULT '',
    cancel_comment     TEXT NOT NULL DEFAULT ''
);
-- The scheduler's timers.
CREATE INDEX readiness_checks_due ON readiness_checks(fire_at) WHERE state = 'scheduled';
CREATE INDEX readiness_checks_firing ON readiness_checks(claimed_at) WHERE state = 'firing';
-- Reports: previous checks and monthly trends go by send time.
CREATE INDEX readiness_checks_fired ON readiness_checks(fired_at) WHERE state = 'fired';
CREATE INDEX readiness_checks_series ON readiness_checks(series_id, fire_at);
-- A series has at most one pending occurrence.
CREATE UNIQUE INDEX readiness_checks_next ON readiness_checks(series_id) WHERE state IN ('scheduled','firing');
-- At most one alert per check (see above).
CREATE UNIQUE INDEX alerts_check_once ON alerts(check_id) WHERE check_id IS NOT NULL;
