package alert_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/testutil"
)

// fakeRoster answers on-duty and escalation questions from maps.
type fakeRoster struct {
	mu     sync.Mutex
	onDuty map[string][]alert.OnDuty // post id -> people on duty
	// path per post: level -> (after, people); default: L1 deputy "d-<post>", L2 head "h-<post>" after 5m.
	path map[string]map[int]alert.Level
}

func (f *fakeRoster) OnDutyAt(ctx context.Context, q db.Querier, ids []string, at time.Time) (map[string][]alert.OnDuty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]alert.OnDuty{}
	for _, id := range ids {
		if od := f.onDuty[id]; len(od) > 0 {
			out[id] = od
		}
	}
	return out, nil
}

func (f *fakeRoster) IsOnDuty(ctx context.Context, q db.Querier, person, post string, at time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, od := range f.onDuty[post] {
		if od.PersonID == person {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeRoster) Levels(ctx context.Context, q db.Querier, ids []string, level int, at time.Time) (map[string]alert.Level, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]alert.Level{}
	for _, id := range ids {
		if p, ok := f.path[id]; ok {
			out[id] = p[level]
			continue
		}
		switch level {
		case 0:
			out[id] = alert.Level{Exists: true}
		case 1:
			out[id] = alert.Level{Exists: true, People: []alert.Recipient{{PersonID: "deputy-" + id, Login: "deputy@" + id}}}
		case 2:
			out[id] = alert.Level{Exists: true, After: 5 * time.Minute, People: []alert.Recipient{{PersonID: "head-" + id, Login: "head@" + id}}}
		}
	}
	return out, nil
}

type world struct {
	d      *db.DB
	clk    *clock.Fake
	s      *alert.Store
	eng    *alert.Engine
	roster *fakeRoster
}

var t0 = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// seed writes two states (KZ active, AM suspended), posts and people by SQL.
func seed(t *testing.T, d *db.DB) {
	ctx := context.Background()
	err := d.RunInTx(ctx, func(tx *db.Tx) error {
		ex := func(q string, args ...any) {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, s := range []string{"KZ", "AM", "BY"} {
			ex("INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, ?, ?, ?, 'Asia/Almaty', ?, ?)", s, s, s, s, t0, t0)
			ex("INSERT INTO member_state_statuses (id, state_id, status, valid_from, created_at) VALUES (?, ?, 'active', '1992-05-15', ?)", "st-"+s, s, t0)
		}
		ex("INSERT INTO member_state_statuses (id, state_id, status, valid_from, created_at) VALUES ('st-AM2', 'AM', 'suspended', '2024-02-22', ?)", t0)
		posts := []struct{ id, state, kind, ministry string }{
			{"CRC", "", "centre", ""}, {"KZ-MOD", "KZ", "ministry", "defence"}, {"KZ-MES", "KZ", "ministry", "emergency"},
			{"BY-MOD", "BY", "ministry", "defence"}, {"BY-MES", "BY", "ministry", "emergency"}, {"AM-MOD", "AM", "ministry", "defence"},
			{"KZ-OLD", "KZ", "ministry", "defence"},
		}
		for _, p := range posts {
			var st any
			if p.state != "" {
				st = p.state
			}
			ex("INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, ministry_kind, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'UTC', ?, ?)",
				p.id, p.id, p.kind, p.id, p.id, st, p.ministry, t0, t0)
		}
		ex("UPDATE posts SET active_to = ? WHERE id = 'KZ-OLD'", t0.Add(-time.Hour))
		for _, p := range []string{"kz1", "kz2", "by1", "centre", "admin", "deputy-KZ-MOD"} {
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
	seed(t, d)
	clk := clock.NewFake(t0, false)
	r := &fakeRoster{onDuty: map[string][]alert.OnDuty{
		"KZ-MOD": {{PersonID: "kz1", Name: "kz1", UserID: "u-kz1", Login: "kz1@x", Slot: "primary"}},
		"KZ-MES": {{PersonID: "kz2", Name: "kz2", UserID: "u-kz2", Login: "kz2@x", Slot: "primary"}},
		"BY-MOD": {{PersonID: "by1", Name: "by1", UserID: "u-by1", Login: "by1@x", Slot: "primary"}},
		"CRC":    {{PersonID: "centre", Name: "centre", Slot: "primary"}},
	}, path: map[string]map[int]alert.Level{}}
	s := alert.New(d, clk, audit.New(d, clk), events.NewAppender(nil, clk), r)
	eng := alert.NewEngine(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &world{d: d, clk: clk, s: s, eng: eng, roster: r}
}

func as(kind string) context.Context {
	a := map[string]*auth.Actor{
		"centre": {Kind: auth.KindUser, UserID: "u-centre", PersonID: "centre", Login: "centre@x",
			Grants: []auth.Grant{{Role: auth.CentreOfficer, ScopeKind: auth.ScopeGlobal}}},
		"admin": {Kind: auth.KindUser, UserID: "u-admin", PersonID: "admin", Login: "admin@x",
			Grants: []auth.Grant{{Role: auth.Admin, ScopeKind: auth.ScopeGlobal}}},
		"kz1": {Kind: auth.KindUser, UserID: "u-kz1", PersonID: "kz1", Login: "kz1@x",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
		"kz2": {Kind: auth.KindUser, UserID: "u-kz2", PersonID: "kz2", Login: "kz2@x",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopeState, ScopeID: "KZ", StateID: "KZ"}}},
		"by1": {Kind: auth.KindUser, UserID: "u-by1", PersonID: "by1", Login: "by1@x",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "BY-MOD", StateID: "BY"}}},
		"deputy": {Kind: auth.KindUser, UserID: "u-deputy-KZ-MOD", PersonID: "deputy-KZ-MOD", Login: "deputy-KZ-MOD@x",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
		"token-kzmod": {Kind: auth.KindToken, TokenID: "t1", TokenPostID: "KZ-MOD", UserID: "u-kz1",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
		"token-bymod": {Kind: auth.KindToken, TokenID: "t2", TokenPostID: "BY-MOD", UserID: "u-by1",
			Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "BY-MOD", StateID: "BY"}}},
	}[kind]
	if a == nil {
		panic(kind)
	}
	return auth.With(context.Background(), a)
}

func (w *world) send(t *testing.T, tg alert.Targets, within int) *alert.Alert {
	t.Helper()
	al, err := w.s.Send(as("centre"), alert.NewAlert{Title: "Readiness check", Body: "Confirm", Priority: alert.Urgent, AckWithinSeconds: within, Targets: tg})
	if err != nil {
		t.Fatal(err)
	}
	return al
}

func (w *world) delivery(t *testing.T, alertID, post string) alert.Delivery {
	t.Helper()
	al, err := w.s.Get(as("centre"), alertID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range al.Deliveries {
		if d.PostID == post {
			return d
		}
	}
	t.Fatalf("no delivery to %s", post)
	return alert.Delivery{}
}

func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func postsOf(al *alert.Alert) []string {
	var out []string
	for _, d := range al.Deliveries {
		out = append(out, d.PostID)
	}
	return out
}

func TestTargetsResolveOnceToActivePostsOfActiveStates(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		cases := []struct {
			tg   alert.Targets
			want string
		}{
			{alert.Targets{All: true}, "[BY-MES BY-MOD KZ-MES KZ-MOD]"},                                                               // not CRC (sender), AM (suspended), KZ-OLD (archived)
			{alert.Targets{States: []string{"KZ"}}, "[KZ-MES KZ-MOD]"},                                                                // a state
			{alert.Targets{MinistryKinds: []string{"defence"}}, "[BY-MOD KZ-MOD]"},                                                    // a kind everywhere
			{alert.Targets{States: []string{"KZ"}, MinistryKinds: []string{"defence"}}, "[KZ-MOD]"},                                   // intersection
			{alert.Targets{States: []string{"KZ"}, MinistryKinds: []string{"defence"}, Posts: []string{"BY-MES"}}, "[BY-MES KZ-MOD]"}, // ∪ posts
		}
		for _, c := range cases {
			al := w.send(t, c.tg, 600)
			full, _ := w.s.Get(as("centre"), al.ID)
			if got := fmt.Sprint(postsOf(full)); got != c.want || al.Recipients != len(full.Deliveries) {
				t.Errorf("%+v: got %s (%d), want %s", c.tg, got, al.Recipients, c.want)
			}
		}
		before := count(t, d, "SELECT COUNT(*) FROM alerts")
		for _, tg := range []alert.Targets{{States: []string{"AM"}}, {Posts: []string{"KZ-OLD"}}, {Posts: []string{"CRC"}}, {Posts: []string{"NOPE"}}, {}} {
			_, err := w.s.Send(as("centre"), alert.NewAlert{Title: "x", AckWithinSeconds: 600, Targets: tg})
			if !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("%+v: want 422, got %v", tg, err)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM alerts"); n != before {
			t.Fatalf("refused sends wrote %d alerts", n-before)
		}
		for _, who := range []string{"admin", "kz1"} {
			if _, err := w.s.Send(as(who), alert.NewAlert{Title: "x", AckWithinSeconds: 600, Targets: alert.Targets{All: true}}); !apperr.Is(err, apperr.KindForbidden) {
				t.Errorf("%s sending: %v", who, err)
			}
		}
	})
}

func TestOnlyThoseOnDutyMayAcknowledge(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.Targets{States: []string{"KZ", "BY"}}, 600)
		cases := []struct {
			who, post string
			kind      apperr.Kind // 0 = allowed
			typ       string
		}{
			{"admin", "KZ-MOD", apperr.KindForbidden, "not-on-duty"},
			{"centre", "KZ-MOD", apperr.KindForbidden, "not-on-duty"},
			{"kz2", "KZ-MOD", apperr.KindForbidden, "not-on-duty"}, // sees KZ posts, but is on duty at KZ-MES
			{"by1", "KZ-MOD", apperr.KindNotFound, "not-found"},    // another state's delivery is not disclosed
			{"token-bymod", "KZ-MOD", apperr.KindNotFound, "not-found"},
			{"kz1", "KZ-MOD", 0, ""},
			{"token-kzmod", "KZ-MOD", 0, ""}, // repeat: answers the first
			{"kz2", "KZ-MES", 0, ""},
			{"token-bymod", "BY-MOD", 0, ""},
		}
		for _, c := range cases {
			steps := count(t, d, "SELECT COUNT(*) FROM delivery_steps")
			ack, err := w.s.Acknowledge(as(c.who), al.ID, c.post, "")
			if c.kind == 0 {
				if err != nil {
					t.Errorf("%s for %s: %v", c.who, c.post, err)
				}
				continue
			}
			e, ok := apperr.As(err)
			if !ok || e.Kind != c.kind || e.Type != c.typ || ack != nil {
				t.Errorf("%s for %s: got %v, want %v/%s", c.who, c.post, err, c.kind, c.typ)
			}
			if n := count(t, d, "SELECT COUNT(*) FROM delivery_steps"); n != steps {
				t.Errorf("%s for %s: a refused acknowledgement wrote %d steps", c.who, c.post, n-steps)
			}
		}
		dl := w.delivery(t, al.ID, "KZ-MOD")
		if dl.State != alert.DAcknowledged || dl.AckChannel != alert.ChannelWeb || *dl.AckedBy.Login != "kz1@x" || dl.Late || dl.DueAt != nil {
			t.Fatalf("KZ-MOD delivery: %+v", dl)
		}
		if dl := w.delivery(t, al.ID, "BY-MOD"); dl.AckChannel != alert.ChannelAPI {
			t.Fatalf("token acknowledgement channel %q", dl.AckChannel)
		}
		if dl := w.delivery(t, al.ID, "BY-MES"); dl.State != alert.DPending || dl.AckedAt != nil {
			t.Fatalf("unacknowledged delivery changed: %+v", dl)
		}
	})
}

