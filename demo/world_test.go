package demo_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/alert"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
	"sitroom/internal/events"
	"sitroom/internal/readiness"
	"sitroom/internal/users"
)

// world is a demo store on a fake clock with the services the demo uses,
// wired as the app wires them (without HTTP and loops).
type world struct {
	d       *db.DB
	clk     *clock.Fake
	dir     *directory.Store
	us      *users.Store
	duty    *duty.Store
	hub     *events.Hub
	alerts  *alert.Store
	engine  *alert.Engine
	rd      *readiness.Store
	rosters *demo.RosterReport
}

var quiet = slog.New(slog.DiscardHandler)

// sys is the context of the system acting (as the centre would).
func sys() context.Context { return auth.With(context.Background(), auth.System("test")) }

// newWorld seeds the demo organisation and its rosters at instant at.
func newWorld(t *testing.T, d *db.DB, at time.Time) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{d: d, clk: clock.NewFake(at, false)}
	a := audit.New(d, w.clk)
	w.dir = directory.New(d, w.clk, a)
	w.us = users.New(d, w.clk, a, users.Options{})
	w.duty = duty.New(d, w.clk, a)
	hub, err := events.NewHub(ctx, d, nil, quiet, events.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w.hub = hub
	out := events.NewAppender(hub, w.clk)
	w.alerts = alert.New(d, w.clk, a, out, roster{w.duty})
	w.engine = alert.NewEngine(w.alerts, quiet)
	w.rd = readiness.New(d, w.clk, a, out, w.alerts)
	if _, err := demo.Seed(ctx, w.dir, w.us); err != nil {
		t.Fatalf("seed: %v", err)
	}
	if w.rosters, err = demo.SeedRosters(ctx, w.clk, w.dir, w.duty); err != nil {
		t.Fatalf("seed rosters: %v", err)
	}
	return w
}

// life returns simulated officers reading the outbox from now on.
func (w *world) life(seed uint64) *demo.Life {
	return demo.NewLife(demo.LifeDeps{DB: w.d, Clock: w.clk, Log: quiet, Alerts: w.alerts, Users: w.us, Duty: w.duty},
		demo.LifeOptions{Seed: seed, After: w.head(), PollEvery: 20 * time.Millisecond})
}

// head is the committed end of the outbox.
func (w *world) head() int64 {
	var p int64
	if err := w.d.QueryRow(context.Background(), "SELECT pos FROM outbox_head WHERE id = 1").Scan(&p); err != nil {
		panic(err)
	}
	return p
}

func (w *world) send(t *testing.T, ackWithin int, posts ...string) *alert.Alert {
	t.Helper()
	al, err := w.alerts.Send(sys(), alert.NewAlert{Title: "Test alert", Body: "Acknowledge.", Priority: alert.Urgent,
		AckWithinSeconds: ackWithin, Targets: alert.Targets{Posts: posts}})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return al
}

func (w *world) get(t *testing.T, id string) *alert.Alert {
	t.Helper()
	al, err := w.alerts.Get(sys(), id)
	if err != nil {
		t.Fatal(err)
	}
	return al
}

// escalate works every escalation step due by the clock.
func (w *world) escalate(t *testing.T) {
	t.Helper()
	for {
		n, err := w.engine.Tick(context.Background())
		if err != nil {
			t.Fatalf("engine: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

func (w *world) postID(t *testing.T, code string) string {
	t.Helper()
	p, err := w.dir.GetPost(sys(), code)
	if err != nil {
		t.Fatalf("post %s: %v", code, err)
	}
	return p.ID
}

// roster adapts duty to what alerts need, as the app does.
type roster struct{ d *duty.Store }

func (r roster) OnDutyAt(ctx context.Context, q db.Querier, ids []string, at time.Time) (map[string][]alert.OnDuty, error) {
	m, err := r.d.OnDutySystem(ctx, q, ids, at)
	if err != nil {
		return nil, err
	}
	out := map[string][]alert.OnDuty{}
	for post, es := range m {
		for _, e := range es {
			out[post] = append(out[post], alert.OnDuty{PersonID: e.PersonID, Name: e.Name.EN, UserID: e.UserID, Login: e.Login, Slot: string(e.Slot)})
		}
	}
	return out, nil
}

func (r roster) IsOnDuty(ctx context.Context, q db.Querier, personID, postID string, at time.Time) (bool, error) {
	return r.d.IsOnDuty(ctx, q, personID, postID, at)
}

func (r roster) Levels(ctx context.Context, q db.Querier, ids []string, level int, at time.Time) (map[string]alert.Level, error) {
	m, err := r.d.ResolveSteps(ctx, q, ids, level, at)
	if err != nil {
		return nil, err
	}
	out := map[string]alert.Level{}
	for post, st := range m {
		l := alert.Level{Exists: st.Exists, After: st.Delay}
		for _, p := range st.Recipients {
			l.People = append(l.People, alert.Recipient{PersonID: p.PersonID, UserID: p.UserID, Login: p.Login, Name: p.Name.EN})
		}
		out[post] = l
	}
	return out, nil
}
