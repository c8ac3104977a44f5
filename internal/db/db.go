package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names an engine.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tunes pools; the zero value is fine for a server.
type Options struct {
	// MaxConns caps the read pool (PostgreSQL: the whole pool). Tests keep
	// it small because the CI PostgreSQL is shared.
	MaxConns int
}

// DB is an open store.
type DB struct {
	Dialect Dialect
	DSN     string
	w       *sql.DB // writes (SQLite: one connection)
	r       *sql.DB // reads
}

// IsPostgresDSN tells whether dsn selects PostgreSQL.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the store named by dsn: a postgres:// URL or an SQLite file path.
func Open(ctx context.Context, dsn string, o Options) (*DB, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	d := &DB{DSN: dsn}
	if IsPostgresDSN(dsn) {
		d.Dialect = Postgres
		p, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		p.SetMaxOpenConns(o.MaxConns)
		p.SetMaxIdleConns(o.MaxConns)
		p.SetConnMaxIdleTime(5 * time.Minute)
		d.w, d.r = p, p
	} else {
		d.Dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite://")
		path = strings.TrimPrefix(path, "file:")
		if path == "" {
			return nil, errors.New("empty database path")
		}
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		q := url.Values{}
		for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)"} {
			q.Add("_pragma", p)
		}
		q.Set("_time_format", "sqlite")
		w, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode()+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		r, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		r.SetMaxOpenConns(o.MaxConns)
		r.SetMaxIdleConns(o.MaxConns)
		d.w, d.r = w, r
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.w.PingContext(pctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d.Dialect, err)
	}
	return d, nil
}

// Close closes both pools.
func (d *DB) Close() error {
	err := d.w.Close()
	if d.r != d.w {
		if e := d.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Ping checks the write pool answers (readiness).
func (d *DB) Ping(ctx context.Context) error { return d.w.PingContext(ctx) }

// Querier is what domain stores run SQL on: the DB (reads) or a Tx.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.w.ExecContext(ctx, d.Rebind(q), args...)
}
func (d *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.r.QueryContext(ctx, d.Rebind(q), args...)
}
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return d.r.QueryRowContext(ctx, d.Rebind(q), args...)
}

// Rebind turns `?` placeholders into `$1, $2 …` for PostgreSQL. A `?` inside
// a quoted string literal is left alone.
func (d *DB) Rebind(q string) string {
	if d.Dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n, inStr := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			inStr = !inStr
			b.WriteByte(c)
		case c == '?' && !inStr:
			n++
			fmt.Fprintf(&b, "$%d", n)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Tx is a write transaction with after-commit hooks.
type Tx struct {
	tx    *sql.Tx
	d     *DB
	after []func()
	stmts map[string]*sql.Stmt
}

// ExecPrepared runs q like Exec, but on SQLite prepares it once per
// transaction and reuses it: for statements run many times in one
// transaction (multi-row inserts of thousands of rows; the statements a
// group commit runs for every caller), where parsing the SQL text each time
// costs more than running it. The statements close with the transaction.
// On PostgreSQL pgx already caches prepared statements per connection, and
// an explicit prepare would only add a round trip.
func (t *Tx) ExecPrepared(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.d.Dialect == Postgres {
		return t.Exec(ctx, q, args...) // pgx caches prepared statements per connection itself
	}
	st, err := t.prepared(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryRowPrepared is QueryRow with the statement prepared once per
// transaction: for the statements a group commit runs for every caller.
func (t *Tx) QueryRowPrepared(ctx context.Context, q string, args ...any) *sql.Row {
	if t.d.Dialect == Postgres {
		return t.QueryRow(ctx, q, args...)
	}
	st, err := t.prepared(ctx, q)
	if err != nil {
		return t.tx.QueryRowContext(ctx, t.d.Rebind(q), args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (t *Tx) prepared(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := t.stmts[q]; ok {
		return st, nil
	}
	st, err := t.tx.PrepareContext(ctx, t.d.Rebind(q))
	if err != nil {
		return nil, err
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[q] = st
	return st, nil
}

func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.d.Rebind(q), args...)
}
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.d.Rebind(q), args...)
}
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.d.Rebind(q), args...)
}

// Dialect of the store the transaction runs on.
func (t *Tx) Dialect() Dialect { return t.d.Dialect }

// AfterCommit queues f to run once the transaction has committed (never if
// it rolls back). Use it to wake hubs and loops: nothing slow belongs inside
// a write transaction.
func (t *Tx) AfterCommit(f func()) { t.after = append(t.after, f) }

// RunInTx runs fn in a write transaction, commits, then runs the after-commit
// hooks. It retries the whole function when the engine reports a transient
// conflict (SQLite busy, PostgreSQL serialization failure or deadlock), so fn
// must not have side effects outside the transaction.
func (d *DB) RunInTx(ctx context.Context, fn func(tx *Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		var t *Tx
		t, err = d.begin(ctx)
		if err == nil {
			err = fn(t)
			if err == nil {
				err = t.tx.Commit()
				if err == nil {
					for _, f := range t.after {
						f()
					}
					return nil
				}
			} else {
				_ = t.tx.Rollback()
			}
		}
		if !IsTransient(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
	}
	return err
}

func (d *DB) begin(ctx context.Context) (*Tx, error) {
	tx, err := d.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{tx: tx, d: d}, nil
}

// IsTransient tells whether err is a conflict worth retrying.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return false
}

// IsUniqueViolation tells whether err is a unique-constraint violation.
func IsUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// IsForeignKeyViolation tells whether err is a foreign-key violation.
func IsForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// Settings reports the durability settings in force, for benchmarks and
// /readyz: a figure taken with fsync off does not count.
func (d *DB) Settings(ctx context.Context) map[string]string {
	out := map[string]string{"engine": string(d.Dialect)}
	var v string
	if d.Dialect == SQLite {
		var n int
		if d.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&n) == nil {
			out["synchronous"] = map[int]string{0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}[n]
		}
		if d.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&v) == nil {
			out["journal_mode"] = v
		}
		return out
	}
	for _, s := range []string{"fsync", "synchronous_commit"} {
		if d.r.QueryRowContext(ctx, "SHOW "+s).Scan(&v) == nil {
			out[s] = v
		}
	}
	return out
}

// ForUpdate returns the row-locking clause for a SELECT on PostgreSQL
// (" FOR UPDATE OF alias"), and "" on SQLite, whose write transaction
// already holds the database.
func (t *Tx) ForUpdate(alias string) string {
	if t.d.Dialect != Postgres {
		return ""
	}
	return " FOR UPDATE OF " + alias
}

// ForUpdateSkipLocked is ForUpdate for work queues: rows another replica is
// working are skipped rather than waited for.
func (t *Tx) ForUpdateSkipLocked(alias string) string {
	if t.d.Dialect != Postgres {
		return ""
	}
	return " FOR UPDATE OF " + alias + " SKIP LOCKED"
}
