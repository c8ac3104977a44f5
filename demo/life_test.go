package demo_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/alert"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

var lifeT0, _ = time.Parse(time.RFC3339, "2025-03-12T06:30:00Z")

// tenPosts are ten active ministry posts (Armenia's are suspended).
var tenPosts = []string{"BY-MOD-CP", "BY-MES-CP", "KZ-MOD-CP", "KZ-MES-CP", "KZ-MVD-CP",
	"KG-MOD-CP", "KG-MES-CP", "RU-MOD-CP", "RU-MES-CP", "RU-MVD-CP"}

// lifeSeed gives, for the alert of TestLifeAnswersAtTheDrawnTimes, the
// split asserted there (found by trying seeds; any seed is as good).
const lifeSeed = 14

// steps counts a delivery's timeline entries of a kind.
func steps(d alert.Delivery, kind string) int {
	n := 0
	for _, s := range d.Steps {
		if s.Kind == kind {
			n++
		}
	}
	return n
}

func step(t *testing.T, l *demo.Life) {
	t.Helper()
	if _, err := l.Step(context.Background()); err != nil {
		t.Fatalf("life step: %v", err)
	}
}

func TestLifeAnswersAtTheDrawnTimes(t *testing.T) {
	t.Parallel()
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, lifeT0)
		life := w.life(lifeSeed)
		al := w.send(t, 120, tenPosts...)
		step(t, life)
		plan := life.Pending()

		// The plan: a receipt for every post, an acknowledgement for all
		// but the silent ones, in the split this seed gives.
		outcome := map[string]demo.Outcome{}
		byPost := map[string]map[string]demo.Action{}
		for _, a := range plan {
			if a.AlertID != al.ID {
				t.Fatalf("action for another alert: %+v", a)
			}
			outcome[a.PostCode] = a.Outcome
			if byPost[a.PostCode] == nil {
				byPost[a.PostCode] = map[string]demo.Action{}
			}
			byPost[a.PostCode][a.Kind] = a
		}
		split := map[demo.Outcome]int{}
		for _, o := range outcome {
			split[o]++
		}
		want := map[demo.Outcome]int{demo.OnTime: 6, demo.Late: 2, demo.Never: 2}
		if len(outcome) != 10 || fmt.Sprint(split) != fmt.Sprint(want) {
			t.Fatalf("outcomes %v, want %v over 10 posts", outcome, want)
		}
		for code, acts := range byPost {
			r, hasR := acts[demo.ActReceipt]
			k, hasK := acts[demo.ActAck]
			switch {
			case !hasR:
				t.Errorf("%s: no receipt planned", code)
			case r.At.Before(al.CreatedAt.Add(2*time.Second)) || r.At.After(al.CreatedAt.Add(8*time.Second)):
				t.Errorf("%s: receipt %v after sending, want 2–8 s", code, r.At.Sub(al.CreatedAt))
			case hasK != (outcome[code] != demo.Never):
				t.Errorf("%s (%s): acknowledgement planned: %v", code, outcome[code], hasK)
			case hasK && !k.At.After(r.At):
				t.Errorf("%s: acknowledgement before the receipt", code)
			case outcome[code] == demo.OnTime && !k.At.Before(al.DeadlineAt):
				t.Errorf("%s: on-time acknowledgement at %v, deadline %v", code, k.At, al.DeadlineAt)
			case outcome[code] == demo.Late && !k.At.After(al.DeadlineAt):
				t.Errorf("%s: late acknowledgement at %v, deadline %v", code, k.At, al.DeadlineAt)
			}
		}

		// Walk the clock through the plan: nothing happens a moment before
		// its time, everything at it.
		var times []time.Time
		for _, a := range plan {
			if len(times) == 0 || !times[len(times)-1].Equal(a.At) {
				times = append(times, a.At)
			}
		}
		done := func(at time.Time) (receipts, acks int) {
			for _, a := range plan {
				if !a.At.After(at) {
					if a.Kind == demo.ActReceipt {
						receipts++
					} else {
						acks++
					}
				}
			}
			return
		}
		seen := func() (receipts, acks int) {
			for _, dl := range w.get(t, al.ID).Deliveries {
				if dl.DeliveredAt != nil {
					receipts++
				}
				if dl.AckedAt != nil {
					acks++
				}
			}
			return
		}
		for _, at := range times {
			for _, tick := range []time.Time{at.Add(-time.Millisecond), at} {
				w.clk.Set(tick)
				w.escalate(t)
				step(t, life)
				wr, wa := done(tick)
				if r, a := seen(); r != wr || a != wa {
					t.Fatalf("at %v after sending: %d receipts and %d acknowledgements, want %d and %d",
						tick.Sub(al.CreatedAt), r, a, wr, wa)
				}
			}
		}
		w.clk.Advance(time.Hour)
		w.escalate(t)
		step(t, life)
		if n := len(life.Pending()); n != 0 {
			t.Errorf("%d actions still queued", n)
		}

		// Each delivery as planned: receipts and acknowledgements at the
		// drawn instants, channel simulation, by a person on duty; the
		// silent posts escalated to the end.
		for _, dl := range w.get(t, al.ID).Deliveries {
			acts := byPost[dl.PostCode]
			if dl.DeliveredAt == nil || !dl.DeliveredAt.Equal(acts[demo.ActReceipt].At) || dl.DeliveredVia != alert.ChannelSimulation {
				t.Errorf("%s: delivered %v via %q, want %v via simulation", dl.PostCode, dl.DeliveredAt, dl.DeliveredVia, acts[demo.ActReceipt].At)
			}
			if steps(dl, "delivered") != 1 || steps(dl, "acknowledged") > 1 {
				t.Errorf("%s: %d receipts and %d acknowledgements in the timeline", dl.PostCode, steps(dl, "delivered"), steps(dl, "acknowledged"))
			}
			switch outcome[dl.PostCode] {
			case demo.Never:
				if dl.AckedAt != nil || dl.State != alert.DMissed {
					t.Errorf("%s never answers, but is %s (acked %v)", dl.PostCode, dl.State, dl.AckedAt)
				}
			default:
				late := outcome[dl.PostCode] == demo.Late
				if dl.AckedAt == nil || !dl.AckedAt.Equal(acts[demo.ActAck].At) || dl.AckChannel != alert.ChannelSimulation || dl.Late != late ||
					dl.State != alert.DAcknowledged {
					t.Errorf("%s (%s): %s, acked %v via %q late %v; want %v via simulation", dl.PostCode, outcome[dl.PostCode],
						dl.State, dl.AckedAt, dl.AckChannel, dl.Late, acts[demo.ActAck].At)
					continue
				}
				if late && steps(dl, "escalated") == 0 {
					t.Errorf("%s: acknowledged late without an escalation before", dl.PostCode)
				}
				if !slices.ContainsFunc(dl.OnDuty, func(o alert.OnDuty) bool {
					return dl.AckedBy != nil && dl.AckedBy.Login != nil && o.Login == *dl.AckedBy.Login
				}) {
					t.Errorf("%s: acknowledged by %v, who was not on duty (%+v)", dl.PostCode, dl.AckedBy, dl.OnDuty)
				}
			}
		}
	})
}