func TestGroupCommittedAcknowledgementsFromManyClients(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		g := d.NewGroup(64)
		go g.Run(ctx)
		w.s.SetGroup(g)
		al := w.send(t, alert.Targets{States: []string{"KZ", "BY"}}, 600)
		var wg sync.WaitGroup
		who := []struct{ actor, post string }{{"kz1", "KZ-MOD"}, {"kz2", "KZ-MES"}, {"by1", "BY-MOD"}, {"centre", "BY-MES"}}
		errs := make([]error, 40)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := who[i%len(who)]
				_, errs[i] = w.s.Acknowledge(as(c.actor), al.ID, c.post, "")
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if c := who[i%len(who)]; (c.actor == "centre") != (err != nil) {
				t.Fatalf("%s for %s: %v", c.actor, c.post, err)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM delivery_steps WHERE kind = 'acknowledged'"); n != 3 {
			t.Fatalf("%d acknowledgement steps, want 3 (each delivery once)", n)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.ack'"); n != 3 {
			t.Fatalf("%d audit entries, want 3", n)
		}
	})
}

func TestRepeatedAcknowledgementAnswersTheFirstAndWritesNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.Targets{Posts: []string{"KZ-MOD"}}, 600)
		first, err := w.s.Acknowledge(as("kz1"), al.ID, "KZ-MOD", "")
		if err != nil || first.Repeated {
			t.Fatal(err, first)
		}
		steps, outbox, auditN := count(t, d, "SELECT COUNT(*) FROM delivery_steps"), count(t, d, "SELECT COUNT(*) FROM outbox"), count(t, d, "SELECT COUNT(*) FROM audit_log")
		w.clk.Advance(time.Minute)
		again, err := w.s.Acknowledge(as("token-kzmod"), al.ID, "KZ-MOD", "")
		if err != nil || !again.Repeated || !again.AckedAt.Equal(first.AckedAt) || *again.AckedBy.Login != "kz1@x" || again.Channel != alert.ChannelWeb {
			t.Fatalf("repeat: %+v %v", again, err)
		}
		for _, who := range []string{"centre", "admin"} {
			if _, err := w.s.Acknowledge(as(who), al.ID, "KZ-MOD", ""); !apperr.Is(err, apperr.KindForbidden) {
				t.Fatalf("%s repeating someone else's acknowledgement: %v (want 403 not-on-duty)", who, err)
			}
		}
		if count(t, d, "SELECT COUNT(*) FROM delivery_steps") != steps || count(t, d, "SELECT COUNT(*) FROM outbox") != outbox ||
			count(t, d, "SELECT COUNT(*) FROM audit_log") != auditN {
			t.Fatal("a repeated acknowledgement wrote something")
		}
	})
}

