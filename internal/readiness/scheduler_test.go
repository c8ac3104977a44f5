package readiness_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/readiness"
	"sitroom/internal/testutil"
)

func TestSurpriseMinuteIsDrawnOnceWithinTheWindowAndHiddenUntilItFires(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		from, to := t0.Add(time.Hour+30*time.Second), t0.Add(3*time.Hour)
		c, err := w.s.Create(as("centre"), surprise(from, to, alert.Targets{Posts: []string{"P01", "P02"}}))
		if err != nil {
			t.Fatal(err)
		}
		if c.State != readiness.StateScheduled || !c.Exercise || c.FireAt.Before(from) || !c.FireAt.Before(to) || !c.FireAt.Equal(c.FireAt.Truncate(time.Minute)) {
			t.Fatalf("drawn minute %v outside [%v, %v) or not whole: %+v", c.FireAt, from, to, c)
		}
		// Stored once: reading and editing never draw again.
		got, err := w.s.Get(as("centre"), c.ID)
		if err != nil || !got.FireAt.Equal(c.FireAt) || !got.WindowFrom.Equal(from) || !got.WindowTo.Equal(to) {
			t.Fatalf("stored check %+v %v", got, err)
		}
		w.clk.Advance(10 * time.Minute)
		ed, err := w.s.Update(as("centre"), c.ID, readiness.CheckEdit{Title: "Edited", AckWithinSeconds: 300, Targets: alert.Targets{Posts: []string{"P01"}}})
		if err != nil || !ed.FireAt.Equal(c.FireAt) || ed.Title != "Edited" {
			t.Fatalf("edit: %+v %v", ed, err)
		}
		// Invisible outside the centre: not found, absent from lists.
		for _, who := range []string{"o-P01", "h-P01", "admin", "auditor"} {
			if _, err := w.s.Get(as(who), c.ID); !apperr.Is(err, apperr.KindNotFound) {
				t.Errorf("%s reading a scheduled check: %v", who, err)
			}
			if l, _, err := w.s.List(as(who), readiness.ListOptions{}); err != nil || len(l) != 0 {
				t.Errorf("%s listing: %d checks, %v", who, len(l), err)
			}
			if _, err := w.s.Report(as(who), c.ID, readiness.ReportOptions{}); !apperr.Is(err, apperr.KindNotFound) {
				t.Errorf("%s reading the report of a scheduled check: %v", who, err)
			}
		}
		if l, _, err := w.s.List(as("centre"), readiness.ListOptions{State: readiness.StateScheduled}); err != nil || len(l) != 1 || l[0].ID != c.ID {
			t.Fatalf("centre list: %+v %v", l, err)
		}
		// Nowhere else either: no alert yet, nothing in the audit log (which
		// auditors read) or in events for anyone but the centre gives the minute.
		if n := count(t, d, "SELECT COUNT(*) FROM alerts"); n != 0 {
			t.Fatalf("%d alerts before the check fired", n)
		}
		minute := c.FireAt.Format("15:04")
		rows, err := d.Query(context.Background(), "SELECT summary, before_json, after_json FROM audit_log")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var a, b, s string
			if err := rows.Scan(&a, &b, &s); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(a+b+s, minute) {
				t.Errorf("the audit log discloses the drawn minute %s: %s %s %s", minute, a, b, s)
			}
		}
		rows.Close()
		if n := count(t, d, "SELECT COUNT(*) FROM outbox WHERE audience <> 'centre' AND payload LIKE ?", "%"+c.ID+"%"); n != 0 {
			t.Fatalf("%d events outside the centre mention the scheduled check", n)
		}
	})
}

