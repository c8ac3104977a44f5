package db

import (
	"context"
	"database/sql/driver"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leader runs work while this process holds the named lock, so that exactly
// one replica works it. On PostgreSQL it is a session advisory lock on a
// dedicated connection: if this process dies, the connection ends, the lock
// is released, and another replica's Leader (retrying every second) takes
// over. If the connection is lost, work's context is cancelled. On SQLite,
// which one process serves, work simply runs.
func (d *DB) Leader(ctx context.Context, key int64, log *slog.Logger, name string, work func(ctx context.Context)) {
	if d.Dialect != Postgres {
		work(ctx)
		return
	}
	for ctx.Err() == nil {
		err := d.leadOnce(ctx, key, log, name, work)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("leader lock lost or unavailable; retrying", "work", name, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (d *DB) leadOnce(ctx context.Context, key int64, log *slog.Logger, name string, work func(ctx context.Context)) error {
	conn, err := pgx.Connect(ctx, d.DSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	// Advisory locks are database-wide; two installations in different
	// schemas of one database (tests do that) must not share a leader.
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(schema))
	sub := int32(h.Sum32())
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", int32(key), sub).Scan(&ok); err != nil {
			return err
		}
		if ok {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	log.Info("this replica now works "+name, "lock", key)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		work(wctx)
	}()
	// Watch the lock's connection; if it is gone, so is the lock.
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			cancel()
			return nil
		case <-t.C:
			pctx, pc := context.WithTimeout(ctx, 3*time.Second)
			err := conn.Ping(pctx)
			pc()
			if err != nil && ctx.Err() == nil {
				cancel()
				<-done
				return fmt.Errorf("lock connection lost: %w", err)
			}
		}
	}
}

// NullTime scans an instant from either engine, including from aggregates
// such as MIN(t), which SQLite returns as text.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// sqliteLayouts are the forms the SQLite driver writes.
var sqliteLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", time.RFC3339Nano, "2006-01-02 15:04:05"}

// Scan implements sql.Scanner.
func (n *NullTime) Scan(v any) error {
	n.Valid = false
	switch x := v.(type) {
	case nil:
		return nil
	case time.Time:
		n.Time, n.Valid = x.UTC(), true
		return nil
	case string:
		return n.parse(x)
	case []byte:
		return n.parse(string(x))
	}
	return fmt.Errorf("cannot scan %T into a time", v)
}

func (n *NullTime) parse(s string) error {
	for _, l := range sqliteLayouts {
		if t, err := time.Parse(l, s); err == nil {
			n.Time, n.Valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("cannot parse time %q", s)
}

// Value implements driver.Valuer.
func (n NullTime) Value() (driver.Value, error) {
	if !n.Valid {
		return nil, nil
	}
	return n.Time, nil
}
