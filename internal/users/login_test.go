package users

import (
	"context"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestLoginSucceedsAndAudits(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "post_officer:KZ")
		sess, cookie, err := f.s.Login(context.Background(), " Officer@Example.org", goodPassword, "192.0.2.10", "Firefox")
		if err != nil {
			t.Fatal(err)
		}
		if sess.UserID != u.ID || sess.CSRF == "" || cookie == "" || sess.ID == cookie || sess.ID != sha256Hex(cookie) {
			t.Fatalf("session %+v cookie %q", sess, cookie)
		}
		if !sess.ExpiresAt.Equal(t0.Add(720 * time.Hour)) {
			t.Fatalf("expires %v", sess.ExpiresAt)
		}
		var stored int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM sessions WHERE id = ? OR csrf = ?`, cookie, cookie).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the cookie value is stored (%d, %v)", stored, err)
		}
		var actor, ip string
		if err := d.QueryRow(context.Background(), `SELECT actor, ip FROM audit_log WHERE action = 'user.login'`).Scan(&actor, &ip); err != nil {
			t.Fatal(err)
		}
		if actor != "user:officer@example.org" || ip != "192.0.2.10" {
			t.Fatalf("login audited as %q from %q", actor, ip)
		}
	})
}

func TestLoginFailuresLookAlikeAndAreAudited(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.user("officer@example.org", "viewer")
		off := f.user("gone@example.org", "viewer")
		active := false
		if _, err := f.s.UpdateUser(sys(), off.ID, UserUpdate{Active: &active}); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		nopw := NewUser{Login: "nopw@example.org", NameEN: "No Password"}
		if _, err := f.s.CreateUser(sys(), nopw); err != nil {
			t.Fatal(err)
		}
		broken := f.user("broken@example.org", "viewer")
		if _, err := d.Exec(ctx, `UPDATE users SET password_hash = 'damaged' WHERE id = ?`, broken.ID); err != nil {
			t.Fatal(err)
		}
		var details []string
		for _, login := range []string{"officer@example.org", "nobody@example.org", "gone@example.org", "nopw@example.org", "broken@example.org"} {
			pw := goodPassword
			if login == "officer@example.org" {
				pw = "wrong password!"
			}
			_, _, err := f.s.Login(ctx, login, pw, "192.0.2.1", "curl")
			e := wantKind(t, err, apperr.KindUnauthorized)
			details = append(details, e.Detail)
		}
		for _, dt := range details[1:] {
			if dt != details[0] {
				t.Fatalf("answers differ: %q", details)
			}
		}
		var actor, summary string
		if err := d.QueryRow(ctx, `SELECT actor, summary FROM audit_log WHERE action = 'user.login_failed' ORDER BY id LIMIT 1`).Scan(&actor, &summary); err != nil {
			t.Fatal(err)
		}
		if actor != "anonymous" || summary != "failed sign-in as officer@example.org from 192.0.2.1" {
			t.Fatalf("failure audited as %q: %q", actor, summary)
		}
		if n := f.auditCount("user.login_failed"); n != 5 {
			t.Fatalf("%d failures audited, want 5", n)
		}
		_, _, err := f.s.Login(ctx, "", "", "192.0.2.1", "curl")
		wantFieldCode(t, err, "login", "required")
	})
}

// failUntilThrottled tries wrong passwords from ip until the answer is
// TooMany and returns the number of evaluated failures and the wait.
func failUntilThrottled(t *testing.T, f *fixture, login, ip string) (int, time.Duration) {
	t.Helper()
	for n := 0; n < 100; n++ {
		_, _, err := f.s.Login(context.Background(), login, "not the password", ip, "bot")
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindTooMany {
			if e.RetryAfter <= 0 || e.RetryAfter > 30*time.Second {
				t.Fatalf("wait %v out of (0, 30s]", e.RetryAfter)
			}
			return n, e.RetryAfter
		}
		wantKind(t, err, apperr.KindUnauthorized)
	}
	t.Fatal("never throttled")
	return 0, 0
}

func TestWrongPasswordsSlowDownThenLoginWorksAgain(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "post_officer:KZ")
		n, wait := failUntilThrottled(t, f, u.Login, "198.51.100.7")
		if n != rulePair.free+1 || wait != time.Second {
			t.Fatalf("throttled after %d failures with wait %v; want %d and 1s", n, wait, rulePair.free+1)
		}
		// Even the right password waits: a throttled attempt is not checked.
		_, _, err := f.s.Login(context.Background(), u.Login, goodPassword, "198.51.100.7", "x")
		wantKind(t, err, apperr.KindTooMany)
		// The wait grows with every evaluated failure, up to 30 s, never more.
		var waits []time.Duration
		for i := 0; i < 8; i++ {
			f.clock.Advance(wait)
			_, w := failUntilThrottled(t, f, u.Login, "198.51.100.7")
			waits = append(waits, w)
			wait = w
		}
		if waits[0] != 2*time.Second || waits[len(waits)-1] != 30*time.Second {
			t.Fatalf("waits %v: want 2s … 30s", waits)
		}
		f.clock.Advance(wait)
		if _, _, err := f.s.Login(context.Background(), u.Login, goodPassword, "198.51.100.7", "x"); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		// Success cleared the account's counts, not the address's.
		rows, err := d.Query(context.Background(), `SELECT key FROM login_failures ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			left = append(left, k)
		}
		rows.Close()
		if len(left) != 1 || left[0] != "ip:198.51.100.7" {
			t.Fatalf("counters left after success: %v", left)
		}
		// Throttled attempts were not audited.
		if got := f.auditCount("user.login_failed"); got != rulePair.free+1+8 {
			t.Fatalf("%d failures audited", got)
		}
	})
}

