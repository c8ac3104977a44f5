package notify

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sitroom/internal/alert"
	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/testutil"
)

// BenchmarkSendTo10000PostsQueuesEmails measures a whole alert send to
// 10,000 posts, each with one officer on duty who has an e-mail address:
// what the e-mail queueing adds to the send transaction (compare with
// e-mail off).
func BenchmarkSendTo10000PostsQueuesEmails(b *testing.B) {
	const posts = 10000
	for _, engine := range testutil.Engines {
		for _, email := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/email=%v", engine, email), func(b *testing.B) {
				d := testutil.Open(b, engine)
				ctx := context.Background()
				roster := &fakeRoster{onDuty: map[string][]alert.OnDuty{}}
				err := d.RunInTx(ctx, func(tx *db.Tx) error {
					for _, q := range []string{
						"INSERT INTO posts (id, code, kind, name_en, name_ru, tz, created_at, updated_at) VALUES ('CRC', 'CRC', 'centre', 'c', 'c', 'UTC', ?, ?)",
						"INSERT INTO people (id, code, name_en, name_ru, created_at, updated_at) VALUES ('centre', 'centre', 'c', 'c', ?, ?)",
						"INSERT INTO users (id, person_id, login, created_at, updated_at) VALUES ('u-centre', 'centre', 'centre@x', ?, ?)",
					} {
						if _, err := tx.Exec(ctx, q, t0, t0); err != nil {
							return err
						}
					}
					for start := 0; start < posts; start += 200 {
						var pq, eq strings.Builder
						var pa, ea []any
						for i := start; i < start+200; i++ {
							if i > start {
								pq.WriteString(",")
								eq.WriteString(",")
							}
							id := fmt.Sprintf("P%05d", i)
							pq.WriteString("(?, ?, 'ministry', 'p', 'p', 'UTC', ?, ?)")
							pa = append(pa, id, id, t0, t0)
							eq.WriteString("(?, ?, 'n', 'n', ?, ?, ?)")
							ea = append(ea, "pe"+id, "pe"+id, "o"+id+"@example.org", t0, t0)
							roster.onDuty[id] = []alert.OnDuty{{PersonID: "pe" + id, Slot: "primary"}}
						}
						if _, err := tx.Exec(ctx, "INSERT INTO posts (id, code, kind, name_en, name_ru, tz, created_at, updated_at) VALUES "+pq.String(), pa...); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, "INSERT INTO people (id, code, name_en, name_ru, email, created_at, updated_at) VALUES "+eq.String(), ea...); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				clk := clock.NewFake(t0, false)
				au := audit.New(d, clk)
				alerts := alert.New(d, clk, au, events.NewAppender(nil, clk), roster)
				if _, err := New(ctx, d, clk, au, alerts, Options{BaseURL: baseURL, Email: email, Log: quiet}); err != nil {
					b.Fatal(err)
				}
				eng := alert.NewEngine(alerts, quiet)
				b.ResetTimer()
				for b.Loop() {
					if _, err := alerts.Send(as("centre"), alert.NewAlert{Title: "t", AckWithinSeconds: 600, Targets: alert.Targets{All: true}}); err != nil {
						b.Fatal(err)
					}
					if _, err := eng.Tick(ctx); err != nil { // records who was on duty and queues their e-mails
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if email && count(b, d, "SELECT COUNT(*) FROM notify_outbound") < posts {
					b.Fatal("e-mails not queued")
				}
			})
		}
	}
}
