-- Duty rosters (package duty): rotations (the rules), shifts (the rows the
-- rules generate, plus manual shifts and overrides), escalation paths,
-- handover notes and iCalendar feed tokens.
--
-- Shifts are half-open intervals [start_at, end_at) in UTC. Which row
-- applies at an instant (override > manual > rotation; among equals the
-- latest created) is decided when reading, never by rewriting rows.

-- One row per post whose roster was ever changed: a revision counter that
-- every roster write bumps first, so concurrent writers of one post queue
-- on this row (PostgreSQL row lock; SQLite has one writer anyway).
CREATE TABLE duty_rosters (
    post_id    TEXT PRIMARY KEY REFERENCES posts(id),
    rev        INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A rotation: shifts hand over at local wall times `handovers` (JSON array
-- of 'HH:MM', ascending: ["09:00"] = 24-hour shifts, ["08:00","20:00"] =
-- day/night) in zone tz, from start_date on, the team (JSON array of people
-- ids) taking the shifts in turn. next_index/generated_to say how far rows
-- have been generated (shift number of the rule; end of the last row).
CREATE TABLE duty_rotations (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL REFERENCES posts(id),
    name         TEXT NOT NULL DEFAULT '',
    slot         TEXT NOT NULL CHECK (slot IN ('primary','deputy')),
    handovers    TEXT NOT NULL,
    tz           TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    team         TEXT NOT NULL,
    next_index   INTEGER NOT NULL DEFAULT 0,
    generated_to TIMESTAMP,
    active_to    TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
-- At most one live rotation fills a slot of a post.
CREATE UNIQUE INDEX duty_rotations_live ON duty_rotations(post_id, slot) WHERE active_to IS NULL;

-- source: rotation (generated), manual (entered by hand), override (kind
-- swap or cover; ref_shift_id is the shift it replaces, kept for display
-- only: precedence goes by post+slot+interval; group_id pairs the two
-- halves of a swap).
CREATE TABLE duty_shifts (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL REFERENCES posts(id),
    person_id    TEXT NOT NULL REFERENCES people(id),
    slot         TEXT NOT NULL CHECK (slot IN ('primary','deputy')),
    start_at     TIMESTAMP NOT NULL,
    end_at       TIMESTAMP NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('rotation','manual','override')),
    kind         TEXT NOT NULL DEFAULT '' CHECK (kind IN ('','swap','cover')),
    rotation_id  TEXT REFERENCES duty_rotations(id),
    ref_shift_id TEXT,
    group_id     TEXT,
    note         TEXT NOT NULL DEFAULT '',
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX duty_shifts_post_start ON duty_shifts(post_id, start_at);
CREATE INDEX duty_shifts_start ON duty_shifts(start_at);
CREATE INDEX duty_shifts_person ON duty_shifts(person_id, start_at);
CREATE INDEX duty_shifts_rotation ON duty_shifts(rotation_id, start_at);
-- Manual shifts and overrides are few; "who is on duty" reads the ones
-- near an instant through this index to cut the rotation rows they cover.
CREATE INDEX duty_shifts_extra ON duty_shifts(post_id, start_at) WHERE source <> 'rotation';

-- A post's escalation path (absent: the default path, see duty.DefaultPath).
-- delay_seconds counts from the previous level; levels 0 and 1 have none
-- (level 0 fires at once, level 1 at the alert's deadline).
CREATE TABLE duty_escalation_levels (
    post_id       TEXT NOT NULL REFERENCES posts(id),
    level         INTEGER NOT NULL CHECK (level >= 0),
    delay_seconds INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (post_id, level)
);
CREATE TABLE duty_escalation_targets (
    post_id   TEXT NOT NULL,
    level     INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    target    TEXT NOT NULL CHECK (target IN ('primary','deputy','head','person','centre_officer')),
    person_id TEXT REFERENCES people(id),
    PRIMARY KEY (post_id, level, position),
    FOREIGN KEY (post_id, level) REFERENCES duty_escalation_levels(post_id, level) ON DELETE CASCADE
);

-- A note the outgoing officer leaves for whoever comes on duty next.
CREATE TABLE duty_handover_notes (
    id               TEXT PRIMARY KEY,
    post_id          TEXT NOT NULL REFERENCES posts(id),
    author_person_id TEXT REFERENCES people(id),
    author           TEXT NOT NULL,
    slot             TEXT NOT NULL DEFAULT '',
    body             TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX duty_handover_notes_post ON duty_handover_notes(post_id, created_at);

CREATE TABLE duty_handover_reads (
    note_id   TEXT NOT NULL REFERENCES duty_handover_notes(id),
    person_id TEXT NOT NULL REFERENCES people(id),
    read_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (note_id, person_id)
);

-- iCalendar feed tokens: hash is the SHA-256 (hex) of the token in the URL;
-- the token itself is shown once and never stored.
CREATE TABLE duty_feed_tokens (
    id           TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES people(id),
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX duty_feed_tokens_person ON duty_feed_tokens(person_id);
