package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/testutil"
)

// BenchmarkHubFanout measures the hub alone, in process: one event
// committed to the outbox (SQLite, synchronous=FULL) and read by every one
// of N subscribers over real loopback connections that the hub's writer
// shards own. One op is one event reaching all N; ns/delivery divides by N.
// Compare with `sitroom bench fanout`, which adds the alert's own
// transaction, HTTP and a separate server process.
func BenchmarkHubFanout(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchHubFanout(b, n) })
	}
}

func benchHubFanout(b *testing.B, n int) {
	d := testutil.Open(b, db.SQLite)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub, err := events.NewHub(ctx, d, nil, quiet, events.Options{})
	if err != nil {
		b.Fatal(err)
	}
	go hub.Run(ctx)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.Serve(w, r, events.Viewer{UserID: "bench"}, nil)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	out := events.NewAppender(hub, clock.Real{})

	var got, target atomic.Int64
	var done atomic.Pointer[chan struct{}]
	fleet, err := NewFleet(2, func(int, Event) {
		if got.Add(1) == target.Load() {
			close(*done.Load())
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer fleet.Close()
	for i := 0; i < n; i++ {
		s, err := DialStream(ctx, addr, "/", "x", -1)
		if err != nil {
			b.Fatal(err)
		}
		if err := fleet.Add(i, s); err != nil {
			b.Fatal(err)
		}
	}
	payload := map[string]any{"title": "bench", "body": strings.Repeat("x", 300)}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ch := make(chan struct{})
		done.Store(&ch)
		target.Store(int64(n) * int64(i+1))
		err := d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := out.Append(ctx, tx, events.Event{Type: events.TypeAlertCreated, Audience: events.AudienceAll(), Payload: payload})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			b.Fatalf("event %d reached %d of %d subscribers", i, got.Load()-int64(n)*int64(i), n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/float64(n), "ns/delivery")
}
