package users

import (
	"context"
	"slices"
	"testing"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestCreateUserWithStateAndPostGrants(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u, err := f.s.CreateUser(sys(), NewUser{Login: "  A.Ivanova@Example.ORG ", NameEN: "Anna Ivanova", NameRU: "Анна Иванова",
			Password: goodPassword, Locale: "ru", Grants: []string{"post_officer:kz", "post_head:KZ-MES", "viewer", "post_officer:KZ"}})
		if err != nil {
			t.Fatal(err)
		}
		if u.Login != "a.ivanova@example.org" || u.Locale != "ru" || !u.Active || !u.HasPassword || u.NameRU != "Анна Иванова" {
			t.Fatalf("user = %+v", u)
		}
		if u.PersonCode != "a-ivanova" {
			t.Fatalf("generated person code %q", u.PersonCode)
		}
		want := []string{"post_head:KZ-MES", "post_officer:KZ", "viewer"}
		if !slices.Equal(u.Roles, want) {
			t.Fatalf("roles %v, want %v", u.Roles, want)
		}
		a, err := f.s.ActorForUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.Kind != auth.KindUser || a.Login != u.Login || a.PersonID != u.PersonID || a.Name != "Анна Иванова" {
			t.Fatalf("actor %+v", a)
		}
		kz, mes := f.ids["KZ"], f.ids["KZ-MES"]
		for _, g := range a.Grants {
			switch g.Role {
			case auth.PostHead:
				if g.ScopeKind != auth.ScopePost || g.ScopeID != mes || g.StateID != kz {
					t.Errorf("post grant %+v: want post %s in state %s", g, mes, kz)
				}
			case auth.PostOfficer:
				if g.ScopeKind != auth.ScopeState || g.ScopeID != kz || g.StateID != kz {
					t.Errorf("state grant %+v", g)
				}
			case auth.Viewer:
				if g.ScopeKind != auth.ScopeGlobal || g.StateID != "" {
					t.Errorf("global grant %+v", g)
				}
			}
		}
		if !a.CanSeeState(kz) || a.CanSeeState(f.ids["AM"]) || !a.HasForPost(auth.PostHead, mes, kz) || a.HasForPost(auth.PostHead, f.ids["KZ-MOD"], kz) {
			t.Fatal("scope checks on the loaded actor are wrong")
		}
		if n := f.auditCount("user.create"); n != 1 {
			t.Fatalf("user.create audited %d times", n)
		}
		// The organisation's own post: a post grant with no state.
		c := f.user("desk@example.org", "post_officer:CRC-DESK")
		if c.Grants[0].StateID != "" || c.Grants[0].ScopeID != f.ids["CRC-DESK"] {
			t.Fatalf("centre desk grant %+v", c.Grants[0])
		}
	})
}

func TestCreateUserRejectsBadGrants(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		cases := []struct {
			spec, code string
		}{
			{"chief", "unknown_role"},
			{"post_officer:ZZ", "unknown_scope"},
			{"post_head", "scope_required"},
			{"post_officer", "scope_required"},
			{"post_head:KZ", "scope_not_allowed"},
			{"admin:KZ", "scope_not_allowed"},
			{"centre_officer:KZ-MES", "scope_not_allowed"},
			{"planner:KZ-MES", "scope_not_allowed"},
			{"post_officer:", "invalid_grant"},
			{"", "required"},
		}
		for _, c := range cases {
			_, err := f.s.CreateUser(sys(), NewUser{Login: "x@example.org", NameEN: "X", Password: goodPassword, Grants: []string{"viewer", c.spec}})
			wantFieldCode(t, err, "grants[1]", c.code)
			_, err = f.s.ParseGrant(context.Background(), c.spec)
			wantFieldCode(t, err, "grant", c.code)
		}
		// Every bad field at once, and nothing written.
		_, err := f.s.CreateUser(sys(), NewUser{Login: "not-an-email", Password: "short", Locale: "de", Grants: []string{"chief", "post_head:ZZ"}})
		for field, code := range map[string]string{"login": "invalid_email", "name_en": "required", "password": "too_short",
			"locale": "unknown_locale", "grants[0]": "unknown_role", "grants[1]": "unknown_scope"} {
			wantFieldCode(t, err, field, code)
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("users after refusals: %d (%v)", n, err)
		}
	})
}