func TestEscalationLevelsAndTimingWithFakeClock(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		// KZ-MOD: someone on duty. BY-MES: nobody on duty -> level 1 at once.
		al := w.send(t, alert.Targets{Posts: []string{"KZ-MOD", "BY-MES"}}, 600)
		// The engine's first step records who was on duty at both posts and
		// escalates BY-MES, where nobody was, at once.
		if n, err := w.eng.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("tick at send: n=%d err=%v", n, err)
		}
		by := w.delivery(t, al.ID, "BY-MES")
		kz := w.delivery(t, al.ID, "KZ-MOD")
		if by.State != alert.DEscalated || by.EscalationLevel != 1 || kz.State != alert.DPending || kz.EscalationLevel != 0 {
			t.Fatalf("at send: BY-MES %s/%d, KZ-MOD %s/%d", by.State, by.EscalationLevel, kz.State, kz.EscalationLevel)
		}
		// Level 2 of BY-MES is due 5 minutes after level 1's due time (send).
		if !by.DueAt.Equal(t0.Add(5 * time.Minute)) {
			t.Fatalf("BY-MES next step at %v", by.DueAt)
		}
		w.clk.Advance(599 * time.Second)
		if n, _ := w.eng.Tick(ctx); n != 1 { // BY-MES level 2 at +5m
			t.Fatalf("tick at +599s: %d", n)
		}
		if kz = w.delivery(t, al.ID, "KZ-MOD"); kz.State != alert.DPending {
			t.Fatalf("KZ-MOD escalated before the deadline: %+v", kz)
		}
		w.clk.Advance(time.Second) // the deadline: KZ-MOD level 1; BY-MES missed 5m after its last level (+5m)
		if n, _ := w.eng.Tick(ctx); n != 2 {
			t.Fatalf("tick at deadline: %d", n)
		}
		if by = w.delivery(t, al.ID, "BY-MES"); by.State != alert.DMissed || by.MissedAt == nil || by.DueAt != nil {
			t.Fatalf("BY-MES after the last level: %+v", by)
		}
		kz = w.delivery(t, al.ID, "KZ-MOD")
		if kz.State != alert.DEscalated || kz.EscalationLevel != 1 || !kz.DueAt.Equal(t0.Add(15*time.Minute)) {
			t.Fatalf("KZ-MOD at deadline: %+v", kz)
		}
		// A second tick at the same instant (a restart) records nothing twice.
		steps := count(t, d, "SELECT COUNT(*) FROM delivery_steps")
		if n, _ := w.eng.Tick(ctx); n != 0 || count(t, d, "SELECT COUNT(*) FROM delivery_steps") != steps {
			t.Fatal("a repeated tick worked a delivery again")
		}
		w.clk.Advance(5 * time.Minute) // +15m: KZ-MOD level 2
		if n, _ := w.eng.Tick(ctx); n != 1 {
			t.Fatalf("tick at +15m: %d", n)
		}
		kz = w.delivery(t, al.ID, "KZ-MOD")
		if kz.EscalationLevel != 2 {
			t.Fatalf("KZ-MOD level %d", kz.EscalationLevel)
		}
		var levels []int
		for _, s := range kz.Steps {
			if s.Kind == "escalated" {
				levels = append(levels, s.Level)
			}
		}
		if fmt.Sprint(levels) != "[1 2]" {
			t.Fatalf("KZ-MOD escalation steps %v", levels)
		}
		// The deputy reached at level 1 may acknowledge; it is late and stops escalation.
		ack, err := w.s.Acknowledge(as("deputy"), al.ID, "KZ-MOD", "")
		if err != nil || !ack.Late {
			t.Fatalf("deputy ack: %+v %v", ack, err)
		}
		if kz = w.delivery(t, al.ID, "KZ-MOD"); kz.DueAt != nil || kz.State != alert.DAcknowledged {
			t.Fatalf("after late ack: %+v", kz)
		}
		w.clk.Advance(time.Hour)
		if n, _ := w.eng.Tick(ctx); n != 0 {
			t.Fatalf("work after everything ended: %d", n)
		}
	})
}

