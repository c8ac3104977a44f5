package users

import (
	"context"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func (f *fixture) login(login string) (*Session, string) {
	f.t.Helper()
	s, c, err := f.s.Login(context.Background(), login, goodPassword, "192.0.2.1", "test")
	if err != nil {
		f.t.Fatal(err)
	}
	return s, c
}

func TestSessionIdleLimitDependsOnRoles(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		planner := f.user("planner@example.org", "planner")
		officer := f.user("officer@example.org", "post_officer:KZ-MES")
		_, pc := f.login(planner.Login)
		_, oc := f.login(officer.Login)
		f.clock.Advance(11*time.Hour + 59*time.Minute)
		a, sess, err := f.s.SessionActor(ctx, pc, "192.0.2.1")
		if err != nil {
			t.Fatalf("planner within the idle limit: %v", err)
		}
		if a.Login != planner.Login || a.SessionID != sess.ID || !sess.IdleUntil.Equal(f.clock.Now().Add(12*time.Hour)) {
			t.Fatalf("actor %+v session %+v", a, sess)
		}
		f.clock.Advance(12 * time.Hour)
		_, _, err = f.s.SessionActor(ctx, pc, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
		// 24 h without a request: a duty desk through a whole shift and its
		// handover is still signed in.
		_, sess, err = f.s.SessionActor(ctx, oc, "192.0.2.1")
		if err != nil {
			t.Fatalf("duty officer after 24h idle: %v", err)
		}
		if got := sess.IdleUntil.Sub(sess.LastSeenAt); got < 24*time.Hour {
			t.Fatalf("duty idle limit %v < 24h", got)
		}
		f.clock.Advance(36 * time.Hour)
		_, _, err = f.s.SessionActor(ctx, oc, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
	})
}

func TestSessionEndsAtAbsoluteLimitDespiteActivity(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("busy@example.org", "viewer")
		sess, c := f.login(u.Login)
		for f.clock.Now().Add(11 * time.Hour).Before(sess.ExpiresAt) {
			f.clock.Advance(11 * time.Hour)
			if _, _, err := f.s.SessionActor(context.Background(), c, "192.0.2.1"); err != nil {
				t.Fatalf("at %v: %v", f.clock.Now(), err)
			}
		}
		f.clock.Set(sess.ExpiresAt)
		_, _, err := f.s.SessionActor(context.Background(), c, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
	})
}

func TestRevokedAndForgedSessionsAreRefused(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		u := f.user("officer@example.org", "viewer")
		other := f.user("other@example.org", "viewer")
		s1, c1 := f.login(u.Login)
		_, c2 := f.login(u.Login)
		_, c3 := f.login(other.Login)
		for _, bad := range []string{"", "x", c1[:len(c1)-1] + "A", strings.Repeat("A", len(c1)), s1.ID, c1 + "="} {
			if bad == c1 {
				continue
			}
			_, _, err := f.s.SessionActor(ctx, bad, "192.0.2.1")
			wantKind(t, err, apperr.KindUnauthorized)
		}
		a1, _, err := f.s.SessionActor(ctx, c1, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		// Another user's session is not disclosed to a non-admin.
		a3, s3, err := f.s.SessionActor(ctx, c3, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.s.Logout(auth.With(ctx, a3), s1.ID), apperr.KindNotFound)
		_, err = f.s.ListSessions(auth.With(ctx, a3), u.ID)
		wantKind(t, err, apperr.KindNotFound)
		list, err := f.s.ListSessions(auth.With(ctx, a1), u.ID)
		if err != nil || len(list) != 2 {
			t.Fatalf("own sessions %v %v", list, err)
		}
		current := 0
		for _, x := range list {
			if x.Current {
				current++
				if x.ID != s1.ID {
					t.Fatal("wrong session marked current")
				}
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		if err := f.s.Logout(auth.With(ctx, a1), s1.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.SessionActor(ctx, c1, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
		if _, _, err := f.s.SessionActor(ctx, c2, "192.0.2.1"); err != nil {
			t.Fatalf("the other session ended too: %v", err)
		}
		n, err := f.s.RevokeUserSessions(sys(), u.ID)
		if err != nil || n != 1 {
			t.Fatalf("revoked %d (%v)", n, err)
		}
		_, _, err = f.s.SessionActor(ctx, c2, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
		if f.auditCount("user.logout") != 1 || f.auditCount("user.sessions_revoke") != 1 {
			t.Fatal("logout and revocation not audited")
		}
		if _, _, err := f.s.SessionActor(ctx, c3, "192.0.2.1"); err != nil || s3 == nil {
			t.Fatalf("an unrelated session ended: %v", err)
		}
	})
}

func TestSessionLastSeenWrittenAtMostOncePerMinute(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "viewer")
		s, c := f.login(u.Login)
		lastSeen := func() time.Time {
			var ts time.Time
			if err := d.QueryRow(context.Background(), `SELECT last_seen_at FROM sessions WHERE id = ?`, s.ID).Scan(&ts); err != nil {
				t.Fatal(err)
			}
			return ts.UTC()
		}
		for i := 0; i < 5; i++ {
			f.clock.Advance(10 * time.Second)
			if _, _, err := f.s.SessionActor(context.Background(), c, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		if got := lastSeen(); !got.Equal(t0) {
			t.Fatalf("last_seen_at written within the minute: %v", got)
		}
		f.clock.Advance(10 * time.Second)
		if _, _, err := f.s.SessionActor(context.Background(), c, "192.0.2.9"); err != nil {
			t.Fatal(err)
		}
		if got := lastSeen(); !got.Equal(t0.Add(time.Minute)) {
			t.Fatalf("last_seen_at %v, want %v", got, t0.Add(time.Minute))
		}
	})
}

func TestSessionCSRFCheck(t *testing.T) {
	s := &Session{CSRF: "abc"}
	if !s.CheckCSRF("abc") || s.CheckCSRF("abd") || s.CheckCSRF("") || (&Session{}).CheckCSRF("") {
		t.Fatal("CSRF comparison wrong")
	}
}