func TestOnlyAdminsManageUsers(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		officer := f.user("officer@example.org", "post_officer:KZ", "viewer")
		centre := f.user("centre@example.org", "centre_supervisor")
		nu := NewUser{Login: "new@example.org", NameEN: "New", Password: goodPassword}
		for _, ctx := range []context.Context{f.as(officer.ID), f.as(centre.ID)} {
			_, err := f.s.CreateUser(ctx, nu)
			wantKind(t, err, apperr.KindForbidden)
			_, _, err = f.s.ListUsers(ctx, UserQuery{})
			wantKind(t, err, apperr.KindForbidden)
			active := false
			_, err = f.s.UpdateUser(ctx, officer.ID, UserUpdate{Active: &active})
			wantKind(t, err, apperr.KindForbidden)
		}
		_, err := f.s.CreateUser(context.Background(), nu)
		wantKind(t, err, apperr.KindUnauthorized)
		// Another user's record is not disclosed; one's own is.
		_, err = f.s.GetUser(f.as(officer.ID), centre.ID)
		wantKind(t, err, apperr.KindNotFound)
		if _, err := f.s.GetUser(f.as(officer.ID), officer.ID); err != nil {
			t.Fatal(err)
		}
		admin := f.user("admin@example.org", "admin")
		if _, err := f.s.CreateUser(f.as(admin.ID), nu); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCreateUserDuplicateLoginConflicts(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.user("twin@example.org")
		_, err := f.s.CreateUser(sys(), NewUser{Login: "TWIN@example.org", NameEN: "Twin", Password: goodPassword})
		if e := wantKind(t, err, apperr.KindConflict); e.Type != "duplicate-login" {
			t.Fatalf("type %q", e.Type)
		}
	})
}

func TestCreateUserLinksExistingPerson(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		now := f.clock.Now()
		if _, err := d.Exec(ctx, `INSERT INTO people (id, code, name_en, name_ru, created_at, updated_at) VALUES (?, 'p-sg', 'Secretary General', 'Генеральный секретарь', ?, ?)`,
			db.NewID(), now, now); err != nil {
			t.Fatal(err)
		}
		u, err := f.s.CreateUser(sys(), NewUser{Login: "sg@example.org", PersonCode: "p-sg", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		if u.PersonCode != "p-sg" || u.NameRU != "Генеральный секретарь" {
			t.Fatalf("linked user %+v", u)
		}
		_, err = f.s.CreateUser(sys(), NewUser{Login: "sg2@example.org", PersonCode: "p-sg", Password: goodPassword})
		wantFieldCode(t, err, "person_code", "person_has_user")
		_, err = f.s.CreateUser(sys(), NewUser{Login: "nobody@example.org", PersonCode: "p-none", Password: goodPassword})
		wantFieldCode(t, err, "person_code", "unknown_person")
		// Generated codes do not collide with existing people.
		a := f.user("p-sg@example.org")
		if a.PersonCode != "p-sg-2" {
			t.Fatalf("generated code %q", a.PersonCode)
		}
	})
}

