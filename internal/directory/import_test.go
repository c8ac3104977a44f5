package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

// lineOf is the 1-based line of the first occurrence of s in text.
func lineOf(t testing.TB, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not in the text", s)
	}
	return strings.Count(text[:i], "\n") + 1
}

func TestImportCreatesInFileOrder(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rep := e.seed(t)
		want := directory.ImportReport{
			File: "org.yaml", Organisation: "created",
			MemberStates: directory.Counts{Created: 2}, Bodies: directory.Counts{Created: 3},
			People: directory.Counts{Created: 3}, Posts: directory.Counts{Created: 3},
		}
		if rep.File != want.File || rep.Organisation != want.Organisation || rep.MemberStates != want.MemberStates ||
			rep.Bodies != want.Bodies || rep.People != want.People || rep.Posts != want.Posts || len(rep.Missing) != 0 {
			t.Fatalf("report %+v", rep)
		}
		if a := e.auditActions(t); !slices.Equal(a, []string{"directory.import"}) {
			t.Fatalf("audit actions %v, want one directory.import", a)
		}
		// Defaults applied: state from the body, zone from the state,
		// "YYYY-MM" dates as the first of the month.
		p, err := e.s.GetPost(sys(), "KZ-MES-CP")
		if err != nil || p.State != "KZ" || p.TZ != "Asia/Almaty" || p.Kind != directory.PostMinistry || p.Head != "kz-duty" {
			t.Fatalf("KZ-MES-CP: %+v, %v", p, err)
		}
		desk, _ := e.s.GetPost(sys(), "CRC-DESK")
		if desk.TZ != "Europe/Moscow" {
			t.Fatalf("centre desk zone %q, want the organisation's", desk.TZ)
		}
		crc, _ := e.s.GetBody(sys(), "CRC")
		if crc.Parent != "SEC" {
			t.Fatalf("CRC parent %q (declared before SEC in the file)", crc.Parent)
		}
		kzDuty, _ := e.s.GetPerson(sys(), "kz-duty")
		if kzDuty.State != "KZ" {
			t.Fatalf("kz-duty state %q, want KZ from its body", kzDuty.State)
		}
	})
}

func TestImportTwiceChangesNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		before, _ := e.s.GetPost(sys(), "KZ-MES-CP")
		n := e.auditCount(t)
		e.clk.Advance(time.Hour)
		for _, format := range []string{"yaml", "json"} {
			f := parse(t, "org.yaml", seedYAML)
			if format == "json" {
				var b bytes.Buffer
				if err := directory.WriteFile(&b, f, "json"); err != nil {
					t.Fatal(err)
				}
				f = parse(t, "org.json", b.String())
			}
			rep, err := e.s.Import(sys(), f, directory.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Changed() != 0 || rep.Organisation != "unchanged" || rep.Posts.Unchanged != 3 || rep.People.Unchanged != 3 ||
				rep.Bodies.Unchanged != 3 || rep.MemberStates.Unchanged != 2 || len(rep.Created)+len(rep.Updated) != 0 {
				t.Fatalf("%s: second import reported %+v", format, rep)
			}
		}
		if e.auditCount(t) != n {
			t.Fatal("the second import left an audit entry")
		}
		after, _ := e.s.GetPost(sys(), "KZ-MES-CP")
		if !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("updated_at moved from %v to %v: the row was written", before.UpdatedAt, after.UpdatedAt)
		}
	})
}

func TestImportUpdatesOnlyWhatChanged(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		text := strings.Replace(seedYAML, "name_en: Centre duty desk", "name_en: Centre duty desk (24/7)", 1)
		text = strings.Replace(text, "end: 2019-12,", "end: 2019-11-30,", 1)
		rep, err := e.s.Import(sys(), parse(t, "org.yaml", text), directory.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Posts != (directory.Counts{Updated: 1, Unchanged: 2}) || rep.People != (directory.Counts{Updated: 1, Unchanged: 2}) {
			t.Fatalf("report %+v", rep)
		}
		got := codesOf(rep.Updated, func(r directory.RecordRef) string { return r.Kind + "/" + r.Code })
		if !slices.Equal(got, []string{"person/sg", "post/CRC-DESK"}) {
			t.Fatalf("updated %v", got)
		}
		sg, _ := e.s.GetPerson(sys(), "sg")
		if sg.Positions[0].EndDate != "2019-11-30" {
			t.Fatalf("position end %q", sg.Positions[0].EndDate)
		}
		var summary string
		if err := d.QueryRow(context.Background(), "SELECT summary FROM audit_log ORDER BY id DESC LIMIT 1").Scan(&summary); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(summary, "people 0 created, 1 updated") || !strings.Contains(summary, "posts 0 created, 1 updated") {
			t.Fatalf("audit summary %q", summary)
		}
	})
}

