package directory_test

import (
	"slices"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

func TestCreatePostDefaultsAndAudit(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		before := e.auditCount(t)
		p, err := e.s.CreatePost(sys(), directory.Post{
			Code: "KZ-MFA-CP", NameEN: " Foreign ministry post ", NameRU: "Пост МИД",
			State: "KZ", MinistryKind: "foreign",
			Contacts: []directory.Contact{{Kind: "email", Value: "cp@mfa.kz.example"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if p.ID == "" || p.Kind != directory.PostMinistry || p.TZ != "Asia/Almaty" || p.NameEN != "Foreign ministry post" {
			t.Fatalf("created %+v: want an id, kind ministry, the state's zone, a trimmed name", p)
		}
		if p.StateID != e.stateID(t, "KZ") || p.State != "KZ" {
			t.Fatalf("state = %q/%q", p.StateID, p.State)
		}
		if !p.CreatedAt.Equal(epoch) {
			t.Fatalf("created_at %v, want the injected clock's %v", p.CreatedAt, epoch)
		}
		got, err := e.s.GetPost(sys(), "KZ-MFA-CP")
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Contacts) != 1 || got.Contacts[0].Value != "cp@mfa.kz.example" {
			t.Fatalf("contacts read back: %+v", got.Contacts)
		}
		byID, err := e.s.GetPost(sys(), p.ID)
		if err != nil || byID.Code != "KZ-MFA-CP" {
			t.Fatalf("get by id: %+v, %v", byID, err)
		}
		if n := e.auditCount(t); n != before+1 {
			t.Fatalf("audit entries %d → %d, want one more", before, n)
		}
		if a := e.auditActions(t); a[len(a)-1] != "post.create" {
			t.Fatalf("last audit action %q", a[len(a)-1])
		}
	})
}

func TestCreateValidationMessages(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := sys()
		post := func(mod func(*directory.Post)) error {
			p := directory.Post{Code: "NEW-CP", NameEN: "New", NameRU: "Новый", State: "KZ", MinistryKind: "defence"}
			mod(&p)
			_, err := e.s.CreatePost(ctx, p)
			return err
		}
		person := func(mod func(*directory.Person)) error {
			p := directory.Person{Code: "new-person", NameEN: "New", NameRU: "Новый"}
			mod(&p)
			_, err := e.s.CreatePerson(ctx, p)
			return err
		}
		state := func(mod func(*directory.MemberState)) error {
			m := directory.MemberState{Code: "AM", NameEN: "Armenia", NameRU: "Армения", TZ: "Asia/Yerevan"}
			mod(&m)
			_, err := e.s.CreateMemberState(ctx, m)
			return err
		}
		body := func(mod func(*directory.Body)) error {
			b := directory.Body{Code: "WG-AF", Kind: directory.BodyWorkingGroup, NameEN: "Working group", NameRU: "Рабочая группа"}
			mod(&b)
			_, err := e.s.CreateBody(ctx, b)
			return err
		}
		for _, tc := range []struct {
			name, field, code string
			err               error
		}{
			{"post code missing", "code", "required", post(func(p *directory.Post) { p.Code = "" })},
			{"post code with a space", "code", "invalid_code", post(func(p *directory.Post) { p.Code = "KZ CP" })},
			{"post code taken", "code", "duplicate_code", post(func(p *directory.Post) { p.Code = "KZ-MES-CP" })},
			{"post name_ru missing", "name_ru", "required", post(func(p *directory.Post) { p.NameRU = " " })},
			{"post zone misspelt", "tz", "unknown_zone", post(func(p *directory.Post) { p.TZ = "Asia/Almatyy" })},
			{"post zone Local", "tz", "unknown_zone", post(func(p *directory.Post) { p.TZ = "Local" })},
			{"ministry post without state", "state", "required", post(func(p *directory.Post) { p.State = "" })},
			{"ministry post of unknown state", "state", "unknown_state", post(func(p *directory.Post) { p.State = "XX" })},
			{"ministry kind unknown", "ministry_kind", "unknown_ministry_kind", post(func(p *directory.Post) { p.MinistryKind = "navy" })},
			{"ministry kind missing", "ministry_kind", "required", post(func(p *directory.Post) { p.MinistryKind = "" })},
			{"centre post with a state", "state", "not_allowed", post(func(p *directory.Post) { p.Kind = directory.PostCentre; p.MinistryKind = "" })},
			{"post body of another state", "state", "state_mismatch", post(func(p *directory.Post) { p.State = "BY"; p.Body = "KZ-MES" })},
			{"post head unknown", "head", "unknown_person", post(func(p *directory.Post) { p.Head = "nobody" })},
			{"post contact kind unknown", "contacts[0].kind", "unknown_contact_kind", post(func(p *directory.Post) {
				p.Contacts = []directory.Contact{{Kind: "pigeon", Value: "x"}}
			})},
			{"post contact email bad", "contacts[0].value", "invalid_email", post(func(p *directory.Post) {
				p.Contacts = []directory.Contact{{Kind: "email", Value: "not-an-address"}}
			})},
			{"person email bad", "email", "invalid_email", person(func(p *directory.Person) { p.Email = "anna at example" })},
			{"person language bad", "languages[0]", "invalid_language", person(func(p *directory.Person) { p.Languages = []string{"Russian"} })},
			{"person body unknown", "body", "unknown_body", person(func(p *directory.Person) { p.Body = "NOPE" })},
			{"position date bad", "positions[0].start_date", "invalid_date", person(func(p *directory.Person) {
				p.Positions = []directory.Position{{TitleEN: "Head", TitleRU: "Глава", StartDate: "2019-13"}}
			})},
			{"position ends before it starts", "positions[0].end_date", "end_before_start", person(func(p *directory.Person) {
				p.Positions = []directory.Position{{TitleEN: "Head", TitleRU: "Глава", StartDate: "2019-05", EndDate: "2019-04-30"}}
			})},
			{"position listed twice", "positions[1].title_en", "duplicate_position", person(func(p *directory.Person) {
				p.Positions = []directory.Position{{TitleEN: "Head", TitleRU: "Глава", StartDate: "2019-05"}, {TitleEN: "Head", TitleRU: "Глава", StartDate: "2019-05-01"}}
			})},
			{"state code lower case", "code", "invalid_code", state(func(m *directory.MemberState) { m.Code = "am" })},
			{"state zone missing", "tz", "required", state(func(m *directory.MemberState) { m.TZ = "" })},
			{"state working hours bad", "working_hours", "invalid_working_hours", state(func(m *directory.MemberState) { m.WorkingHours = "weekdays 9 to 6" })},
			{"state status unknown", "status_history[0].status", "unknown_status", state(func(m *directory.MemberState) {
				m.History = []directory.StatusChange{{Status: "paused", ValidFrom: "2020-01-01"}}
			})},
			{"state status date bad", "status_history[0].valid_from", "invalid_date", state(func(m *directory.MemberState) {
				m.History = []directory.StatusChange{{Status: "active", ValidFrom: "01.01.2020"}}
			})},
			{"state code taken", "code", "duplicate_code", state(func(m *directory.MemberState) { m.Code = "KZ" })},
			{"body kind unknown", "kind", "unknown_kind", body(func(b *directory.Body) { b.Kind = "club" })},
			{"body parent unknown", "parent", "unknown_body", body(func(b *directory.Body) { b.Parent = "NOPE" })},
			{"body parent itself", "parent", "unknown_body", body(func(b *directory.Body) { b.Parent = "WG-AF" })},
		} {
			t.Run(tc.name, func(t *testing.T) { wantField(t, tc.err, tc.field, tc.code) })
		}
		// Nothing above was written.
		if _, err := e.s.GetPost(ctx, "NEW-CP"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("a rejected post exists: %v", err)
		}
	})
}

