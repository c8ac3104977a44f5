package duty

import (
	"context"
	"errors"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func recipients(f *fx, rs []Recipient) string {
	s := ""
	for _, r := range rs {
		s += f.name(r.PersonID) + "(" + string(r.Target) + ") "
	}
	return s
}

func TestEscalationPathResolvesToPeopleWithTheirChannels(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		ctx := context.Background()
		end := t0.Add(12 * time.Hour)
		f.manual(f.kzPost, f.kz1, Primary, t0, end)
		f.manual(f.kzPost, f.kz2, Deputy, t0, end)
		f.manual(f.centre, f.org2, Primary, t0, end)
		f.manual(f.centre, f.org1, Deputy, t0, end)
		at := t0.Add(time.Hour)

		p := must(f.s.EscalationPath(f.kzHead(), f.kzPost))(t)
		if !p.Default || len(p.Levels) != 3 {
			t.Fatalf("default path: %+v", p)
		}
		for _, tc := range []struct {
			level int
			want  string
			delay time.Duration
		}{
			{0, "kz1(primary) kz2(deputy) ", 0},
			{1, "kzhead(head) ", 0},
			{2, "org2(centre_officer) org1(centre_officer) ", 300 * time.Second},
		} {
			st := must(f.s.ResolveStep(ctx, d, f.kzPost, tc.level, at))(t)
			if !st.Exists || recipients(f, st.Recipients) != tc.want || st.Delay != tc.delay {
				t.Fatalf("default level %d: %s delay %v, want %s", tc.level, recipients(f, st.Recipients), st.Delay, tc.want)
			}
		}
		rs := must(f.s.ResolveLevel(ctx, d, f.kzPost, 0, at))(t)
		if r := rs[0]; r.Email != "kz1@example.org" || r.Phone != "+7000kz1" || r.Login != "kz1@example.org" || r.UserID == "" ||
			r.Name.EN != "Officer kz1" || r.Name.RU != "Офицер kz1" || r.PostID != f.kzPost {
			t.Fatalf("channels: %+v", r)
		}
		cr := must(f.s.ResolveLevel(ctx, d, f.kzPost, 2, at))(t)
		if cr[0].PostID != f.centre {
			t.Fatalf("a centre officer is reached through the centre post: %+v", cr[0])
		}
		if _, err := f.s.ResolveLevel(ctx, d, f.kzPost, 3, at); !errors.Is(err, ErrNoLevel) {
			t.Fatalf("past the last level: %v", err)
		}
		// Nobody on duty: level 0 reaches nobody (no error); the head is still there.
		late := end.Add(time.Hour)
		if rs := must(f.s.ResolveLevel(ctx, d, f.kzPost, 0, late))(t); len(rs) != 0 {
			t.Fatalf("nobody on duty, yet: %s", recipients(f, rs))
		}

		// A path of the post's own.
		custom := []EscalationLevel{
			{Targets: []EscalationTarget{{Target: TargetPrimary}}},
			{Targets: []EscalationTarget{{Target: TargetDeputy}, {Target: TargetPerson, PersonID: f.kz4}}},
			{Targets: []EscalationTarget{{Target: TargetHead}, {Target: TargetPerson, PersonID: f.org1}}, DelaySeconds: 120},
			{Targets: []EscalationTarget{{Target: TargetCentre}}, DelaySeconds: 600},
		}
		got := must(f.s.SetEscalationPath(f.kzHead(), f.kzPost, custom))(t)
		if got.Default || len(got.Levels) != 4 || got.Levels[3].Level != 3 {
			t.Fatalf("set: %+v", got)
		}
		again := must(f.s.EscalationPath(f.as(f.kz3, stateGrant("post_officer", f.kz)), f.kzPost))(t)
		if again.Default || len(again.Levels) != 4 || again.Levels[2].DelaySeconds != 120 || again.Levels[1].Targets[1].PersonID != f.kz4 {
			t.Fatalf("read back: %+v", again)
		}
		for _, tc := range []struct {
			level int
			want  string
			delay time.Duration
		}{
			{0, "kz1(primary) ", 0},
			{1, "kz2(deputy) kz4(person) ", 0},
			{2, "kzhead(head) org1(person) ", 120 * time.Second},
			{3, "org2(centre_officer) org1(centre_officer) ", 600 * time.Second},
		} {
			st := must(f.s.ResolveStep(ctx, d, f.kzPost, tc.level, at))(t)
			if recipients(f, st.Recipients) != tc.want || st.Delay != tc.delay {
				t.Fatalf("custom level %d: %s %v, want %s", tc.level, recipients(f, st.Recipients), st.Delay, tc.want)
			}
		}
		if st := must(f.s.ResolveStep(ctx, d, f.kzPost, 4, at))(t); st.Exists {
			t.Fatal("level 4 does not exist")
		}

		for _, tc := range []struct {
			name        string
			levels      []EscalationLevel
			field, code string
		}{
			{"delay at level 1", []EscalationLevel{{Targets: []EscalationTarget{{Target: TargetPrimary}}}, {Targets: []EscalationTarget{{Target: TargetHead}}, DelaySeconds: 60}},
				"levels[1].delay_seconds", "delay_not_allowed"},
			{"no delay at level 2", []EscalationLevel{{Targets: []EscalationTarget{{Target: TargetPrimary}}}, {Targets: []EscalationTarget{{Target: TargetHead}}}, {Targets: []EscalationTarget{{Target: TargetCentre}}}},
				"levels[2].delay_seconds", "delay_required"},
			{"no target", []EscalationLevel{{}}, "levels[0].targets", "required"},
			{"unknown target", []EscalationLevel{{Targets: []EscalationTarget{{Target: "minister"}}}}, "levels[0].targets[0].target", "invalid_target"},
			{"another state's person", []EscalationLevel{{Targets: []EscalationTarget{{Target: TargetPerson, PersonID: f.by1}}}}, "levels[0].targets[0].person_id", "person_not_in_post_state"},
			{"person without id", []EscalationLevel{{Targets: []EscalationTarget{{Target: TargetPerson}}}}, "levels[0].targets[0].person_id", "required"},
			{"duplicate", []EscalationLevel{{Targets: []EscalationTarget{{Target: TargetHead}, {Target: TargetHead}}}}, "levels[0].targets[1]", "duplicate"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.SetEscalationPath(f.kzHead(), f.kzPost, tc.levels)
				wantField(t, err, tc.field, tc.code)
			})
		}
		if p := must(f.s.EscalationPath(f.kzHead(), f.kzPost))(t); len(p.Levels) != 4 {
			t.Fatal("a refused path changed the stored one")
		}
		_, err := f.s.SetEscalationPath(f.as(f.kz3, stateGrant("post_officer", f.kz)), f.kzPost, custom)
		wantKind(t, err, apperr.KindForbidden, "a post officer sets the path")
		// An empty path restores the default.
		if p := must(f.s.SetEscalationPath(f.kzHead(), f.kzPost, nil))(t); !p.Default {
			t.Fatal("empty path should restore the default")
		}
		if n := f.auditCount("duty.escalation.set"); n != 2 {
			t.Fatalf("%d audit entries for 2 changes", n)
		}
	})
}

func TestResolveStepsForManyPostsTakesAFewQueries(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		posts, prim, dep := seedPosts(t, d, f.kz, "E", 300, t0.Add(-time.Hour), t0.Add(time.Hour))
		f.manual(f.centre, f.org2, Primary, t0, t0.Add(time.Hour))
		for _, level := range []int{0, 1, 2} {
			cq := &countingQuerier{q: d}
			m := must(f.s.ResolveSteps(context.Background(), cq, posts, level, t0))(t)
			if n := cq.n.Load(); n > 5 {
				t.Fatalf("level %d: %d statements for 300 posts", level, n)
			}
			for i, p := range posts {
				st := m[p]
				switch level {
				case 0:
					if len(st.Recipients) != 2 || st.Recipients[0].PersonID != prim[i] || st.Recipients[1].PersonID != dep[i] {
						t.Fatalf("post %d level 0: %+v", i, st)
					}
				case 1:
					if !st.Exists || len(st.Recipients) != 0 {
						t.Fatalf("post %d has no head: %+v", i, st)
					}
				case 2:
					if len(st.Recipients) != 1 || st.Recipients[0].PersonID != f.org2 {
						t.Fatalf("post %d level 2: %+v", i, st)
					}
				}
			}
		}
	})
}
