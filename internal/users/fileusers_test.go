package users

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

func (f *fixture) person(code string) {
	f.t.Helper()
	now := f.clock.Now()
	if _, err := f.d.Exec(context.Background(), `INSERT INTO people (id, code, name_en, name_ru, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		db.NewID(), code, "Person "+code, "Лицо "+code, now, now); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) importUsers(us []directory.FileUser) (int, int, error) {
	var c, u int
	err := f.d.RunInTx(sys(), func(tx *db.Tx) error {
		var err error
		c, u, err = f.s.ImportFileUsers(sys(), tx, us)
		return err
	})
	return c, u, err
}

// stamp sums up what an import could have written.
func (f *fixture) stamp() string {
	f.t.Helper()
	ctx := context.Background()
	out := ""
	rows, err := f.d.Query(ctx, `SELECT id, locale, updated_at FROM users ORDER BY id`)
	if err != nil {
		f.t.Fatal(err)
	}
	for rows.Next() {
		var id, locale string
		var at time.Time
		if err := rows.Scan(&id, &locale, &at); err != nil {
			f.t.Fatal(err)
		}
		out += id + " " + locale + " " + at.UTC().String() + "\n"
	}
	rows.Close()
	var g, a int
	if err := f.d.QueryRow(ctx, `SELECT COUNT(*) FROM role_grants`).Scan(&g); err != nil {
		f.t.Fatal(err)
	}
	if err := f.d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log`).Scan(&a); err != nil {
		f.t.Fatal(err)
	}
	return fmt.Sprintf("%sgrants %d, audit entries %d", out, g, a)
}

func TestImportFileUsersTwiceChangesNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person("ivanov")
		f.person("sarkisyan")
		file := []directory.FileUser{
			{Person: "ivanov", Login: "Ivanov@Example.kz", Locale: "ru", Roles: []string{"post_officer:KZ", "post_head:KZ-MES"}},
			{Person: "sarkisyan", Login: "sarkisyan@example.am", Roles: []string{"viewer"}},
		}
		c, u, err := f.importUsers(file)
		if err != nil || c != 2 || u != 0 {
			t.Fatalf("first import: %d created, %d updated, %v", c, u, err)
		}
		if f.auditCount("user.import") != 1 {
			t.Fatal("first import not audited once")
		}
		before := f.stamp()
		f.clock.Advance(time.Hour)
		c, u, err = f.importUsers(file)
		if err != nil || c != 0 || u != 0 {
			t.Fatalf("second import: %d created, %d updated, %v", c, u, err)
		}
		if after := f.stamp(); after != before {
			t.Fatalf("second import wrote: %s → %s", before, after)
		}
		// Imported accounts cannot sign in until a password is set.
		_, _, err = f.s.Login(context.Background(), "ivanov@example.kz", goodPassword, "192.0.2.1", "x")
		wantKind(t, err, apperr.KindUnauthorized)
		// The export gives the file back.
		out, err := f.s.ExportFileUsers(sys())
		if err != nil {
			t.Fatal(err)
		}
		want := []directory.FileUser{
			{Person: "ivanov", Login: "ivanov@example.kz", Locale: "ru", Roles: []string{"post_head:KZ-MES", "post_officer:KZ"}},
			{Person: "sarkisyan", Login: "sarkisyan@example.am", Locale: "en", Roles: []string{"viewer"}},
		}
		if !reflect.DeepEqual(out, want) {
			t.Fatalf("export %+v\nwant   %+v", out, want)
		}
		c, u, err = f.importUsers(out)
		if err != nil || c != 0 || u != 0 {
			t.Fatalf("re-importing the export: %d created, %d updated, %v", c, u, err)
		}
	})
}

func TestImportFileUsersUpdatesAndNeverDeletes(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person("ivanov")
		keep := f.user("kept@example.org", "admin")
		if _, _, err := f.importUsers([]directory.FileUser{{Person: "ivanov", Login: "ivanov@example.kz", Roles: []string{"post_officer:KZ"}}}); err != nil {
			t.Fatal(err)
		}
		c, u, err := f.importUsers([]directory.FileUser{{Person: "ivanov", Login: "ivanov@example.kz", Locale: "ru", Roles: []string{"post_officer:AM"}}})
		if err != nil || c != 0 || u != 1 {
			t.Fatalf("%d created, %d updated, %v", c, u, err)
		}
		got, err := f.s.UserByLogin(sys(), "ivanov@example.kz")
		if err != nil || got.Locale != "ru" || len(got.Roles) != 1 || got.Roles[0] != "post_officer:AM" {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := f.s.GetUser(sys(), keep.ID); err != nil {
			t.Fatal("a user missing from the file was touched:", err)
		}
	})
}

func TestImportFileUsersRejectsBadFileWhole(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.person("ivanov")
		f.person("petrov")
		f.user("taken@example.org", "viewer")
		_, _, err := f.importUsers([]directory.FileUser{
			{Person: "ivanov", Login: "ok@example.org", Roles: []string{"viewer"}},
			{Person: "nobody", Login: "not-an-email", Locale: "de", Roles: []string{"post_head:KZ", "boss"}},
			{Person: "petrov", Login: "OK@example.org"},
			{Person: "petrov", Login: "taken@example.org"},
		})
		for field, code := range map[string]string{
			"users[1].person": "unknown_person", "users[1].login": "invalid_email", "users[1].locale": "unknown_locale",
			"users[1].roles[0]": "scope_not_allowed", "users[1].roles[1]": "unknown_role",
			"users[2].login": "duplicate", "users[3].person": "person_changed",
		} {
			wantFieldCode(t, err, field, code)
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d users after a rejected import (%v)", n, err)
		}
	})
}
