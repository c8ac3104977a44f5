package directory_test

import (
	"context"
	"slices"
	"testing"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/testutil"
)

func user(login string, grants ...auth.Grant) *auth.Actor {
	return &auth.Actor{Kind: auth.KindUser, UserID: "u-" + login, Login: login, Grants: grants}
}

func viewerGlobal() *auth.Actor {
	return user("viewer", auth.Grant{Role: auth.Viewer, ScopeKind: auth.ScopeGlobal})
}

func centreOfficer() *auth.Actor {
	return user("centre", auth.Grant{Role: auth.CentreOfficer, ScopeKind: auth.ScopeGlobal})
}

func adminUser() *auth.Actor {
	return user("admin", auth.Grant{Role: auth.Admin, ScopeKind: auth.ScopeGlobal})
}

func statePostOfficer(stateID string) *auth.Actor {
	return user("kz-officer", auth.Grant{Role: auth.PostOfficer, ScopeKind: auth.ScopeState, ScopeID: stateID, StateID: stateID})
}

func TestScopingOfPeopleAndContacts(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		kz := e.stateID(t, "KZ")
		kzPost, err := e.s.GetPost(sys(), "KZ-MES-CP")
		if err != nil {
			t.Fatal(err)
		}
		postHead := user("kz-head", auth.Grant{Role: auth.PostHead, ScopeKind: auth.ScopePost, ScopeID: kzPost.ID, StateID: kz})

		for _, tc := range []struct {
			name       string
			actor      *auth.Actor
			people     []string // ListPeople, in order
			contactsOf []string // posts listed with contacts
			headOf     []string // posts listed with their head
		}{
			{"KZ-scoped post officer", statePostOfficer(kz), []string{"sg", "kz-duty"}, []string{"CRC-DESK", "KZ-MES-CP"}, []string{"KZ-MES-CP"}},
			{"post head of a KZ post", postHead, []string{"sg", "kz-duty"}, []string{"CRC-DESK", "KZ-MES-CP"}, []string{"KZ-MES-CP"}},
			{"centre officer", centreOfficer(), []string{"sg", "kz-duty", "by-duty"}, []string{"CRC-DESK", "KZ-MES-CP", "BY-MOD-CP"}, []string{"KZ-MES-CP", "BY-MOD-CP"}},
			{"admin", adminUser(), []string{"sg", "kz-duty", "by-duty"}, []string{"CRC-DESK", "KZ-MES-CP", "BY-MOD-CP"}, []string{"KZ-MES-CP", "BY-MOD-CP"}},
			{"global viewer", viewerGlobal(), []string{"sg"}, []string{"CRC-DESK"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := as(tc.actor)
				people, _, err := e.s.ListPeople(ctx, directory.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := personCodes(people); !slices.Equal(got, tc.people) {
					t.Fatalf("people listed %v, want %v", got, tc.people)
				}
				for _, code := range []string{"sg", "kz-duty", "by-duty"} {
					_, err := e.s.GetPerson(ctx, code)
					if slices.Contains(tc.people, code) {
						if err != nil {
							t.Fatalf("get %s: %v", code, err)
						}
					} else if !apperr.Is(err, apperr.KindNotFound) {
						t.Fatalf("get %s: %v, want NotFound (existence not disclosed)", code, err)
					}
				}
				posts, _, err := e.s.ListPosts(ctx, directory.ListOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := postCodes(posts); !slices.Equal(got, []string{"CRC-DESK", "KZ-MES-CP", "BY-MOD-CP"}) {
					t.Fatalf("every signed-in actor sees every post's name; got %v", got)
				}
				for _, p := range posts {
					seesContacts := slices.Contains(tc.contactsOf, p.Code)
					if seesContacts != (p.Contacts != nil) || seesContacts && len(p.Contacts) == 0 {
						t.Errorf("post %s: contacts %v, want visible=%v", p.Code, p.Contacts, seesContacts)
					}
					seesHead := slices.Contains(tc.headOf, p.Code)
					if seesHead != (p.Head != "") || (p.Head == "") != (p.HeadPersonID == "") {
						t.Errorf("post %s: head %q/%q, want visible=%v", p.Code, p.Head, p.HeadPersonID, seesHead)
					}
					if p.NameEN == "" || p.NameRU == "" {
						t.Errorf("post %s: names withheld", p.Code)
					}
					got, err := e.s.GetPost(ctx, p.Code)
					if err != nil {
						t.Fatal(err)
					}
					if (got.Contacts != nil) != seesContacts || (got.Head != "") != seesHead {
						t.Errorf("GetPost %s disagrees with the list: %+v", p.Code, got)
					}
				}
				// A state filter naming a state the actor cannot see gives
				// no people, not an error.
				byPeople, _, err := e.s.ListPeople(ctx, directory.ListOptions{State: "BY"})
				if err != nil {
					t.Fatal(err)
				}
				if want := slices.Contains(tc.people, "by-duty"); want != (len(byPeople) == 1) {
					t.Fatalf("people of BY: %v", personCodes(byPeople))
				}
				states, _, err := e.s.ListMemberStates(ctx, directory.ListOptions{})
				if err != nil || len(states) != 2 {
					t.Fatalf("member states: %d, %v", len(states), err)
				}
				bodies, _, err := e.s.ListBodies(ctx, directory.ListOptions{})
				if err != nil || len(bodies) != 3 {
					t.Fatalf("bodies: %d, %v", len(bodies), err)
				}
			})
		}
	})
}

