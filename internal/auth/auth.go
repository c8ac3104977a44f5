// Package auth defines who is acting (the Actor, carried in the context) and
// the roles and scopes they hold, and answers the questions every domain
// store asks before it reads or writes: may this actor see member state S's
// people? act for post P? administer the directory? Stores call these
// themselves, so no handler can forget a check. It does no I/O: loading an
// actor from a session or token is the users package's job.
package auth

import (
	"context"
	"slices"
)

// Role is a named set of permissions.
type Role string

const (
	Admin            Role = "admin"             // users and directory; never acknowledges alerts, never reads restricted case contents
	CentreSupervisor Role = "centre_supervisor" // global: everything operational, plus supervision
	CentreOfficer    Role = "centre_officer"    // global: everything operational
	PostHead         Role = "post_head"         // a post: edits its roster, acts for its state
	PostOfficer      Role = "post_officer"      // a member state or a post
	Planner          Role = "planner"
	Press            Role = "press"
	Viewer           Role = "viewer"
	Auditor          Role = "auditor" // reads the audit log
)

// Roles lists every role in display order.
var Roles = []Role{Admin, CentreSupervisor, CentreOfficer, PostHead, PostOfficer, Planner, Press, Viewer, Auditor}

// Valid tells whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ScopeKind is where a grant applies.
type ScopeKind string

const (
	ScopeGlobal ScopeKind = "global"
	ScopeState  ScopeKind = "state"
	ScopePost   ScopeKind = "post"
)

// Grant is a role with a scope. For a post scope, StateID is the post's
// member state (empty for the organisation's own posts), resolved when the
// actor is loaded so checks need no query.
type Grant struct {
	Role      Role      `json:"role"`
	ScopeKind ScopeKind `json:"scope_kind"`
	ScopeID   string    `json:"scope_id,omitempty"` // state id or post id
	StateID   string    `json:"state_id,omitempty"` // the state the scope lies in
}

// ActorKind says what kind of principal acts.
type ActorKind string

const (
	KindUser   ActorKind = "user"
	KindToken  ActorKind = "token"
	KindSystem ActorKind = "system"
)

// Actor is the identity a request or job acts as.
type Actor struct {
	Kind        ActorKind
	UserID      string
	PersonID    string
	Login       string
	Name        string
	TokenID     string // set when acting through an API token
	TokenPostID string // set when the token is bound to one post
	System      string // for KindSystem: "demo", "engine", "import" …
	Grants      []Grant
	IP          string
	SessionID   string
}

// System returns an actor for work the system does on its own behalf; it
// holds every permission of an administrator and a centre supervisor.
func System(name string) *Actor {
	return &Actor{Kind: KindSystem, System: name, Grants: []Grant{
		{Role: Admin, ScopeKind: ScopeGlobal}, {Role: CentreSupervisor, ScopeKind: ScopeGlobal},
	}}
}

// Label is how the audit log names the actor: user:<login>, token:<id>, system:<name>.
func (a *Actor) Label() string {
	if a == nil {
		return "anonymous"
	}
	switch a.Kind {
	case KindToken:
		return "token:" + a.TokenID
	case KindSystem:
		return "system:" + a.System
	default:
		return "user:" + a.Login
	}
}

type ctxKey struct{}

// With returns ctx carrying a.
func With(ctx context.Context, a *Actor) context.Context { return context.WithValue(ctx, ctxKey{}, a) }

// From returns the actor in ctx, or nil when nobody is signed in.
func From(ctx context.Context) *Actor {
	a, _ := ctx.Value(ctxKey{}).(*Actor)
	return a
}

// Has tells whether the actor holds role r in any scope.
func (a *Actor) Has(r Role) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// HasGlobal tells whether the actor holds role r with global scope.
func (a *Actor) HasGlobal(r Role) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role == r && g.ScopeKind == ScopeGlobal {
			return true
		}
	}
	return false
}

// IsAdmin: may manage users and the directory.
func (a *Actor) IsAdmin() bool { return a.HasGlobal(Admin) }

// IsCentre: a centre role (global), which sees everything operational.
func (a *Actor) IsCentre() bool { return a.HasGlobal(CentreSupervisor) || a.HasGlobal(CentreOfficer) }

// SeesAllStates: may see people, contacts and rosters of every member state.
func (a *Actor) SeesAllStates() bool { return a.IsAdmin() || a.IsCentre() }

// CanSeeState tells whether the actor may see people, contacts and rosters of
// member state stateID. An empty stateID means the organisation itself
// (Secretariat, the centre's own desk), visible to every signed-in user.
func (a *Actor) CanSeeState(stateID string) bool {
	if a == nil {
		return false
	}
	if stateID == "" || a.SeesAllStates() {
		return true
	}
	for _, g := range a.Grants {
		if g.ScopeKind != ScopeGlobal && g.StateID == stateID {
			return true
		}
	}
	return false
}

// StateIDs lists the member states the actor's scoped grants lie in (for
// filtering lists in SQL when !SeesAllStates()).
func (a *Actor) StateIDs() []string {
	if a == nil {
		return nil
	}
	var out []string
	for _, g := range a.Grants {
		if g.ScopeKind != ScopeGlobal && g.StateID != "" && !slices.Contains(out, g.StateID) {
			out = append(out, g.StateID)
		}
	}
	return out
}

// HasForPost tells whether the actor holds role r for post postID, which
// lies in member state stateID: globally, through the post's state, or on
// that post itself.
func (a *Actor) HasForPost(r Role, postID, stateID string) bool {
	if a == nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Role != r {
			continue
		}
		switch g.ScopeKind {
		case ScopeGlobal:
			return true
		case ScopeState:
			if stateID != "" && g.ScopeID == stateID {
				return true
			}
		case ScopePost:
			if g.ScopeID == postID {
				return true
			}
		}
	}
	return false
}