func TestLifeNeverActsOnACancelledOrClosedAlert(t *testing.T) {
	t.Parallel()
	for _, end := range []string{"cancel", "close"} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
				w := newWorld(t, d, lifeT0)
				life := w.life(lifeSeed)
				al := w.send(t, 120, tenPosts...)
				step(t, life)
				first := life.Pending()[0]
				w.clk.Set(first.At)
				step(t, life)
				if r := w.get(t, al.ID).Counts[alert.DDelivered]; r != 1 {
					t.Fatalf("%d deliveries marked delivered by the first receipt, want 1", r)
				}
				var err error
				if end == "cancel" {
					_, err = w.alerts.Cancel(sys(), al.ID, "sent by mistake")
				} else {
					_, err = w.alerts.Close(sys(), al.ID, "situation resolved")
				}
				if err != nil {
					t.Fatal(err)
				}
				w.clk.Advance(time.Hour)
				step(t, life)
				for _, dl := range w.get(t, al.ID).Deliveries {
					if dl.AckedAt != nil || (dl.DeliveredAt != nil) != (dl.PostID == first.PostID) {
						t.Errorf("%s after %s: delivered %v, acked %v", dl.PostCode, end, dl.DeliveredAt, dl.AckedAt)
					}
				}
				if n := len(life.Pending()); n != 0 {
					t.Errorf("%d actions still queued", n)
				}
			})
		})
	}
}

