package auth_test

import (
	"context"
	"testing"

	"sitroom/internal/auth"
)

func grant(r auth.Role, kind auth.ScopeKind, scope, state string) auth.Grant {
	return auth.Grant{Role: r, ScopeKind: kind, ScopeID: scope, StateID: state}
}

func TestScopeRules(t *testing.T) {
	centre := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.CentreOfficer, auth.ScopeGlobal, "", "")}}
	admin := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.Admin, auth.ScopeGlobal, "", "")}}
	kzState := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.PostOfficer, auth.ScopeState, "kz", "kz")}}
	kzPost := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.PostHead, auth.ScopePost, "kz-mod", "kz")}}
	viewer := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.Viewer, auth.ScopeGlobal, "", "")}}
	// An admin scoped to a state is not an administrator: admin is global only.
	scopedAdmin := &auth.Actor{Kind: auth.KindUser, Grants: []auth.Grant{grant(auth.Admin, auth.ScopeState, "kz", "kz")}}
	var nobody *auth.Actor

	cases := []struct {
		name string
		got  bool
		want bool
	}{
		{"centre sees every state", centre.CanSeeState("by"), true},
		{"admin sees every state", admin.CanSeeState("by"), true},
		{"state officer sees own state", kzState.CanSeeState("kz"), true},
		{"state officer does not see another", kzState.CanSeeState("by"), false},
		{"post head sees the post's state", kzPost.CanSeeState("kz"), true},
		{"post head does not see another state", kzPost.CanSeeState("by"), false},
		{"viewer sees the organisation's own", viewer.CanSeeState(""), true},
		{"viewer does not see a member state's people", viewer.CanSeeState("kz"), false},
		{"nobody sees nothing", nobody.CanSeeState(""), false},
		{"centre is centre", centre.IsCentre(), true},
		{"admin is not centre", admin.IsCentre(), false},
		{"scoped admin is not an administrator", scopedAdmin.IsAdmin(), false},
		{"post head acts for own post", kzPost.HasForPost(auth.PostHead, "kz-mod", "kz"), true},
		{"post head not for another post of the state", kzPost.HasForPost(auth.PostHead, "kz-mes", "kz"), false},
		{"state officer for any post of the state", kzState.HasForPost(auth.PostOfficer, "kz-mes", "kz"), true},
		{"state officer not for another state's post", kzState.HasForPost(auth.PostOfficer, "by-mod", "by"), false},
		{"global role for every post", centre.HasForPost(auth.CentreOfficer, "by-mod", "by"), true},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: got %v", c.name, c.got)
		}
	}
	if got := kzPost.StateIDs(); len(got) != 1 || got[0] != "kz" {
		t.Errorf("StateIDs %v", got)
	}
}

func TestActorTravelsInTheContextAndLabelsItself(t *testing.T) {
	if auth.From(context.Background()) != nil {
		t.Fatal("an empty context has an actor")
	}
	a := &auth.Actor{Kind: auth.KindToken, TokenID: "t1"}
	if got := auth.From(auth.With(context.Background(), a)); got != a || got.Label() != "token:t1" {
		t.Fatalf("got %+v", got)
	}
	for a, want := range map[*auth.Actor]string{
		{Kind: auth.KindUser, Login: "a@x"}: "user:a@x",
		auth.System("engine"):               "system:engine",
		nil:                                 "anonymous",
	} {
		if a.Label() != want {
			t.Errorf("label %q, want %q", a.Label(), want)
		}
	}
	if !auth.System("x").IsAdmin() || !auth.System("x").IsCentre() {
		t.Fatal("the system acts with every right")
	}
	if auth.Role("root").Valid() || !auth.Auditor.Valid() {
		t.Fatal("role validity")
	}
}