func TestOnlyAdminsWrite(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		officer := as(statePostOfficer(e.stateID(t, "KZ")))
		kzPost, _ := e.s.GetPost(sys(), "KZ-MES-CP")
		kzPerson, _ := e.s.GetPerson(sys(), "kz-duty")
		byPerson, _ := e.s.GetPerson(sys(), "by-duty")
		n := e.auditCount(t)

		_, err := e.s.UpdatePost(officer, "KZ-MES-CP", *kzPost)
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.UpdatePost(officer, "BY-MOD-CP", *kzPost) // visible by name: 403
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.UpdatePerson(officer, "kz-duty", *kzPerson)
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.UpdatePerson(officer, "by-duty", *byPerson) // not visible: 404
		wantKind(t, err, apperr.KindNotFound)
		_, err = e.s.ArchivePerson(officer, "by-duty")
		wantKind(t, err, apperr.KindNotFound)
		_, err = e.s.ArchivePost(officer, "KZ-MES-CP")
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.CreatePost(officer, directory.Post{Code: "X", NameEN: "X", NameRU: "X"})
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.CreateMemberState(as(centreOfficer()), directory.MemberState{Code: "AM"})
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.AddStatusChange(officer, "KZ", directory.StatusChange{Status: "suspended", ValidFrom: "2024-01-01"})
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.UpdateBody(officer, "SEC", directory.Body{})
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.Import(officer, parse(t, "org.yaml", seedYAML), directory.ImportOptions{})
		wantKind(t, err, apperr.KindForbidden)
		_, err = e.s.Export(officer, directory.ExportOptions{})
		wantKind(t, err, apperr.KindForbidden)
		if e.auditCount(t) != n {
			t.Fatal("a refused write left an audit entry")
		}

		// An admin user (not only the system) may write.
		kzPost.NameEN = "Renamed by an admin"
		if _, err := e.s.UpdatePost(as(adminUser()), "KZ-MES-CP", *kzPost); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNobodySignedInIsUnauthorized(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		ctx := context.Background()
		_, _, err := e.s.ListPosts(ctx, directory.ListOptions{})
		wantKind(t, err, apperr.KindUnauthorized)
		_, _, err = e.s.ListPeople(ctx, directory.ListOptions{})
		wantKind(t, err, apperr.KindUnauthorized)
		_, _, err = e.s.ListMemberStates(ctx, directory.ListOptions{})
		wantKind(t, err, apperr.KindUnauthorized)
		_, err = e.s.GetBody(ctx, "SEC")
		wantKind(t, err, apperr.KindUnauthorized)
		_, err = e.s.CreatePost(ctx, directory.Post{})
		wantKind(t, err, apperr.KindUnauthorized)
		_, err = e.s.Import(ctx, parse(t, "org.yaml", seedYAML), directory.ImportOptions{})
		wantKind(t, err, apperr.KindUnauthorized)
	})
}

func TestBodyParentCycleRejected(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.seed(t)
		sec, err := e.s.GetBody(sys(), "SEC")
		if err != nil {
			t.Fatal(err)
		}
		sec.Parent = "CRC" // CRC already lies under SEC
		_, err = e.s.UpdateBody(sys(), "SEC", *sec)
		wantField(t, err, "parent", "parent_cycle")
		sec.Parent = "SEC"
		_, err = e.s.UpdateBody(sys(), "SEC", *sec)
		wantField(t, err, "parent", "parent_cycle")
	})
}
