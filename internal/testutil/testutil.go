// Package testutil gives tests a fresh, migrated store on each engine and the
// rule for outside programs: where one is missing a test skips with a printed
// reason, except in CI (CI=true), where it fails instead of silently skipping.
package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sitroom/internal/db"
)

// InCI tells whether the tests run in CI, where nothing may be skipped.
func InCI() bool { return os.Getenv("CI") == "true" }

// Unavailable skips the test with reason, or fails it in CI.
func Unavailable(t testing.TB, reason string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required in CI: %s", reason)
	}
	t.Skipf("skipped: %s", reason)
}

// RequireProgram returns the path of an outside program or skips/fails.
func RequireProgram(t testing.TB, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Unavailable(t, "program not found: "+strings.Join(names, " or "))
	return ""
}

// PostgresURL is the server the PostgreSQL tests use (SITROOM_TEST_PG to
// override).
func PostgresURL() string {
	if u := os.Getenv("SITROOM_TEST_PG"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

var (
	pgOnce sync.Once
	pgErr  error
)

func pgReachable() error {
	pgOnce.Do(func() {
		c, err := sql.Open("pgx", PostgresURL())
		if err != nil {
			pgErr = err
			return
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		pgErr = c.PingContext(ctx)
	})
	return pgErr
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// SQLiteDSN returns the path of a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "sitroom.db")
}

// PostgresDSN creates a uniquely named schema on the test server, drops it
// when the test ends, and returns a DSN whose search_path is that schema.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	if err := pgReachable(); err != nil {
		Unavailable(t, "PostgreSQL not reachable at "+PostgresURL()+": "+err.Error())
	}
	schema := randomName("t_")
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatal(err)
	}
	admin.SetMaxOpenConns(1)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		admin.Close()
	})
	sep := "?"
	if strings.Contains(PostgresURL(), "?") {
		sep = "&"
	}
	return PostgresURL() + sep + "search_path=" + schema
}

// Open opens and migrates a fresh store of the given engine for this test.
func Open(t testing.TB, engine db.Dialect) *db.DB {
	t.Helper()
	var dsn string
	if engine == db.Postgres {
		dsn = PostgresDSN(t)
	} else {
		dsn = SQLiteDSN(t)
	}
	d, err := db.Open(context.Background(), dsn, db.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("open %s: %v", engine, err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", engine, err)
	}
	return d
}

// Engines lists the engines every store test runs on.
var Engines = []db.Dialect{db.SQLite, db.Postgres}

// EachEngine runs fn as a subtest on a fresh store of every engine.
func EachEngine(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) {
			fn(t, Open(t, e))
		})
	}
}
