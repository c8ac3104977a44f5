package readiness_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/readiness"
)

// Thursday 15 January 2026, 09:00 UTC.
var t0 = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// The seeded network: the centre's desk CRC and ten ministry posts, P01–P05
// in state KZ and P06–P10 in state BY. Everyone but P07 has an officer on
// duty (o-<post>); level 1 of every escalation path reaches the deputy
// (dep-<post>), level 2 the head (h-<post>) five minutes later.
var posts = []string{"P01", "P02", "P03", "P04", "P05", "P06", "P07", "P08", "P09", "P10"}

func stateOf(post string) string {
	if post <= "P05" {
		return "KZ"
	}
	return "BY"
}

type roster struct {
	mu     sync.Mutex
	nobody map[string]bool
}

func (r *roster) OnDutyAt(ctx context.Context, q db.Querier, ids []string, at time.Time) (map[string][]alert.OnDuty, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]alert.OnDuty{}
	for _, id := range ids {
		if !r.nobody[id] {
			out[id] = []alert.OnDuty{{PersonID: "o-" + id, Name: "Officer " + id, Slot: "primary"}}
		}
	}
	return out, nil
}

func (r *roster) IsOnDuty(ctx context.Context, q db.Querier, person, post string, at time.Time) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.nobody[post] && person == "o-"+post, nil
}

func (r *roster) Levels(ctx context.Context, q db.Querier, ids []string, level int, at time.Time) (map[string]alert.Level, error) {
	out := map[string]alert.Level{}
	for _, id := range ids {
		switch level {
		case 0:
			out[id] = alert.Level{Exists: true}
		case 1:
			out[id] = alert.Level{Exists: true, People: []alert.Recipient{{PersonID: "dep-" + id, Name: "Deputy " + id}}}
		case 2:
			out[id] = alert.Level{Exists: true, After: 5 * time.Minute, People: []alert.Recipient{{PersonID: "h-" + id, Name: "Head " + id}}}
		}
	}
	return out, nil
}

type world struct {
	d      *db.DB
	clk    *clock.Fake
	alerts *alert.Store
	eng    *alert.Engine
	s      *readiness.Store
	sched  *readiness.Scheduler
	log    *slog.Logger
}