func TestScheduledCheckFiresExactlyOnceAtItsMinute(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		c, err := w.s.Create(as("centre"), surprise(t0.Add(time.Hour), t0.Add(2*time.Hour), alert.Targets{Posts: []string{"P01", "P02"}}))
		if err != nil {
			t.Fatal(err)
		}
		other := readiness.NewScheduler(newStore(d, w.clk, w.alerts), w.log) // a second instance on the same store
		w.clk.Set(c.FireAt.Add(-time.Second))
		if n, err := w.sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("a second before the minute: fired %d, %v", n, err)
		}
		w.clk.Set(c.FireAt)
		if n, err := w.sched.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("at the minute: fired %d, %v", n, err)
		}
		for i, sc := range []*readiness.Scheduler{w.sched, other, other} {
			if i == 2 {
				w.clk.Advance(2 * readiness.FiringGrace)
			}
			if n, err := sc.Tick(ctx); err != nil || n != 0 {
				t.Fatalf("tick %d after firing: fired %d more, %v", i, n, err)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM alerts WHERE check_id = ?", c.ID); n != 1 {
			t.Fatalf("%d alerts for the check", n)
		}
		got, err := w.s.Get(as("centre"), c.ID)
		if err != nil || got.State != readiness.StateFired || got.AlertID == nil || !got.FiredAt.Equal(c.FireAt) {
			t.Fatalf("fired check: %+v %v", got, err)
		}
		al, err := w.alerts.Get(as("centre"), *got.AlertID)
		if err != nil || !al.Exercise || !al.CreatedAt.Equal(c.FireAt) || al.CreatedBy != "system:readiness" || al.Recipients != 2 ||
			al.CheckID == nil || *al.CheckID != c.ID {
			t.Fatalf("the check's alert: %+v %v", al, err)
		}
		// Once fired, the check follows its alert's visibility.
		if g, err := w.s.Get(as("o-P01"), c.ID); err != nil || !g.FireAt.Equal(c.FireAt) {
			t.Fatalf("addressed post's officer after firing: %v", err)
		}
		if l, _, err := w.s.List(as("o-P01"), readiness.ListOptions{}); err != nil || len(l) != 1 {
			t.Fatalf("addressed post's officer's list: %d %v", len(l), err)
		}
		if _, err := w.s.Get(as("o-P06"), c.ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("another post's officer: %v", err)
		}
		if l, _, _ := w.s.List(as("o-P06"), readiness.ListOptions{}); len(l) != 0 {
			t.Fatalf("another post's officer lists %d checks", len(l))
		}
		if _, err := w.s.Get(as("admin"), c.ID); err != nil {
			t.Fatalf("admin after firing: %v", err)
		}
	})
}

func TestAFiringLeftByACrashIsCompletedOnceAfterTheGrace(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sys := auth.With(ctx, auth.System("readiness"))
		cases := []struct {
			name      string
			alertSent bool // did the crashed sender commit the alert?
		}{{"crash before the alert was committed", false}, {"crash after the alert was committed", true}}
		for _, tc := range cases {
			c, err := w.s.Create(as("centre"), readiness.NewCheck{Title: tc.name, AckWithinSeconds: 600, Kind: readiness.KindAt,
				At: new(w.clk.Now().Add(time.Minute)), Targets: alert.Targets{Posts: []string{"P01"}}})
			if err != nil {
				t.Fatal(err)
			}
			w.clk.Set(c.FireAt)
			// The crashed process had taken the row...
			if _, err := d.Exec(ctx, "UPDATE readiness_checks SET state = 'firing', claimed_at = ? WHERE id = ?", c.FireAt, c.ID); err != nil {
				t.Fatal(err)
			}
			var sent *alert.Alert
			if tc.alertSent { // ...and maybe sent the alert.
				if sent, err = w.alerts.Send(sys, alert.NewAlert{Title: c.Title, AckWithinSeconds: 600, Exercise: true,
					Targets: c.Targets, CheckID: c.ID}); err != nil {
					t.Fatal(err)
				}
				// A second alert for the check is impossible.
				if _, err := w.alerts.Send(sys, alert.NewAlert{Title: c.Title, AckWithinSeconds: 600, Exercise: true,
					Targets: c.Targets, CheckID: c.ID}); !db.IsUniqueViolation(err) {
					t.Fatalf("%s: second alert for a check: %v", tc.name, err)
				}
			}
			if n, err := w.sched.Tick(ctx); err != nil || n != 0 {
				t.Fatalf("%s: within the grace the scheduler waits: %d %v", tc.name, n, err)
			}
			w.clk.Advance(readiness.FiringGrace)
			if n, err := w.sched.Tick(ctx); err != nil || n != 1 {
				t.Fatalf("%s: after the grace: %d %v", tc.name, n, err)
			}
			if n, err := w.sched.Tick(ctx); err != nil || n != 0 {
				t.Fatalf("%s: again: %d %v", tc.name, n, err)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM alerts WHERE check_id = ?", c.ID); n != 1 {
				t.Fatalf("%s: %d alerts", tc.name, n)
			}
			got, _ := w.s.Get(as("centre"), c.ID)
			if got.State != readiness.StateFired || (sent != nil && *got.AlertID != sent.ID) {
				t.Fatalf("%s: %+v", tc.name, got)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM deliveries"); n != 2 {
			t.Fatalf("%d deliveries for two one-post checks", n)
		}
	})
}

