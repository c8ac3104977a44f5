package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestMigrateIsIdempotent(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		applied, err := d.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v", applied)
		}
		if n, _ := d.Pending(context.Background()); n != 0 {
			t.Fatalf("pending = %d", n)
		}
	})
}

func TestTimesRoundTripAndOrder(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		base := clock.Norm(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
		times := []time.Time{base.Add(1500 * time.Millisecond), base, base.Add(123 * time.Microsecond), base.Add(time.Second)}
		err := d.RunInTx(ctx, func(tx *db.Tx) error {
			for i, tm := range times {
				if _, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", string(rune('a'+i)), "x"); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, "INSERT INTO login_failures (key, failures, last_at) VALUES (?, ?, ?)", string(rune('a'+i)), i, tm); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := d.Query(ctx, "SELECT last_at FROM login_failures WHERE last_at >= ? ORDER BY last_at", base.Add(time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var got []time.Time
		for rows.Next() {
			var tm time.Time
			if err := rows.Scan(&tm); err != nil {
				t.Fatal(err)
			}
			got = append(got, tm)
		}
		want := []time.Time{times[2], times[3], times[0]}
		if len(got) != len(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
		for i := range want {
			if !got[i].Equal(want[i]) {
				t.Fatalf("row %d: got %v, want %v", i, got[i], want[i])
			}
		}
	})
}

func TestRunInTxRollsBackAndSkipsHooks(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ran := false
		boom := errors.New("boom")
		err := d.RunInTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ran = true })
			if _, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES ('k', 'v')"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if ran {
			t.Fatal("after-commit hook ran on rollback")
		}
		var n int
		if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM settings WHERE key = 'k'").Scan(&n); err != nil || n != 0 {
			t.Fatalf("row survived rollback: n=%d err=%v", n, err)
		}
		err = d.RunInTx(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() { ran = true })
			_, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES ('k', 'v')")
			return err
		})
		if err != nil || !ran {
			t.Fatalf("commit: err=%v hook ran=%v", err, ran)
		}
		err = d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES ('k', 'w')")
			return err
		})
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate key: want unique violation, got %v", err)
		}
	})
}

func TestRebindSkipsStringLiterals(t *testing.T) {
	d := &db.DB{Dialect: db.Postgres}
	got := d.Rebind("SELECT a FROM t WHERE b = ? AND c = '?' AND d = ?")
	want := "SELECT a FROM t WHERE b = $1 AND c = '?' AND d = $2"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestDurabilitySettings(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		s := d.Settings(context.Background())
		if d.Dialect == db.SQLite && (s["synchronous"] != "FULL" || s["journal_mode"] != "wal") {
			t.Fatalf("sqlite settings %v", s)
		}
		if d.Dialect == db.Postgres && s["fsync"] == "" {
			t.Fatalf("postgres settings %v", s)
		}
	})
}