func TestImportRejectsBadFileWhole(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		n := e.auditCount(t)
		// A valid change, a misspelt zone and a reference to nothing: the
		// valid change must not be applied either.
		text := strings.Replace(seedYAML, "name_en: Centre duty desk", "name_en: Renamed desk", 1)
		text = strings.Replace(text, "    name_ru: Командный пункт МЧС\n", "    name_ru: Командный пункт МЧС\n    tz: Asia/Almatyy\n", 1)
		text = strings.Replace(text, "    state: BY\nposts:", "    state: BY\n    body: NO-SUCH-BODY\nposts:", 1)
		_, err := e.s.Import(sys(), parse(t, "org.yaml", text), directory.ImportOptions{})
		var fe *directory.FileError
		if !errors.As(err, &fe) {
			t.Fatalf("got %v, want a *FileError", err)
		}
		wantTZ := fmt.Sprintf(`org.yaml:%d: posts[1].tz: unknown time zone "Asia/Almatyy"`, lineOf(t, text, "tz: Asia/Almatyy"))
		wantBody := fmt.Sprintf(`org.yaml:%d: people[2].body: no body has the code "NO-SUCH-BODY"`, lineOf(t, text, "body: NO-SUCH-BODY"))
		msg := err.Error()
		if !strings.Contains(msg, wantTZ) || !strings.Contains(msg, wantBody) || len(fe.Problems) != 2 {
			t.Fatalf("error:\n%s\nwant lines:\n%s\n%s", msg, wantTZ, wantBody)
		}
		if strings.Index(msg, wantBody) > strings.Index(msg, wantTZ) {
			t.Fatalf("problems not in line order:\n%s", msg)
		}
		if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.KindInvalid || ae.Fields[0].Field != "people[2].body" {
			t.Fatalf("does not unwrap to an Invalid apperr with fields: %+v", ae)
		}
		desk, _ := e.s.GetPost(sys(), "CRC-DESK")
		if desk.NameEN != "Centre duty desk" {
			t.Fatalf("the rejected file's valid change was applied: %q", desk.NameEN)
		}
		if e.auditCount(t) != n {
			t.Fatal("a rejected import left an audit entry")
		}
	})
}

func TestImportRejectsDuplicatesAndCycles(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		text := `bodies:
  - {code: A, kind: other, name_en: A, name_ru: А, parent: B}
  - {code: B, kind: other, name_en: B, name_ru: Б, parent: A}
posts:
  - {code: P, kind: centre, name_en: P, name_ru: П, tz: UTC}
  - {code: P, kind: centre, name_en: P2, name_ru: П2, tz: UTC}
`
		_, err := e.s.Import(sys(), parse(t, "cycle.yaml", text), directory.ImportOptions{})
		msg := fmt.Sprint(err)
		for _, want := range []string{
			"cycle.yaml:2: bodies[0].parent: body A cannot lie under B",
			"cycle.yaml:3: bodies[1].parent: body B cannot lie under A",
			`cycle.yaml:6: posts[1].code: the code "P" is already used by posts[0] (line 5)`,
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error:\n%s\nlacks %q", msg, want)
			}
		}
		if n := e.auditCount(t); n != 0 {
			t.Fatal("rejected import audited")
		}
	})
}