func TestSchedulerLoopWakesWhenTheClockReachesTheMinute(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		fired := make(chan string, 4)
		w.sched.OnFire = func(checkID, alertID string) { fired <- checkID }
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.sched.Run(ctx) }()
		defer func() { cancel(); <-done }()
		c, err := w.s.Create(as("centre"), surprise(t0.Add(time.Hour), t0.Add(2*time.Hour), alert.Targets{Posts: []string{"P01"}}))
		if err != nil {
			t.Fatal(err)
		}
		w.clk.Set(c.FireAt)
		select {
		case id := <-fired:
			if id != c.ID {
				t.Fatalf("fired %s", id)
			}
		case <-time.After(20 * time.Second): // a hang guard, not a speed threshold
			t.Fatal("the scheduler did not wake when the clock reached the minute")
		}
		w.clk.Advance(2 * readiness.FiringGrace)
		if n := count(t, d, "SELECT COUNT(*) FROM alerts WHERE check_id = ?", c.ID); n != 1 {
			t.Fatalf("%d alerts", n)
		}
	})
}

func TestRecurringCheckMaterialisesItsNextOccurrenceAfterFiring(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		// Every Friday, 10:00–16:00 in the organisation's zone (Moscow, UTC+3).
		c, err := w.s.Create(as("centre"), readiness.NewCheck{Title: "Friday check", AckWithinSeconds: 900, Kind: readiness.KindRecurring,
			Targets: alert.Targets{All: true}, Recurrence: &readiness.Recurrence{Weekdays: []time.Weekday{time.Friday}, WindowStart: "10:00", WindowEnd: "16:00"}})
		if err != nil {
			t.Fatal(err)
		}
		window := func(c *readiness.Check, day int) {
			t.Helper()
			from, to := time.Date(2026, 1, day, 7, 0, 0, 0, time.UTC), time.Date(2026, 1, day, 13, 0, 0, 0, time.UTC)
			if c.Kind != readiness.KindRecurring || c.SeriesID == nil || !c.WindowFrom.Equal(from) || !c.WindowTo.Equal(to) ||
				c.FireAt.Before(from) || !c.FireAt.Before(to) || c.State != readiness.StateScheduled {
				t.Fatalf("occurrence on 2026-01-%02d: %+v (window %v–%v)", day, c, c.WindowFrom, c.WindowTo)
			}
		}
		window(c, 16)
		ser, err := w.s.GetSeries(as("centre"), *c.SeriesID)
		if err != nil || ser.Recurrence.TZ != "Europe/Moscow" || ser.Next == nil || ser.Next.ID != c.ID {
			t.Fatalf("series: %+v %v", ser, err)
		}
		if _, err := w.s.GetSeries(as("o-P01"), ser.ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("a post officer reads a series: %v", err)
		}
		pending := func() []readiness.Check {
			l, _, err := w.s.List(as("centre"), readiness.ListOptions{SeriesID: ser.ID, State: readiness.StateScheduled})
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		w.clk.Set(c.FireAt)
		if n, err := w.sched.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("firing: %d %v", n, err)
		}
		next := pending()
		if len(next) != 1 {
			t.Fatalf("%d pending occurrences after firing", len(next))
		}
		window(&next[0], 23)
		if n, _ := w.sched.Tick(ctx); n != 0 {
			t.Fatal("fired again")
		}
		// Skipping one occurrence keeps the series going.
		if _, err := w.s.Cancel(as("centre"), next[0].ID, "national holiday"); err != nil {
			t.Fatal(err)
		}
		after := pending()
		if len(after) != 1 {
			t.Fatalf("%d pending occurrences after a skip", len(after))
		}
		window(&after[0], 30)
		// Ending the series cancels its pending occurrence; nothing fires any more.
		if _, err := w.s.CancelSeries(as("o-P01"), ser.ID, "x"); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("a post officer ends a series: %v", err)
		}
		if _, err := w.s.CancelSeries(as("centre"), ser.ID, "replaced"); err != nil {
			t.Fatal(err)
		}
		if len(pending()) != 0 {
			t.Fatal("an occurrence survives the end of its series")
		}
		w.clk.Set(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
		if n, err := w.sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("after the end: fired %d %v", n, err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM alerts"); n != 1 {
			t.Fatalf("%d alerts from the series", n)
		}
	})
}

