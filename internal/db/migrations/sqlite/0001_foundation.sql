-- Foundation: directory, identities and access, audit log.
-- Conventions (both engines): ids are TEXT (UUIDv7 made in Go); instants are
-- TIMESTAMP (UTC); calendar dates are TEXT 'YYYY-MM-DD'; local wall times are
-- TEXT 'HH:MM' with an IANA zone beside them; JSON is TEXT; `search` columns
-- hold lower-cased text made in Go (so Cyrillic matches case-insensitively on
-- both engines); archived records have active_to set and are never deleted.

CREATE TABLE member_states (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    name_en       TEXT NOT NULL,
    name_ru       TEXT NOT NULL,
    tz            TEXT NOT NULL,
    working_hours TEXT NOT NULL DEFAULT '',
    active_to     TIMESTAMP,
    search        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

-- Dated status history; the status in force is the latest valid_from <= today.
CREATE TABLE member_state_statuses (
    id         TEXT PRIMARY KEY,
    state_id   TEXT NOT NULL REFERENCES member_states(id),
    status     TEXT NOT NULL CHECK (status IN ('active','suspended','withdrawn')),
    valid_from TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (state_id, valid_from)
);

CREATE TABLE bodies (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    name_ru       TEXT NOT NULL,
    short_en      TEXT NOT NULL DEFAULT '',
    short_ru      TEXT NOT NULL DEFAULT '',
    parent_id     TEXT REFERENCES bodies(id),
    state_id      TEXT REFERENCES member_states(id),
    tz            TEXT NOT NULL DEFAULT '',
    working_hours TEXT NOT NULL DEFAULT '',
    active_to     TIMESTAMP,
    search        TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE people (
    id         TEXT PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    name_en    TEXT NOT NULL,
    name_ru    TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    languages  TEXT NOT NULL DEFAULT '',
    state_id   TEXT REFERENCES member_states(id),
    body_id    TEXT REFERENCES bodies(id),
    active_to  TIMESTAMP,
    search     TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_state ON people(state_id);

CREATE TABLE posts (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL UNIQUE,
    kind           TEXT NOT NULL CHECK (kind IN ('centre','ministry')),
    name_en        TEXT NOT NULL,
    name_ru        TEXT NOT NULL,
    state_id       TEXT REFERENCES member_states(id),
    body_id        TEXT REFERENCES bodies(id),
    ministry_kind  TEXT NOT NULL DEFAULT '',
    tz             TEXT NOT NULL,
    contacts       TEXT NOT NULL DEFAULT '[]',
    head_person_id TEXT REFERENCES people(id),
    active_to      TIMESTAMP,
    search         TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX posts_state ON posts(state_id);

CREATE TABLE positions (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people(id),
    body_id    TEXT REFERENCES bodies(id),
    title_en   TEXT NOT NULL,
    title_ru   TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT,
    acting     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (person_id, title_en, start_date)
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    person_id           TEXT NOT NULL UNIQUE REFERENCES people(id),
    login               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL DEFAULT '',
    locale              TEXT NOT NULL DEFAULT 'en',
    tz                  TEXT NOT NULL DEFAULT '',
    active              BOOLEAN NOT NULL DEFAULT TRUE,
    password_changed_at TIMESTAMP,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);

-- scope_kind global: scope_id ''; state: a member_states.id; post: a posts.id.
CREATE TABLE role_grants (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    role       TEXT NOT NULL,
    scope_kind TEXT NOT NULL CHECK (scope_kind IN ('global','state','post')),
    scope_id   TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, role, scope_kind, scope_id)
);

-- id is the SHA-256 (hex) of the cookie value; the value itself is never stored.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    csrf         TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    idle_seconds INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id),
    post_id      TEXT REFERENCES posts(id),
    name         TEXT NOT NULL DEFAULT '',
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    expires_at   TIMESTAMP,
    revoked_at   TIMESTAMP
);

-- Failed logins per key ('acct:<login>' or 'ip:<addr>'), for slowing down
-- guessing across replicas. Accounts are never locked.
CREATE TABLE login_failures (
    key        TEXT PRIMARY KEY,
    failures   INTEGER NOT NULL,
    last_at    TIMESTAMP NOT NULL
);

-- Append-only. Writers insert with seq/prev_hash/hash NULL inside the
-- action's own transaction; the single sealer assigns seq (the chain
-- position) and the hashes after commit.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TIMESTAMP NOT NULL,
    actor         TEXT NOT NULL,
    actor_user_id TEXT,
    ip            TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    object_type   TEXT NOT NULL DEFAULT '',
    object_id     TEXT NOT NULL DEFAULT '',
    summary       TEXT NOT NULL DEFAULT '',
    before_json   TEXT NOT NULL DEFAULT '',
    after_json    TEXT NOT NULL DEFAULT '',
    seq           INTEGER UNIQUE,
    prev_hash     TEXT,
    hash          TEXT
);
CREATE INDEX audit_log_unsealed ON audit_log(id) WHERE seq IS NULL;
CREATE INDEX audit_log_object ON audit_log(object_type, object_id);

-- One row: the chain head. Only the sealer locks and updates it.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE audit_anchors (
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at   TIMESTAMP NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);

-- Small key/value settings of the installation (e.g. the cookie signing key).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