func TestImportReportsMissingRecordsAndResolvesAcrossFileAndDatabase(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		if _, err := e.s.ArchivePerson(sys(), "by-duty"); err != nil {
			t.Fatal(err)
		}
		// A post naming a head that comes later in the file, a body and a
		// state that are only in the database.
		text := `posts:
  - code: KZ-MOD-CP
    name_en: Defence command post
    name_ru: Командный пункт Минобороны
    state: KZ
    ministry_kind: defence
    head: kz-mod-duty
people:
  - code: kz-mod-duty
    name_en: Serik Akhmetov
    name_ru: Серик Ахметов
    state: KZ
    positions:
      - {title_en: Duty officer, title_ru: Дежурный, start: 2023-05, body: KZ-MES}
`
		rep, err := e.s.Import(sys(), parse(t, "more.yaml", text), directory.ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Posts.Created != 1 || rep.People.Created != 1 || rep.Organisation != "absent" {
			t.Fatalf("report %+v", rep)
		}
		missing := codesOf(rep.Missing, func(r directory.RecordRef) string {
			s := r.Kind + "/" + r.Code
			if r.Archived {
				s += "(archived)"
			}
			return s
		})
		want := []string{"member_state/KZ", "member_state/BY", "body/CRC", "body/SEC", "body/KZ-MES",
			"person/sg", "person/kz-duty", "person/by-duty(archived)", "post/CRC-DESK", "post/KZ-MES-CP", "post/BY-MOD-CP"}
		if !slices.Equal(missing, want) {
			t.Fatalf("missing %v\nwant    %v", missing, want)
		}
		// Reported, not deleted.
		if _, err := e.s.GetPost(sys(), "BY-MOD-CP"); err != nil {
			t.Fatal(err)
		}
		p, err := e.s.GetPost(sys(), "KZ-MOD-CP")
		if err != nil || p.Head != "kz-mod-duty" {
			t.Fatalf("new post %+v, %v", p, err)
		}
		var out bytes.Buffer
		if err := rep.WriteText(&out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "by-duty") || !strings.Contains(out.String(), "(archived)") {
			t.Fatalf("report text:\n%s", out.String())
		}
	})
}

func TestImportDryRunChangesNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		rep, err := e.s.Import(sys(), parse(t, "org.yaml", seedYAML), directory.ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.DryRun || rep.Posts.Created != 3 {
			t.Fatalf("dry-run report %+v", rep)
		}
		posts, _, err := e.s.ListPosts(sys(), directory.ListOptions{})
		if err != nil || len(posts) != 0 || e.auditCount(t) != 0 {
			t.Fatalf("a dry run wrote: %d posts, %d audit entries, %v", len(posts), e.auditCount(t), err)
		}
	})
}

// fakeUsers stands in for the users store: it keeps what it is given and
// checks it runs inside the import's transaction, after the people.
type fakeUsers struct {
	stored []directory.FileUser
	fail   error
}

func (u *fakeUsers) importHook(ctx context.Context, tx *db.Tx, users []directory.FileUser) (int, int, error) {
	for _, fu := range users {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM people WHERE code = ?", fu.Person).Scan(&n); err != nil || n != 1 {
			return 0, 0, fmt.Errorf("person %s not written before the users hook: %v", fu.Person, err)
		}
	}
	if u.fail != nil {
		return 0, 0, u.fail
	}
	created := 0
	for _, fu := range users {
		if !slices.ContainsFunc(u.stored, func(x directory.FileUser) bool { return x.Login == fu.Login }) {
			created++
		}
	}
	u.stored = append([]directory.FileUser(nil), users...)
	return created, 0, nil
}

func (u *fakeUsers) exportHook(ctx context.Context) ([]directory.FileUser, error) {
	return u.stored, nil
}

const usersYAML = `users:
  - person: sg
    login: anna
    roles: [admin]
  - person: kz-duty
    login: aidar
    locale: ru
    roles: ["post_officer:KZ-MES-CP"]
`