func TestUpdateUserChangesGrantsAndDeactivates(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("officer@example.org", "post_officer:KZ")
		_, cookie, err := f.s.Login(context.Background(), u.Login, goodPassword, "10.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		grants := []string{"post_head:AM-MES"}
		ru := "ru"
		got, err := f.s.UpdateUser(sys(), u.ID, UserUpdate{Grants: &grants, Locale: &ru})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Roles, grants) || got.Locale != "ru" {
			t.Fatalf("updated %+v", got)
		}
		a, _, err := f.s.SessionActor(context.Background(), cookie, "10.0.0.1")
		if err != nil || !a.CanSeeState(f.ids["AM"]) || a.CanSeeState(f.ids["KZ"]) {
			t.Fatalf("session after grant change: %v, %+v", err, a)
		}
		// No change, no write, no entry.
		before := f.auditCount("user.update")
		if _, err := f.s.UpdateUser(sys(), u.ID, UserUpdate{Grants: &grants}); err != nil {
			t.Fatal(err)
		}
		if f.auditCount("user.update") != before {
			t.Fatal("an update that changes nothing was audited")
		}
		off := false
		if _, err := f.s.UpdateUser(sys(), u.ID, UserUpdate{Active: &off}); err != nil {
			t.Fatal(err)
		}
		_, _, err = f.s.SessionActor(context.Background(), cookie, "10.0.0.1")
		wantKind(t, err, apperr.KindUnauthorized)
		_, _, err = f.s.Login(context.Background(), u.Login, goodPassword, "10.0.0.1", "test")
		wantKind(t, err, apperr.KindUnauthorized)
		bad := []string{"post_head"}
		_, err = f.s.UpdateUser(sys(), u.ID, UserUpdate{Grants: &bad})
		wantFieldCode(t, err, "grants[0]", "scope_required")
	})
}

func TestLastAdministratorCannotBeRemoved(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		admin := f.user("admin@example.org", "admin")
		off := false
		_, err := f.s.UpdateUser(sys(), admin.ID, UserUpdate{Active: &off})
		wantKind(t, err, apperr.KindConflict)
		none := []string{"viewer"}
		_, err = f.s.UpdateUser(f.as(admin.ID), admin.ID, UserUpdate{Grants: &none})
		wantKind(t, err, apperr.KindConflict)
		f.user("admin2@example.org", "admin")
		if _, err := f.s.UpdateUser(sys(), admin.ID, UserUpdate{Grants: &none}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestListUsersPagesAndSearches(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for _, l := range []string{"a@example.org", "b@example.org", "c@example.org", "zhanna@example.kz"} {
			f.user(l, "viewer")
		}
		var all []string
		cursor := ""
		for {
			page, next, err := f.s.ListUsers(sys(), UserQuery{Limit: 3, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				all = append(all, u.Login)
				if len(u.Roles) != 1 || u.Roles[0] != "viewer" {
					t.Fatalf("%s roles %v", u.Login, u.Roles)
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) != 4 {
			t.Fatalf("paged through %v", all)
		}
		got, _, err := f.s.ListUsers(sys(), UserQuery{Search: "ZHANNA"})
		if err != nil || len(got) != 1 || got[0].Login != "zhanna@example.kz" {
			t.Fatalf("search: %v %v", got, err)
		}
	})
}

func TestUserSetsOwnLocaleAndZone(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		u := f.user("me@example.org", "viewer")
		ctx := f.as(u.ID)
		if err := f.s.SetLocale(ctx, "ru"); err != nil {
			t.Fatal(err)
		}
		if err := f.s.SetTZ(ctx, "Asia/Almaty"); err != nil {
			t.Fatal(err)
		}
		wantFieldCode(t, f.s.SetLocale(ctx, "fr"), "locale", "unknown_locale")
		wantFieldCode(t, f.s.SetTZ(ctx, "Mars/Olympus"), "tz", "unknown_zone")
		got, err := f.s.GetUser(ctx, u.ID)
		if err != nil || got.Locale != "ru" || got.TZ != "Asia/Almaty" {
			t.Fatalf("%+v %v", got, err)
		}
		if f.auditCount("user.locale") != 1 || f.auditCount("user.tz") != 1 {
			t.Fatal("profile changes not audited once each")
		}
		wantKind(t, f.s.SetLocale(context.Background(), "ru"), apperr.KindUnauthorized)
	})
}