func seed(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	err := d.RunInTx(ctx, func(tx *db.Tx) error {
		ex := func(q string, args ...any) {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, s := range []string{"KZ", "BY"} {
			ex("INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, ?, ?, ?, 'Asia/Almaty', ?, ?)", s, s, s, s, t0, t0)
			ex("INSERT INTO member_state_statuses (id, state_id, status, valid_from, created_at) VALUES (?, ?, 'active', '1992-05-15', ?)", "st-"+s, s, t0)
		}
		ex("INSERT INTO posts (id, code, kind, name_en, name_ru, tz, created_at, updated_at) VALUES ('CRC', 'CRC', 'centre', 'Crisis Response Centre', 'Центр', 'UTC', ?, ?)", t0, t0)
		for _, p := range posts {
			ex("INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, ministry_kind, tz, created_at, updated_at) VALUES (?, ?, 'ministry', ?, ?, ?, 'defence', 'UTC', ?, ?)",
				p, p, "Post "+p, "Пост "+p, stateOf(p), t0, t0)
		}
		for _, p := range []string{"centre", "admin"} {
			ex("INSERT INTO people (id, code, name_en, name_ru, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)", p, p, p, p, t0, t0)
			ex("INSERT INTO users (id, person_id, login, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", "u-"+p, p, p+"@x", t0, t0)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	seed(t, d)
	clk := clock.NewFake(t0, false)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	al := alert.New(d, clk, audit.New(d, clk), events.NewAppender(nil, clk), &roster{nobody: map[string]bool{"P07": true}})
	eng := alert.NewEngine(al, log)
	s := newStore(d, clk, al)
	return &world{d: d, clk: clk, alerts: al, eng: eng, s: s, sched: readiness.NewScheduler(s, log), log: log}
}

func newStore(d *db.DB, clk clock.Clock, al *alert.Store) *readiness.Store {
	s := readiness.New(d, clk, audit.New(d, clk), events.NewAppender(nil, clk), al)
	s.SetOrgZone(func(context.Context) (string, error) { return "Europe/Moscow", nil })
	return s
}

func as(who string) context.Context {
	var a *auth.Actor
	switch who {
	case "centre":
		a = &auth.Actor{Kind: auth.KindUser, UserID: "u-centre", PersonID: "centre", Login: "centre@x",
			Grants: []auth.Grant{{Role: auth.CentreOfficer, ScopeKind: auth.ScopeGlobal}}}
	case "admin":
		a = &auth.Actor{Kind: auth.KindUser, UserID: "u-admin", PersonID: "admin", Login: "admin@x",
			Grants: []auth.Grant{{Role: auth.Admin, ScopeKind: auth.ScopeGlobal}}}
	case "auditor":
		a = &auth.Actor{Kind: auth.KindUser, UserID: "u-aud", PersonID: "aud", Login: "aud@x",
			Grants: []auth.Grant{{Role: auth.Auditor, ScopeKind: auth.ScopeGlobal}}}
	default: // o-P01 (officer), dep-P01 (deputy), h-P01 (head of post)
		kind, post := who[:len(who)-4], who[len(who)-3:]
		role := auth.PostOfficer
		if kind == "h" {
			role = auth.PostHead
		}
		a = &auth.Actor{Kind: auth.KindUser, UserID: "u-" + who, PersonID: who, Login: who + "@x",
			Grants: []auth.Grant{{Role: role, ScopeKind: auth.ScopePost, ScopeID: post, StateID: stateOf(post)}}}
	}
	return auth.With(context.Background(), a)
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func surprise(from, to time.Time, tg alert.Targets) readiness.NewCheck {
	return readiness.NewCheck{Title: "Surprise readiness check", Body: "Acknowledge", Priority: alert.Urgent, AckWithinSeconds: 600,
		Targets: tg, Kind: readiness.KindSurprise, WindowFrom: &from, WindowTo: &to}
}

// act is something a post does during a check, at an offset from its send time.
type act struct {
	at   time.Duration
	post string
	how  string // ack (the officer on duty), deputy (reached by escalation), phone (the centre records a call)
}

// runCheck sends a check now at start to every post and plays acts in
// order with the escalation engine working in between; it leaves the clock
// at start+20m, past every deadline and escalation step.
func (w *world) runCheck(t *testing.T, start time.Time, acts []act) *readiness.Check {
	t.Helper()
	ctx := context.Background()
	w.clk.Set(start)
	c, err := w.s.Create(as("centre"), readiness.NewCheck{Title: "Readiness check " + start.Format("2006-01-02"), AckWithinSeconds: 600,
		Targets: alert.Targets{States: []string{"KZ", "BY"}}, Kind: readiness.KindNow})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != readiness.StateFired || c.AlertID == nil {
		t.Fatalf("check sent now: %+v", c)
	}
	if _, err := w.eng.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		w.clk.Set(start.Add(a.at))
		if _, err := w.eng.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		switch a.how {
		case "ack":
			_, err = w.alerts.Acknowledge(as("o-"+a.post), *c.AlertID, a.post, "")
		case "deputy":
			_, err = w.alerts.Acknowledge(as("dep-"+a.post), *c.AlertID, a.post, "")
		case "phone":
			_, err = w.alerts.ConfirmByPhone(as("centre"), *c.AlertID, a.post, "spoke to the duty officer")
		}
		if err != nil {
			t.Fatalf("%s %s at %v: %v", a.how, a.post, a.at, err)
		}
	}
	w.clk.Set(start.Add(20 * time.Minute))
	if _, err := w.eng.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// firstScenario: seven on time (P07 only after escalation: nobody was on
// duty), P08 late, P09 confirmed by phone only, P10 silent.
var firstScenario = []act{
	{30 * time.Second, "P01", "ack"}, {60 * time.Second, "P02", "ack"}, {90 * time.Second, "P03", "ack"},
	{120 * time.Second, "P04", "ack"}, {150 * time.Second, "P05", "ack"}, {200 * time.Second, "P07", "deputy"},
	{300 * time.Second, "P06", "ack"}, {650 * time.Second, "P09", "phone"}, {700 * time.Second, "P08", "ack"},
}
