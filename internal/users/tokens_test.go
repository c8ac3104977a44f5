package users

import (
	"context"
	"strings"
	"testing"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestTokenCreateUseRevoke(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		u := f.user("integrator@example.org", "post_officer:KZ", "viewer")
		plain, tok, err := f.s.CreateToken(sys(), u.Login, "", "national system")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(plain, TokenPrefix) || len(plain) != tokenLen || !strings.HasPrefix(plain, tok.Prefix) || tok.Name != "national system" {
			t.Fatalf("token %q %+v", plain, tok)
		}
		var stored int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM api_tokens WHERE hash = ? OR prefix = ?`, plain, plain).Scan(&stored); err != nil || stored != 0 {
			t.Fatalf("the token is stored in the clear (%d, %v)", stored, err)
		}
		a, err := f.s.TokenActor(ctx, plain, "192.0.2.5")
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != auth.KindToken || a.TokenID != tok.ID || a.UserID != u.ID || a.TokenPostID != "" || len(a.Grants) != 2 || a.IP != "192.0.2.5" {
			t.Fatalf("actor %+v", a)
		}
		if a.Label() != "token:"+tok.ID {
			t.Fatalf("label %q", a.Label())
		}
		list, err := f.s.ListTokens(sys(), u.Login)
		if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || list[0].Prefix != tok.Prefix {
			t.Fatalf("list %+v %v", list, err)
		}
		if err := f.s.RevokeToken(sys(), tok.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.TokenActor(ctx, plain, "192.0.2.5")
		wantKind(t, err, apperr.KindUnauthorized)
		if err := f.s.RevokeToken(sys(), tok.ID); err != nil {
			t.Fatal("revoking twice:", err)
		}
		if f.auditCount("token.create") != 1 || f.auditCount("token.revoke") != 1 {
			t.Fatal("token changes not audited once each")
		}
	})
}

func TestForgedTokensAreRefused(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("integrator@example.org", "viewer")
		plain, _, err := f.s.CreateToken(sys(), u.Login, "", "")
		if err != nil {
			t.Fatal(err)
		}
		flip := []byte(plain)
		if flip[len(flip)-5] == 'a' {
			flip[len(flip)-5] = 'b'
		} else {
			flip[len(flip)-5] = 'a'
		}
		forged := []string{
			"", "sitroom_", "Bearer " + plain, plain + "a", plain[:len(plain)-1], strings.ToUpper(plain),
			string(flip), TokenPrefix + strings.Repeat("a", len(plain)-len(TokenPrefix)),
			"other_" + plain[len("other_"):], strings.Replace(plain, plain[10:11], "!", 1),
		}
		for _, p := range forged {
			if _, err := f.s.TokenActor(context.Background(), p, "192.0.2.5"); !apperr.Is(err, apperr.KindUnauthorized) {
				t.Errorf("%q: %v", p, err)
			}
		}
		// A deactivated user's tokens stop working.
		off := false
		if _, err := f.s.UpdateUser(sys(), u.ID, UserUpdate{Active: &off}); err != nil {
			t.Fatal(err)
		}
		_, err = f.s.TokenActor(context.Background(), plain, "")
		wantKind(t, err, apperr.KindUnauthorized)
	})
}

func TestPostBoundTokenIsNarrowedToThePost(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("kz@example.org", "post_officer:KZ", "post_head:AM-MES", "viewer", "planner:KZ")
		plain, tok, err := f.s.CreateToken(sys(), u.Login, "kz-mes", "MES gateway")
		if err != nil {
			t.Fatal(err)
		}
		if tok.PostCode != "KZ-MES" || tok.PostID != f.ids["KZ-MES"] {
			t.Fatalf("token %+v", tok)
		}
		a, err := f.s.TokenActor(context.Background(), plain, "")
		if err != nil {
			t.Fatal(err)
		}
		mes, kz := f.ids["KZ-MES"], f.ids["KZ"]
		if a.TokenPostID != mes {
			t.Fatalf("token post %q", a.TokenPostID)
		}
		roles := map[auth.Role]bool{}
		for _, g := range a.Grants {
			if g.ScopeKind != auth.ScopePost || g.ScopeID != mes || g.StateID != kz {
				t.Fatalf("grant not narrowed to the post: %+v", g)
			}
			roles[g.Role] = true
		}
		if len(roles) != 3 || !roles[auth.PostOfficer] || !roles[auth.Viewer] || !roles[auth.Planner] || roles[auth.PostHead] {
			t.Fatalf("narrowed roles %v", roles)
		}
		if !a.HasForPost(auth.PostOfficer, mes, kz) || a.HasForPost(auth.PostOfficer, f.ids["KZ-MOD"], kz) ||
			a.HasForPost(auth.PostHead, f.ids["AM-MES"], f.ids["AM"]) || a.CanSeeState(f.ids["AM"]) || a.SeesAllStates() {
			t.Fatal("post-bound token acts beyond its post")
		}
		am := f.user("am@example.org", "post_officer:AM")
		_, _, err = f.s.CreateToken(sys(), am.Login, "KZ-MES", "")
		wantFieldCode(t, err, "post", "no_grant_for_post")
		_, _, err = f.s.CreateToken(sys(), u.Login, "NOPE", "")
		wantFieldCode(t, err, "post", "unknown_post")
		// A global admin's token bound to a post is no longer an admin.
		adm := f.user("admin@example.org", "admin")
		plain, _, err = f.s.CreateToken(sys(), adm.Login, "KZ-MOD", "")
		if err != nil {
			t.Fatal(err)
		}
		a, err = f.s.TokenActor(context.Background(), plain, "")
		if err != nil || a.IsAdmin() {
			t.Fatalf("bound admin token: %+v %v", a, err)
		}
	})
}

func TestUsersManageOnlyTheirOwnTokens(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		me := f.user("me@example.org", "post_officer:KZ")
		other := f.user("other@example.org", "viewer")
		ctx := f.as(me.ID)
		plain, mine, err := f.s.CreateToken(ctx, me.Login, "KZ-MES", "mine")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.CreateToken(ctx, other.Login, "", "")
		wantKind(t, err, apperr.KindNotFound)
		_, theirs, err := f.s.CreateToken(sys(), other.Login, "", "")
		if err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.s.RevokeToken(ctx, theirs.ID), apperr.KindNotFound)
		_, err = f.s.ListTokens(ctx, other.Login)
		wantKind(t, err, apperr.KindNotFound)
		list, err := f.s.ListTokens(ctx, "")
		if err != nil || len(list) != 1 || list[0].ID != mine.ID {
			t.Fatalf("own list %+v %v", list, err)
		}
		all, err := f.s.ListTokens(sys(), "")
		if err != nil || len(all) != 2 {
			t.Fatalf("admin list %+v %v", all, err)
		}
		// A token cannot mint tokens (a post-bound one would escape its post).
		ta, err := f.s.TokenActor(context.Background(), plain, "")
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.CreateToken(auth.With(context.Background(), ta), me.Login, "", "")
		wantKind(t, err, apperr.KindForbidden)
		if err := f.s.RevokeToken(ctx, mine.ID); err != nil {
			t.Fatal(err)
		}
	})
}
