package db

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notify asks PostgreSQL to wake the listeners of channel when tx commits
// (pg_notify is transactional: nothing is sent on rollback). On SQLite, whose
// writers all live in this process, it does nothing: the caller's
// after-commit hook wakes local loops.
func (t *Tx) Notify(ctx context.Context, channel string) error {
	if t.d.Dialect != Postgres {
		return nil
	}
	_, err := t.Exec(ctx, "SELECT pg_notify(?, '')", channel)
	return err
}

// Listen calls wake every time channel is notified, until ctx ends. It owns
// one dedicated connection and reconnects after a failure, calling wake once
// after each (re)connect so nothing sent while it was away is missed. On
// SQLite it returns at once.
func (d *DB) Listen(ctx context.Context, channel string, wake func(), log *slog.Logger) {
	if d.Dialect != Postgres {
		return
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := d.listenOnce(ctx, channel, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("database listener lost; reconnecting", "channel", channel, "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		if backoff < 5*time.Second {
			backoff *= 2
		}
	}
}

func (d *DB) listenOnce(ctx context.Context, channel string, wake func()) error {
	conn, err := pgx.Connect(ctx, d.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}
