package audit_test

import (
	"context"
	"testing"

	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// BenchmarkRecordCommit is what auditing adds to an action: one Record in a
// transaction of its own, committed (the sealer does not run).
func BenchmarkRecordCommit(b *testing.B) {
	for _, e := range testutil.Engines {
		b.Run(string(e), func(b *testing.B) {
			d := testutil.Open(b, e)
			l := audit.New(d, clock.Real{})
			ctx := sysCtx()
			entry := audit.Entry{Action: "post.update", ObjectType: "post", ObjectID: "p1", Summary: "renamed",
				Before: map[string]string{"name_en": "Old"}, After: map[string]string{"name_en": "New"}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := d.RunInTx(ctx, func(tx *db.Tx) error { return l.Record(ctx, tx, entry) }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSealPending1000 seals a backlog of 1,000 entries (written
// beforehand, off the clock) per iteration.
func BenchmarkSealPending1000(b *testing.B) {
	for _, e := range testutil.Engines {
		b.Run(string(e), func(b *testing.B) {
			d := testutil.Open(b, e)
			l := audit.New(d, clock.Real{})
			ctx := sysCtx()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				err := d.RunInTx(ctx, func(tx *db.Tx) error {
					for j := 0; j < 1000; j++ {
						if err := l.Record(ctx, tx, audit.Entry{Action: "alert.ack", ObjectType: "delivery", ObjectID: "d", Summary: "acknowledged"}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				n, err := l.SealPending(context.Background())
				if err != nil || n != 1000 {
					b.Fatalf("sealed %d, %v", n, err)
				}
			}
		})
	}
}
