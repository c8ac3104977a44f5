-- Transactional outbox: every change someone must hear about is written here
-- in the transaction that makes it. Positions are allocated by bumping
-- outbox_head inside that transaction: the row lock is held to commit, so
-- positions become visible strictly in order and a reader that has seen
-- position N has seen everything below it (PostgreSQL commits out of order
-- otherwise; SQLite has one writer anyway).
CREATE TABLE outbox (
    pos      BIGINT PRIMARY KEY,
    at       TIMESTAMP NOT NULL,
    type     TEXT NOT NULL,
    audience TEXT NOT NULL,
    payload  TEXT NOT NULL
);
CREATE INDEX outbox_at ON outbox(at);

CREATE TABLE outbox_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    pos BIGINT NOT NULL
);
INSERT INTO outbox_head (id, pos) VALUES (1, 0);

-- Connection state of posts' terminals, kept in the database so that every
-- replica's board agrees. One row per session that streams for a post.
CREATE TABLE heartbeats (
    session_key TEXT NOT NULL,
    post_id     TEXT NOT NULL REFERENCES posts(id),
    user_id     TEXT REFERENCES users(id),
    replica     TEXT NOT NULL DEFAULT '',
    first_at    TIMESTAMP NOT NULL,
    last_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (session_key, post_id)
);
CREATE INDEX heartbeats_post ON heartbeats(post_id, last_at);