func TestLifeLeavesAPostWithNobodyOnDutySilent(t *testing.T) {
	t.Parallel()
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, lifeT0)
		w.clk.Set(w.rosters.Gap.Start.Add(time.Hour)) // nobody at the gap post
		life := w.life(lifeSeed)
		al := w.send(t, 60, demo.GapPost, "KG-MOD-CP")
		step(t, life)
		for _, a := range life.Pending() {
			if a.PostCode != "KG-MOD-CP" {
				t.Errorf("planned for %s: %+v", a.PostCode, a)
			}
		}
		w.clk.Advance(time.Hour)
		w.escalate(t)
		step(t, life)
		for _, dl := range w.get(t, al.ID).Deliveries {
			switch dl.PostCode {
			case demo.GapPost:
				if dl.DeliveredAt != nil || dl.AckedAt != nil || len(dl.OnDuty) != 0 {
					t.Errorf("%s with nobody on duty: delivered %v, acked %v, on duty %+v", dl.PostCode, dl.DeliveredAt, dl.AckedAt, dl.OnDuty)
				}
			default:
				if dl.DeliveredVia != alert.ChannelSimulation {
					t.Errorf("%s: not simulated (%+v)", dl.PostCode, dl)
				}
			}
		}
	})
}

// waitFor polls cond while Run works in the background; the limit only
// stops a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for limit := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(limit) {
			t.Fatalf("gave up waiting: %s", what)
		}
	}
}

func TestLifeRunPicksUpNewAlertsAndCarriesOnAfterARestartWithoutActingTwice(t *testing.T) {
	t.Parallel()
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, lifeT0)
		run := func(l *demo.Life) (stop func()) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); l.Run(ctx) }()
			return func() { cancel(); <-done }
		}
		first := w.life(lifeSeed)
		stop := run(first)
		al := w.send(t, 60, tenPosts...)
		waitFor(t, "the alert planned", func() bool { return len(first.Pending()) > 0 })
		plan := first.Pending()
		var lastReceipt time.Time
		acks := map[string]bool{}
		for _, a := range plan {
			if a.Kind == demo.ActReceipt {
				lastReceipt = a.At
			} else {
				acks[a.PostID] = true
			}
		}
		w.clk.Set(lastReceipt)
		waitFor(t, "every receipt", func() bool { return w.get(t, al.ID).Counts[alert.DDelivered] == 10 })
		stop()

		// A restart: the new process reads the outbox after its hub's
		// position, past the alert's creation; it finds the alert open.
		second := w.life(lifeSeed)
		stop = run(second)
		defer stop()
		waitFor(t, "the open alert picked up again", func() bool { return len(second.Pending()) > 0 })
		w.clk.Advance(time.Hour)
		waitFor(t, "every acknowledgement", func() bool { return w.get(t, al.ID).Counts[alert.DAcknowledged] == len(acks) })
		stop()
		for _, dl := range w.get(t, al.ID).Deliveries {
			if steps(dl, "delivered") != 1 || steps(dl, "acknowledged") != map[bool]int{true: 1}[acks[dl.PostID]] {
				t.Errorf("%s: %d receipts and %d acknowledgements in the timeline", dl.PostCode, steps(dl, "delivered"), steps(dl, "acknowledged"))
			}
		}
	})
}

// TestLifeRunsOnlyUnderSitroomDemo reads the wiring: in the program's
// own code (not tests), only `sitroom demo` (runDemo in
// internal/cli/demo.go) builds Life and adds loops to the app, and the
// serve command exists and adds none. No other path starts the simulated
// officers.
func TestLifeRunsOnlyUnderSitroomDemo(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	uses := map[string][]string{} // AddLoop, NewLife → file:function of each use
	funcs := map[string]bool{}
	for _, root := range []string{filepath.Join("..", "internal"), filepath.Join("..", "cmd")} {
		err := filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				where := filepath.ToSlash(path) + ":" + fn.Name.Name
				funcs[where] = true
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "AddLoop" || sel.Sel.Name == "NewLife") {
						uses[sel.Sel.Name] = append(uses[sel.Sel.Name], where)
					}
					return true
				})
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !funcs["../internal/cli/serve.go:runServe"] || !funcs["../internal/cli/demo.go:runDemo"] {
		t.Fatal("runServe or runDemo not found where expected; update this test with the wiring")
	}
	for _, name := range []string{"AddLoop", "NewLife"} {
		if len(uses[name]) == 0 {
			t.Errorf("%s is not used at all", name)
		}
		for _, where := range uses[name] {
			if where != "../internal/cli/demo.go:runDemo" {
				t.Errorf("%s is used in %s, want only in runDemo", name, where)
			}
		}
	}
}