func TestOnlyTheCentreManagesChecksAndBadInputChangesNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		ok := surprise(t0.Add(time.Hour), t0.Add(2*time.Hour), alert.Targets{Posts: []string{"P01"}})
		for _, who := range []string{"o-P01", "h-P01", "admin"} {
			if _, err := w.s.Create(as(who), ok); !apperr.Is(err, apperr.KindForbidden) {
				t.Errorf("%s creating a check: %v", who, err)
			}
		}
		if _, err := w.s.Create(context.Background(), ok); !apperr.Is(err, apperr.KindUnauthorized) {
			t.Errorf("nobody signed in: %v", err)
		}
		past := t0.Add(-time.Hour)
		bad := map[string]readiness.NewCheck{
			"no title":        {Kind: readiness.KindNow, AckWithinSeconds: 600, Targets: alert.Targets{All: true}},
			"no targets":      {Title: "x", Kind: readiness.KindNow, AckWithinSeconds: 600},
			"unknown post":    {Title: "x", Kind: readiness.KindNow, AckWithinSeconds: 600, Targets: alert.Targets{Posts: []string{"NOPE"}}},
			"nobody reached":  {Title: "x", Kind: readiness.KindNow, AckWithinSeconds: 600, Targets: alert.Targets{Posts: []string{"CRC"}}},
			"short deadline":  {Title: "x", Kind: readiness.KindNow, AckWithinSeconds: 5, Targets: alert.Targets{All: true}},
			"unknown kind":    {Title: "x", Kind: "sometime", AckWithinSeconds: 600, Targets: alert.Targets{All: true}},
			"at in the past":  {Title: "x", Kind: readiness.KindAt, At: &past, AckWithinSeconds: 600, Targets: alert.Targets{All: true}},
			"window passed":   surprise(t0.Add(-2*time.Hour), t0.Add(-time.Hour), alert.Targets{All: true}),
			"window reversed": surprise(t0.Add(2*time.Hour), t0.Add(time.Hour), alert.Targets{All: true}),
			"no rule":         {Title: "x", Kind: readiness.KindRecurring, AckWithinSeconds: 600, Targets: alert.Targets{All: true}},
			"no days": {Title: "x", Kind: readiness.KindRecurring, AckWithinSeconds: 600, Targets: alert.Targets{All: true},
				Recurrence: &readiness.Recurrence{WindowStart: "10:00", WindowEnd: "16:00"}},
			"bad zone": {Title: "x", Kind: readiness.KindRecurring, AckWithinSeconds: 600, Targets: alert.Targets{All: true},
				Recurrence: &readiness.Recurrence{Weekdays: []time.Weekday{time.Friday}, WindowStart: "10:00", WindowEnd: "16:00", TZ: "Mars/Olympus"}},
			"bad wall time": {Title: "x", Kind: readiness.KindRecurring, AckWithinSeconds: 600, Targets: alert.Targets{All: true},
				Recurrence: &readiness.Recurrence{MonthDays: []int{1}, WindowStart: "25:00", WindowEnd: "16:00"}},
		}
		for name, in := range bad {
			if _, err := w.s.Create(as("centre"), in); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("%s: want 422, got %v", name, err)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM readiness_checks") + count(t, d, "SELECT COUNT(*) FROM readiness_series") + count(t, d, "SELECT COUNT(*) FROM alerts"); n != 0 {
			t.Fatalf("refused input wrote %d rows", n)
		}
		c, err := w.s.Create(as("centre"), ok)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Cancel(as("o-P01"), c.ID, "x"); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("a post officer cancelling: %v", err)
		}
		if _, err := w.s.Update(as("admin"), c.ID, readiness.CheckEdit{Title: "x", AckWithinSeconds: 600, Targets: alert.Targets{All: true}}); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("an admin editing: %v", err)
		}
		got, err := w.s.Cancel(as("centre"), c.ID, "postponed")
		if err != nil || got.State != readiness.StateCancelled || got.CancelComment != "postponed" {
			t.Fatalf("cancel: %+v %v", got, err)
		}
		if _, err := w.s.Cancel(as("centre"), c.ID, "again"); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("cancelling twice: %v", err)
		}
		w.clk.Set(c.FireAt.Add(time.Hour))
		if n, err := w.sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("a cancelled check fired: %d %v", n, err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM alerts"); n != 0 {
			t.Fatalf("%d alerts from a cancelled check", n)
		}
		// A check sent now is fired at once, as the caller; it cannot be cancelled (its alert can).
		now, err := w.s.Create(as("centre"), readiness.NewCheck{Title: "Now", AckWithinSeconds: 600, Kind: readiness.KindNow, Targets: alert.Targets{Posts: []string{"P02"}}})
		if err != nil || now.State != readiness.StateFired || now.AlertID == nil || !now.FiredAt.Equal(w.clk.Now()) {
			t.Fatalf("sent now: %+v %v", now, err)
		}
		al, _ := w.alerts.Get(as("centre"), *now.AlertID)
		if al.CreatedBy != "user:centre@x" || !al.Exercise {
			t.Fatalf("alert of a check sent now: %+v", al)
		}
		if _, err := w.s.Cancel(as("centre"), now.ID, "x"); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("cancelling a fired check: %v", err)
		}
		if _, err := w.s.Report(as("centre"), c.ID, readiness.ReportOptions{}); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("report of a cancelled check: %v", err)
		}
	})
}