func TestCancelStopsTimersAndRefusesAcknowledgement(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.Targets{Posts: []string{"KZ-MOD", "KZ-MES"}}, 600)
		if _, err := w.s.Acknowledge(as("kz2"), al.ID, "KZ-MES", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := w.s.Cancel(as("kz1"), al.ID, "sent in error"); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("post officer cancelling: %v", err)
		}
		if _, err := w.s.Cancel(as("centre"), al.ID, "sent in error"); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM deliveries WHERE alert_id = ? AND due_at IS NOT NULL", al.ID); n != 0 {
			t.Fatalf("%d timers survive a cancellation", n)
		}
		if dl := w.delivery(t, al.ID, "KZ-MOD"); dl.State != alert.DCancelled {
			t.Fatalf("KZ-MOD %s", dl.State)
		}
		if dl := w.delivery(t, al.ID, "KZ-MES"); dl.State != alert.DAcknowledged {
			t.Fatalf("an acknowledged delivery must stay acknowledged, got %s", dl.State)
		}
		_, err := w.s.Acknowledge(as("kz1"), al.ID, "KZ-MOD", "")
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindConflict {
			t.Fatalf("ack on cancelled alert: %v", err)
		}
		if _, err := w.s.Close(as("centre"), al.ID, "done"); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("closing a cancelled alert: %v", err)
		}
		w.clk.Advance(time.Hour)
		if _, err := w.eng.Tick(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM delivery_steps WHERE alert_id = ? AND kind IN ('escalated', 'missed')", al.ID); n != 0 {
			t.Fatalf("engine escalated %d deliveries of a cancelled alert", n)
		}
		// Who was on duty when it was sent is still recorded.
		if dl := w.delivery(t, al.ID, "KZ-MOD"); len(dl.OnDuty) != 1 || dl.OnDuty[0].PersonID != "kz1" {
			t.Fatalf("on duty at send: %+v", dl.OnDuty)
		}
	})
}

