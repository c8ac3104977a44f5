package demo_test

import (
	"context"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/presence"
	"sitroom/internal/testutil"
)

// The simulated duty desks show as connected on the board, all but the
// posts kept dark on purpose, and the connection lapses when they stop.
func TestSimulatedTerminalsConnectEveryPostButTheDarkOnes(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		at := time.Date(2026, 2, 10, 11, 0, 0, 0, time.UTC)
		w := newWorld(t, d, at)
		pr := presence.New(d, w.clk, events.NewAppender(w.hub, w.clk), w.duty, "test")
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			demo.RunTerminals(ctx, demo.TerminalDeps{DB: d, Clock: w.clk, Log: quiet, Users: w.us, Duty: w.duty, Presence: pr})
		}()
		codes := func() map[string]bool {
			m, err := pr.Connected(sys(), w.clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]bool{}
			for id := range m {
				var code string
				if err := d.QueryRow(context.Background(), "SELECT code FROM posts WHERE id = ?", id).Scan(&code); err != nil {
					t.Fatal(err)
				}
				out[code] = true
			}
			return out
		}
		var got map[string]bool
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if got = codes(); len(got) >= 13 {
				break
			}
		}
		cancel()
		<-done
		if len(got) != 13 { // 15 ministry posts, two dark
			t.Fatalf("connected posts %v", got)
		}
		for _, dark := range demo.DarkPosts {
			if got[dark] {
				t.Fatalf("dark post %s shows connected", dark)
			}
		}
		if got["CRC-DESK"] {
			t.Fatal("the centre desk never beats for itself")
		}
		w.clk.Advance(presence.Window + time.Second)
		if got = codes(); len(got) != 0 {
			t.Fatalf("still connected after the terminals stopped: %v", got)
		}
	})
}