func TestAttackerCannotLockOfficerOut(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "post_officer:KZ")
		// Guessing for a long while from one address, then from several,
		// waiting out every delay so that each guess counts.
		for _, ip := range []string{"203.0.113.66", "203.0.113.67", "203.0.113.68", "2001:db8:bad::1"} {
			for i := 0; i < 12; i++ {
				_, wait := failUntilThrottled(t, f, u.Login, ip)
				if i < 11 {
					f.clock.Advance(wait)
				}
			}
		}
		var acct int
		if err := d.QueryRow(context.Background(), `SELECT failures FROM login_failures WHERE key = ?`, "acct:"+u.Login).Scan(&acct); err != nil || acct < 40 {
			t.Fatalf("account failures %d (%v)", acct, err)
		}
		// The attacker's address is held back, and so is another address of
		// the same IPv6 /64 …
		_, _, err := f.s.Login(context.Background(), u.Login, goodPassword, "2001:db8:bad::1", "x")
		wantKind(t, err, apperr.KindTooMany)
		_, _, err = f.s.Login(context.Background(), u.Login, goodPassword, "[2001:db8:bad::2]:51234", "x")
		wantKind(t, err, apperr.KindTooMany)
		// … but the officer at the duty desk signs in at once, even after a typo.
		_, _, err = f.s.Login(context.Background(), u.Login, "typo typo typo", "192.0.2.44", "x")
		wantKind(t, err, apperr.KindUnauthorized)
		if _, _, err := f.s.Login(context.Background(), u.Login, goodPassword, "192.0.2.44", "x"); err != nil {
			t.Fatalf("officer kept out: %v", err)
		}
	})
}