func TestPhoneConfirmationStopsEscalationAndIsNotAnAcknowledgement(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.Targets{Posts: []string{"KZ-MOD"}}, 600)
		if _, err := w.s.ConfirmByPhone(as("kz1"), al.ID, "KZ-MOD", "x"); !apperr.Is(err, apperr.KindForbidden) {
			t.Fatalf("post officer phone confirm: %v", err)
		}
		if _, err := w.s.ConfirmByPhone(as("centre"), al.ID, "KZ-MOD", ""); !apperr.Is(err, apperr.KindInvalid) {
			t.Fatalf("phone confirm without note: %v", err)
		}
		if _, err := w.s.ConfirmByPhone(as("centre"), al.ID, "KZ-MOD", "spoke to Col. A"); err != nil {
			t.Fatal(err)
		}
		dl := w.delivery(t, al.ID, "KZ-MOD")
		if dl.PhoneAt == nil || dl.AckedAt != nil || dl.DueAt != nil || dl.State == alert.DAcknowledged {
			t.Fatalf("after phone confirmation: %+v", dl)
		}
	})
}

func TestScopedViewersSeeOnlyTheirPostsDeliveries(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.Targets{States: []string{"KZ", "BY"}}, 600)
		got, err := w.s.Get(as("kz2"), al.ID)
		if err != nil || fmt.Sprint(postsOf(got)) != "[KZ-MES KZ-MOD]" {
			t.Fatalf("KZ state officer sees %v (%v)", postsOf(got), err)
		}
		if got, _ = w.s.Get(as("kz1"), al.ID); fmt.Sprint(postsOf(got)) != "[KZ-MOD]" {
			t.Fatalf("KZ-MOD officer sees %v", postsOf(got))
		}
		if got, err := w.s.Get(as("admin"), al.ID); err != nil || len(got.Deliveries) != 4 {
			t.Fatalf("admin reads every alert: %v", err)
		}
		only := w.send(t, alert.Targets{Posts: []string{"BY-MOD"}}, 600)
		if _, err := w.s.Get(as("kz1"), only.ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("alert to another state: %v", err)
		}
		list, _, err := w.s.List(as("kz1"), alert.ListOptions{})
		if err != nil || len(list) != 1 || list[0].ID != al.ID || list[0].Counts[alert.DPending] != 1 {
			t.Fatalf("list for kz1: %+v %v", list, err)
		}
	})
}

func TestAPersonReachedByEscalationMayAcknowledgeWithoutAScope(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		// The head reached at level 2 holds no grant for the post's state.
		head := auth.With(ctx, &auth.Actor{Kind: auth.KindUser, UserID: "u-head", PersonID: "head-KZ-MOD", Login: "head@KZ-MOD",
			Grants: []auth.Grant{{Role: auth.Viewer, ScopeKind: auth.ScopeGlobal}}})
		al := w.send(t, alert.Targets{Posts: []string{"KZ-MOD"}}, 600)
		if _, err := w.s.Acknowledge(head, al.ID, "KZ-MOD", ""); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("before being reached: %v", err)
		}
		w.clk.Advance(15 * time.Minute) // deadline (level 1) and +5m (level 2, the head)
		for i := 0; i < 2; i++ {
			if _, err := w.eng.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ack, err := w.s.Acknowledge(head, al.ID, "KZ-MOD", "")
		if err != nil || !ack.Late || *ack.AckedBy.Login != "head@KZ-MOD" {
			t.Fatalf("reached head acknowledging: %+v %v", ack, err)
		}
	})
}