func TestUpdateAndArchive(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := sys()
		p, err := e.s.GetPost(ctx, "KZ-MES-CP")
		if err != nil {
			t.Fatal(err)
		}
		n0 := e.auditCount(t)

		// Saving what is there changes nothing and records nothing.
		if _, err := e.s.UpdatePost(ctx, p.Code, *p); err != nil {
			t.Fatal(err)
		}
		if e.auditCount(t) != n0 {
			t.Fatal("a no-op update was audited")
		}

		e.clk.Advance(time.Hour)
		p.NameEN = "MES crisis management centre"
		p.TZ = "Asia/Aqtobe"
		up, err := e.s.UpdatePost(ctx, p.ID, *p)
		if err != nil {
			t.Fatal(err)
		}
		if up.NameEN != p.NameEN || up.TZ != "Asia/Aqtobe" || !up.UpdatedAt.Equal(epoch.Add(time.Hour)) || !up.CreatedAt.Equal(epoch) {
			t.Fatalf("updated: %+v", up)
		}
		if e.auditCount(t) != n0+1 {
			t.Fatal("update not audited once")
		}

		p.Code = "KZ-RENAMED"
		_, err = e.s.UpdatePost(ctx, "KZ-MES-CP", *p)
		wantField(t, err, "code", "immutable")

		// Archive: gone from lists, still there by code, back on unarchive.
		if _, err := e.s.ArchivePost(ctx, "KZ-MES-CP"); err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.ArchivePost(ctx, "KZ-MES-CP"); err != nil {
			t.Fatal(err)
		}
		if e.auditCount(t) != n0+2 {
			t.Fatal("archiving twice should record one entry")
		}
		list, _, err := e.s.ListPosts(ctx, directory.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(postCodes(list), "KZ-MES-CP") {
			t.Fatalf("archived post listed: %v", postCodes(list))
		}
		list, _, _ = e.s.ListPosts(ctx, directory.ListOptions{IncludeArchived: true})
		if !slices.Contains(postCodes(list), "KZ-MES-CP") {
			t.Fatalf("archived post not listed with IncludeArchived: %v", postCodes(list))
		}
		got, err := e.s.GetPost(ctx, "KZ-MES-CP")
		if err != nil || got.ActiveTo == nil || !got.ActiveTo.Equal(e.clk.Now()) {
			t.Fatalf("archived post: %+v, %v", got, err)
		}
		un, err := e.s.UnarchivePost(ctx, "KZ-MES-CP")
		if err != nil || un.ActiveTo != nil {
			t.Fatalf("unarchive: %+v, %v", un, err)
		}
		want := []string{"post.update", "post.archive", "post.unarchive"}
		if a := e.auditActions(t); !slices.Equal(a[len(a)-3:], want) {
			t.Fatalf("audit actions end %v, want %v", a[len(a)-3:], want)
		}

		// People: positions are replaced as a whole and read back in term order.
		sg, err := e.s.GetPerson(ctx, "sg")
		if err != nil {
			t.Fatal(err)
		}
		if len(sg.Positions) != 2 || sg.Positions[0].StartDate != "2017-01-01" || sg.Positions[0].EndDate != "2019-12-01" || !sg.Positions[1].Acting {
			t.Fatalf("positions: %+v", sg.Positions)
		}
		sg.Positions = append(sg.Positions[1:], directory.Position{TitleEN: "Adviser", TitleRU: "Советник", StartDate: "2016-03"})
		sg.Positions[0].EndDate = "2021-06-30"
		sg2, err := e.s.UpdatePerson(ctx, "sg", *sg)
		if err != nil {
			t.Fatal(err)
		}
		got2 := codesOf(sg2.Positions, func(p directory.Position) string { return p.TitleEN + "@" + p.StartDate + "-" + p.EndDate })
		if !slices.Equal(got2, []string{"Adviser@2016-03-01-", "Secretary General@2020-01-01-2021-06-30"}) {
			t.Fatalf("positions after update: %v", got2)
		}
	})
}