func TestImportUsersHookInsideTheTransaction(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		text := seedYAML + usersYAML
		// The hook's field errors get their lines; the whole file is rejected.
		bad := &fakeUsers{fail: apperr.Invalid(apperr.FieldError{Field: "users[1].roles[0]", Code: "unknown_role", Message: "no such role"})}
		_, err := e.s.Import(sys(), parse(t, "org.yaml", text), directory.ImportOptions{Users: bad.importHook})
		want := fmt.Sprintf("org.yaml:%d: users[1].roles[0]: no such role", lineOf(t, text, `roles: ["post_officer`))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got %v, want %q", err, want)
		}
		if posts, _, _ := e.s.ListPosts(sys(), directory.ListOptions{}); len(posts) != 0 {
			t.Fatal("directory written although the users hook failed")
		}

		u := &fakeUsers{}
		rep, err := e.s.Import(sys(), parse(t, "org.yaml", text), directory.ImportOptions{Users: u.importHook})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Users != (directory.Counts{Created: 2}) || len(u.stored) != 2 || u.stored[1].Roles[0] != "post_officer:KZ-MES-CP" {
			t.Fatalf("users: %+v, stored %+v", rep.Users, u.stored)
		}
		// Without a hook the users are counted as skipped.
		rep, err = e.s.Import(sys(), parse(t, "org.yaml", text), directory.ImportOptions{})
		if err != nil || rep.UsersSkipped != 2 || rep.Changed() != 0 {
			t.Fatalf("no hook: %+v, %v", rep, err)
		}
		// A user naming nobody is caught before the hook runs.
		_, err = e.s.Import(sys(), parse(t, "org.yaml", seedYAML+"users:\n  - {person: ghost, login: g, roles: [viewer]}\n"), directory.ImportOptions{Users: u.importHook})
		if err == nil || !strings.Contains(err.Error(), `users[0].person: no person has the code "ghost"`) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestExportImportExportRoundTrip(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		u := &fakeUsers{}
		if _, err := e.s.Import(sys(), parse(t, "org.yaml", seedYAML+usersYAML), directory.ImportOptions{Users: u.importHook}); err != nil {
			t.Fatal(err)
		}
		// Things an import file alone does not exercise.
		e.clk.Advance(90 * time.Minute)
		if _, err := e.s.ArchivePost(sys(), "BY-MOD-CP"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.CreatePerson(sys(), directory.Person{Code: "multi", NameEN: "Line \"quoted\" <b>", NameRU: "Строка: с двоеточием", Phone: "007",
			Languages: []string{"EN"}, Positions: []directory.Position{{TitleEN: "no", TitleRU: "yes", StartDate: "2020-02-29"}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.AddStatusChange(sys(), "KZ", directory.StatusChange{Status: directory.StatusActive, ValidFrom: "1992-03-02"}); err != nil {
			t.Fatal(err)
		}
		for _, format := range []string{"yaml", "json"} {
			t.Run(format, func(t *testing.T) {
				first := export(t, e.s, u, format)
				if format == "json" && (!strings.HasPrefix(first, "{") || strings.Contains(first, `"id"`) || !strings.Contains(first, `"start": "2017-01-01"`)) {
					t.Fatalf("JSON export does not use the file's names:\n%s", first)
				}
				if !strings.Contains(first, "active_to") || !strings.Contains(first, "Строка: с двоеточием") {
					t.Fatalf("export lacks the archived post's active_to or Cyrillic text:\n%s", first)
				}
				fresh := newEnv(t, testutil.Open(t, d.Dialect))
				u2 := &fakeUsers{}
				if _, err := fresh.s.Import(sys(), parse(t, "export."+format, first), directory.ImportOptions{Users: u2.importHook}); err != nil {
					t.Fatal(err)
				}
				if second := export(t, fresh.s, u2, format); second != first {
					t.Fatalf("export → import → export differs:\n--- first\n%s\n--- second\n%s", first, second)
				}
				// And the export, imported back where it came from, changes nothing.
				rep, err := e.s.Import(sys(), parse(t, "export."+format, first), directory.ImportOptions{})
				if err != nil || rep.Changed() != 0 {
					t.Fatalf("re-importing the export: %+v, %v", rep, err)
				}
			})
		}
	})
}

func export(t *testing.T, s *directory.Store, u *fakeUsers, format string) string {
	t.Helper()
	f, err := s.Export(sys(), directory.ExportOptions{Users: u.exportHook})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := directory.WriteFile(&b, f, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