func TestSchedulersRacingOverTheSameDueChecksFireEachOnce(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		const checks = 6
		var last time.Time
		for i := range checks {
			c, err := w.s.Create(as("centre"), readiness.NewCheck{Title: fmt.Sprintf("Check %d", i), AckWithinSeconds: 600, Kind: readiness.KindAt,
				At: new(t0.Add(time.Duration(i+1) * time.Minute)), Targets: alert.Targets{Posts: []string{posts[i]}}})
			if err != nil {
				t.Fatal(err)
			}
			last = c.FireAt
		}
		scheds := []*readiness.Scheduler{w.sched, readiness.NewScheduler(newStore(d, w.clk, w.alerts), w.log), readiness.NewScheduler(newStore(d, w.clk, w.alerts), w.log)}
		for _, sc := range scheds {
			sc.Batch = 2
		}
		w.clk.Set(last)
		var mu sync.Mutex
		total := 0
		var wg sync.WaitGroup
		for _, sc := range scheds {
			wg.Go(func() {
				for range 3 {
					n, err := sc.Tick(ctx)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if total != checks {
			t.Fatalf("schedulers recorded %d firings of %d checks", total, checks)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM alerts"); n != checks {
			t.Fatalf("%d alerts for %d checks", n, checks)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM readiness_checks WHERE state = 'fired'"); n != checks {
			t.Fatalf("%d checks fired", n)
		}
	})
}