func TestListPagination(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := sys()
		var all []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			items, next, err := e.s.ListPosts(ctx, directory.ListOptions{Limit: 2, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > 2 {
				t.Fatalf("page of %d items, limit 2", len(items))
			}
			all = append(all, postCodes(items)...)
			if next == "" {
				break
			}
			cursor = next
		}
		// Creation order, which for an import is the file's order.
		if want := []string{"CRC-DESK", "KZ-MES-CP", "BY-MOD-CP"}; !slices.Equal(all, want) {
			t.Fatalf("pages gave %v, want %v", all, want)
		}
		_, _, err := e.s.ListPosts(ctx, directory.ListOptions{Cursor: "garbage!"})
		wantKind(t, err, apperr.KindBadRequest)
		items, _, err := e.s.ListPosts(ctx, directory.ListOptions{State: "KZ"})
		if err != nil || !slices.Equal(postCodes(items), []string{"KZ-MES-CP"}) {
			t.Fatalf("state filter: %v, %v", postCodes(items), err)
		}
		items, _, err = e.s.ListPosts(ctx, directory.ListOptions{Kind: "centre"})
		if err != nil || !slices.Equal(postCodes(items), []string{"CRC-DESK"}) {
			t.Fatalf("kind filter: %v, %v", postCodes(items), err)
		}
		items, _, err = e.s.ListPosts(ctx, directory.ListOptions{MinistryKind: "defence"})
		if err != nil || !slices.Equal(postCodes(items), []string{"BY-MOD-CP"}) {
			t.Fatalf("ministry kind filter: %v, %v", postCodes(items), err)
		}
		_, _, err = e.s.ListPosts(ctx, directory.ListOptions{State: "XX"})
		wantField(t, err, "state", "unknown_state")
		bodies, _, err := e.s.ListBodies(ctx, directory.ListOptions{Kind: "ministry"})
		if err != nil || len(bodies) != 1 || bodies[0].Code != "KZ-MES" || bodies[0].State != "KZ" {
			t.Fatalf("bodies of kind ministry: %+v, %v", bodies, err)
		}
	})
}

func TestOrgInfo(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		o, err := e.s.GetOrgInfo(sys())
		if err != nil || *o != (directory.OrgInfo{}) {
			t.Fatalf("before set: %+v, %v", o, err)
		}
		_, err = e.s.SetOrgInfo(sys(), directory.OrgInfo{NameEN: "X", TZ: "Mars/Olympus"})
		wantField(t, err, "name_ru", "required")
		wantField(t, err, "tz", "unknown_zone")
		want := directory.OrgInfo{NameEN: "Org", NameRU: "Орг", ShortEN: "O", TZ: "Europe/Moscow"}
		if _, err := e.s.SetOrgInfo(sys(), want); err != nil {
			t.Fatal(err)
		}
		o, err = e.s.GetOrgInfo(sys())
		if err != nil || *o != want {
			t.Fatalf("after set: %+v, %v", o, err)
		}
		n := e.auditCount(t)
		if _, err := e.s.SetOrgInfo(sys(), want); err != nil || e.auditCount(t) != n {
			t.Fatalf("setting the same info again: %v, audit %d → %d", err, n, e.auditCount(t))
		}
		_, err = e.s.SetOrgInfo(as(viewerGlobal()), want)
		wantKind(t, err, apperr.KindForbidden)
	})
}
