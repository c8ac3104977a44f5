package presence_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/apptest"
	"sitroom/internal/auth"
	"sitroom/internal/duty"
	"sitroom/internal/presence"
	"sitroom/internal/testutil"
)

func codes(r *presence.Result) []string {
	var out []string
	for _, p := range r.Posts {
		out = append(out, p.Code)
	}
	return out
}

// tokenCtx is a context acting through an API token (optionally bound).
func tokenCtx(t *testing.T, s *apptest.Server, login, post string) context.Context {
	t.Helper()
	a, err := s.App.Users.TokenActor(context.Background(), s.Token(t, login, post), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return auth.With(context.Background(), a)
}

// Who marks which post connected: a token bound to the post; a holder of a
// grant scoped to the post; a person on duty there; never the centre, nor a
// state-wide grant alone, nor anyone else.
func TestOnlyTerminalsThatCanAnswerMarkAPostConnected(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			// Beats commit in groups: the group committer must run.
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); s.App.Group.Run(ctx) }()
			t.Cleanup(func() { stop(); <-done })
			p := s.App.Presence
			sys := s.System()
			officer, _ := s.App.Directory.GetPerson(sys, "p-kenzhebayev") // kz.officer, post_officer of KZ
			mes, _ := s.App.Directory.GetPost(sys, "KZ-MES-CP")
			now := s.Clock.Now()

			// A state grant alone: nothing by default, and a named post
			// is ignored with the reason.
			r, err := p.Beat(s.As(t, apptest.KZOfficer), nil)
			if err != nil || len(r.Posts) != 0 || len(r.Ignored) != 0 {
				t.Fatalf("state grant, nobody on duty: %v %+v", err, r)
			}
			r, err = p.Beat(s.As(t, apptest.KZOfficer), []string{"KZ-MES-CP"})
			if err != nil || len(r.Posts) != 0 || len(r.Ignored) != 1 || r.Ignored[0].Reason != presence.ReasonNotActing {
				t.Fatalf("state grant, named post: %v %+v", err, r)
			}
			// On duty at KZ-MES-CP: that post, and only it, by default.
			if _, err := s.App.Duty.CreateShift(sys, duty.ShiftInput{PostID: mes.ID, PersonID: officer.ID, Slot: duty.Primary,
				Start: now, End: now.Add(8 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			r, err = p.Beat(s.As(t, apptest.KZOfficer), nil)
			if err != nil || !slices.Equal(codes(r), []string{"KZ-MES-CP"}) {
				t.Fatalf("on duty: %v %v", err, codes(r))
			}
			// A post grant (the head of KZ-MOD-CP), not on duty.
			r, err = p.Beat(s.As(t, apptest.KZHead), nil)
			if err != nil || !slices.Equal(codes(r), []string{"KZ-MOD-CP"}) {
				t.Fatalf("post grant: %v %v", err, codes(r))
			}
			// A bound token: its post only.
			r, err = p.Beat(tokenCtx(t, s, apptest.KZOfficer, "KZ-MVD-CP"), []string{"KZ-MVD-CP", "KZ-MES-CP"})
			if err != nil || !slices.Equal(codes(r), []string{"KZ-MVD-CP"}) || len(r.Ignored) != 1 || r.Ignored[0].Reason != presence.ReasonOtherPost {
				t.Fatalf("bound token: %v %+v", err, r)
			}
			// The centre and other roles: nothing.
			for _, who := range []string{apptest.Officer, apptest.Supervisor, apptest.Admin, apptest.Viewer} {
				r, err := p.Beat(s.As(t, who), []string{"KZ-MOD-CP"})
				if err != nil || len(r.Posts) != 0 {
					t.Errorf("%s marked %v (%v)", who, codes(r), err)
				}
			}
			if _, err := p.Beat(s.As(t, apptest.KZHead), []string{"XX-NOWHERE"}); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("an unknown post: %v", err)
			}
			if _, err := p.Beat(context.Background(), nil); !apperr.Is(err, apperr.KindUnauthorized) {
				t.Errorf("nobody: %v", err)
			}

			conn, err := p.Connected(s.As(t, apptest.Officer), s.Clock.Now())
			if err != nil || len(conn) != 3 {
				t.Fatalf("connected for the centre: %v %v", err, conn)
			}
			// A Belarusian officer does not learn Kazakh posts' state.
			if conn, err := p.Connected(s.As(t, apptest.BYOfficer), s.Clock.Now()); err != nil || len(conn) != 0 {
				t.Errorf("connected for BY: %v %v", err, conn)
			}
			// Three missed beats later, nothing is connected; a day later
			// the rows are pruned.
			s.Clock.Advance(presence.Window)
			if conn, _ := p.Connected(s.As(t, apptest.Officer), s.Clock.Now()); len(conn) != 0 {
				t.Errorf("still connected after the window: %v", conn)
			}
			if n, err := p.Prune(sys, s.Clock.Now()); err != nil || n != 3 {
				t.Errorf("pruned %d rows (%v)", n, err)
			}
		})
	}
}
