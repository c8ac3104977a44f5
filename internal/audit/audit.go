// Package audit owns the append-only, hash-chained audit log.
//
// Writers call Record inside the action's own transaction: one entry per
// action (an alert to 10,000 posts is one entry), with who, when, from where,
// what, and before → after. Entries are inserted unsealed; the sealer
// (RunSealer, SealPending) assigns each its chain position (seq), the
// previous entry's hash and its own hash after commit, so writers never
// queue on the chain head. Sealers in several processes take turns on the
// head row's lock, so there is only ever one chain.
// Verify walks the chain and reports the first broken link; anchors
// (SEQ:HASH of the head, logged by the server and written into backups) let
// Verify also detect a chain whose tail was cut off or rewritten.
//
// Only auditors and administrators may read the log (List).
//
// This package must never update or delete an entry's content: the sealer
// writes only seq, prev_hash and hash, and only into rows where seq is NULL.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// Entry describes one action.
type Entry struct {
	Action     string // dotted verb, e.g. "post.create", "user.login", "alert.send"
	ObjectType string // e.g. "post"
	ObjectID   string
	Summary    string // one line a person can read
	Before     any    // state before (nil for creations); marshalled to JSON
	After      any    // state after (nil for deletions/archival where not useful)
}

// Log records entries and wakes the sealer after commit.
type Log struct {
	db    *db.DB
	clock clock.Clock
	wake  chan struct{}
	// sealEvery is the sealer's fallback poll, for entries written by other
	// processes (the CLI against a live server) that cannot Poke it.
	sealEvery time.Duration
	// batch is how many entries one sealing transaction takes, so a long
	// backlog never holds the (SQLite: only) write connection for long.
	batch int
}

// New returns the audit log of d.
func New(d *db.DB, c clock.Clock) *Log {
	return &Log{db: d, clock: c, wake: make(chan struct{}, 1), sealEvery: 3 * time.Second, batch: 500}
}

// Record appends e to the log inside tx, as the actor in ctx. The entry is
// sealed into the chain after the transaction commits.
func (l *Log) Record(ctx context.Context, tx *db.Tx, e Entry) error {
	a := auth.From(ctx)
	var userID any
	ip := ""
	if a != nil {
		if a.UserID != "" {
			userID = a.UserID
		}
		ip = a.IP
	}
	before, err := marshal(e.Before)
	if err != nil {
		return fmt.Errorf("audit before: %w", err)
	}
	after, err := marshal(e.After)
	if err != nil {
		return fmt.Errorf("audit after: %w", err)
	}
	_, err = tx.ExecPrepared(ctx, `INSERT INTO audit_log (at, actor, actor_user_id, ip, action, object_type, object_id, summary, before_json, after_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		clock.Norm(l.clock.Now()), a.Label(), userID, ip, e.Action, e.ObjectType, e.ObjectID, e.Summary, before, after)
	if err != nil {
		return fmt.Errorf("audit record: %w", err)
	}
	tx.AfterCommit(l.Poke)
	return nil
}

// Poke wakes the sealer (non-blocking).
func (l *Log) Poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func marshal(v any) (string, error) {
	if v == nil {
		return "", nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}
