package duty

import (
	"context"
	"testing"
	"time"

	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// benchOnDuty measures OnDutySystem over 10,000 posts, each with a
// primary and a deputy on duty (what alert sending asks at send time).
func benchOnDuty(b *testing.B, engine db.Dialect) {
	d := testutil.Open(b, engine)
	f := newFx(b, d)
	posts, _, _ := seedPosts(b, d, f.kz, "B", 10000, t0.Add(-6*time.Hour), t0.Add(18*time.Hour))
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := f.s.OnDutySystem(ctx, d, posts, t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != len(posts) {
			b.Fatalf("%d posts with someone on duty", len(m))
		}
	}
}

// BenchmarkOnDuty10000Posts is "who is on duty now" at 10,000 posts on
// SQLite: one statement.
func BenchmarkOnDuty10000Posts(b *testing.B) { benchOnDuty(b, db.SQLite) }

// BenchmarkOnDuty10000PostsPostgres is the same on PostgreSQL.
func BenchmarkOnDuty10000PostsPostgres(b *testing.B) { benchOnDuty(b, db.Postgres) }

// BenchmarkOnDuty10000PostsWithHistory adds 14 days of past and 14 of
// future 24-hour shifts per post and slot (560,000 rows; seeding takes a
// few minutes), to show the query reads the same rows — and costs the
// same — however long the roster's history: a run with 60 days each side
// (2.4 million rows) gave the same 700,223 allocations per call.
func BenchmarkOnDuty10000PostsWithHistory(b *testing.B) {
	d := testutil.Open(b, db.SQLite)
	f := newFx(b, d)
	dayStart := time.Date(2024, 1, 15, 3, 0, 0, 0, time.UTC)
	posts, _, _ := seedPosts(b, d, f.kz, "H", 10000, dayStart, dayStart.Add(24*time.Hour))
	seedHistory(b, d, posts, dayStart, 14)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, err := f.s.OnDutySystem(ctx, d, posts, t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != len(posts) {
			b.Fatalf("%d posts with someone on duty", len(m))
		}
	}
}

// seedHistory adds, for every post, 24-hour rows in both slots for days
// days before and after the day starting at dayStart (all by one person:
// only the row count matters here).
func seedHistory(tb testing.TB, d *db.DB, posts []string, dayStart time.Time, days int) {
	tb.Helper()
	ctx := context.Background()
	var person string
	if err := d.QueryRow(ctx, `SELECT person_id FROM duty_shifts LIMIT 1`).Scan(&person); err != nil {
		tb.Fatal(err)
	}
	now := dayStart
	err := d.RunInTx(ctx, func(tx *db.Tx) error {
		var batch []Shift
		flush := func() error {
			err := insertShifts(ctx, tx, batch)
			batch = batch[:0]
			return err
		}
		for _, p := range posts {
			for k := -days; k <= days; k++ {
				if k == 0 {
					continue
				}
				st := dayStart.Add(time.Duration(k) * 24 * time.Hour)
				for _, slot := range []Slot{Primary, Deputy} {
					batch = append(batch, Shift{ID: db.NewID(), PostID: p, PersonID: person, Slot: slot, Start: st, End: st.Add(24 * time.Hour), Source: FromRotation, CreatedAt: now})
				}
			}
			if len(batch) >= 2000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil {
		tb.Fatal(err)
	}
}