func TestPasswordSprayingFromOneAddressSlowsDown(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.user("officer@example.org", "viewer")
		var err error
		n := 0
		for ; n < 30; n++ {
			// A different made-up account every time: only the address counts.
			_, _, err = f.s.Login(context.Background(), "user"+string(rune('a'+n))+"@example.org", "guess guess guess", "198.51.100.9", "bot")
			if apperr.Is(err, apperr.KindTooMany) {
				break
			}
		}
		if n != ruleAddr.free+1 {
			t.Fatalf("spraying throttled after %d attempts (%v), want %d", n, err, ruleAddr.free+1)
		}
		// A success elsewhere does not clear the address.
		if _, _, err := f.s.Login(context.Background(), "officer@example.org", goodPassword, "192.0.2.1", "x"); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.Login(context.Background(), "userz@example.org", "guess guess guess", "198.51.100.9", "bot")
		wantKind(t, err, apperr.KindTooMany)
		// Counts are forgotten after a quiet while.
		f.clock.Advance(failureMemory + time.Second)
		_, _, err = f.s.Login(context.Background(), "userz@example.org", "guess guess guess", "198.51.100.9", "bot")
		wantKind(t, err, apperr.KindUnauthorized)
		if n, err := f.s.PruneLoginFailures(context.Background()); err != nil || n == 0 {
			t.Fatalf("pruned %d (%v)", n, err)
		}
	})
}

func TestLoginRehashesOldHashes(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("old@example.org", "viewer")
		// A hash from the time of weaker parameters.
		old := "$argon2id$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
		key := oldKey(goodPassword)
		if _, err := d.Exec(context.Background(), `UPDATE users SET password_hash = ? WHERE id = ?`, old+key, u.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.Login(context.Background(), u.Login, goodPassword, "192.0.2.1", "x"); err != nil {
			t.Fatal(err)
		}
		var h string
		if err := d.QueryRow(context.Background(), `SELECT password_hash FROM users WHERE id = ?`, u.ID).Scan(&h); err != nil || NeedsRehash(h) {
			t.Fatalf("hash not renewed: %q (%v)", h, err)
		}
	})
}

func TestSetPasswordNeedsOldOneAndEndsOtherSessions(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "viewer")
		ctx := context.Background()
		_, c1, err := f.s.Login(ctx, u.Login, goodPassword, "192.0.2.1", "desk")
		if err != nil {
			t.Fatal(err)
		}
		_, c2, err := f.s.Login(ctx, u.Login, goodPassword, "192.0.2.2", "phone")
		if err != nil {
			t.Fatal(err)
		}
		a1, _, err := f.s.SessionActor(ctx, c1, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		self := auth.With(ctx, a1)
		wantFieldCode(t, f.s.SetPassword(self, u.ID, "wrong old password", "a new password 1"), "old_password", "wrong_password")
		wantFieldCode(t, f.s.SetPassword(self, u.ID, goodPassword, "short"), "new_password", "too_short")
		if err := f.s.SetPassword(self, u.ID, goodPassword, "a new password 1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.s.SessionActor(ctx, c1, "192.0.2.1"); err != nil {
			t.Fatalf("own session ended: %v", err)
		}
		_, _, err = f.s.SessionActor(ctx, c2, "192.0.2.2")
		wantKind(t, err, apperr.KindUnauthorized)
		_, _, err = f.s.Login(ctx, u.Login, goodPassword, "192.0.2.3", "x")
		wantKind(t, err, apperr.KindUnauthorized)
		if _, _, err := f.s.Login(ctx, u.Login, "a new password 1", "192.0.2.3", "x"); err != nil {
			t.Fatal(err)
		}
		// Someone else's password: only an administrator, without the old one,
		// and every session of that user ends.
		other := f.user("other@example.org", "viewer")
		wantKind(t, f.s.SetPassword(self, other.ID, "", "a new password 2"), apperr.KindNotFound)
		if err := f.s.SetPassword(sys(), u.ID, "", "admin set this 1"); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.SessionActor(ctx, c1, "192.0.2.1")
		wantKind(t, err, apperr.KindUnauthorized)
		if n := f.auditCount("user.password"); n != 2 {
			t.Fatalf("password changes audited %d times", n)
		}
	})
}
