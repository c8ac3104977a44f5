package web

import (
	"strings"

	"sitroom/internal/auth"
)

// navItem is one entry of the main navigation. The table lists every
// section the design foresees, in display order; a section whose pages do
// not exist yet has no Path and is not shown. A later issue that builds a
// section sets its Path (and Match) here and registers its routes.
type navItem struct {
	Key   string      // i18n key "nav.<Key>"
	Path  string      // where the link goes; "" = not built yet, hidden
	Match string      // path prefix that marks the item current (default Path)
	Roles []auth.Role // who sees it (any scope); nil = every signed-in user
}

var navTable = []navItem{
	{Key: "situation", Path: "/board", Roles: []auth.Role{auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer, auth.Admin}},
	{Key: "alerts", Path: "/alerts", Roles: []auth.Role{auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer}},
	{Key: "duty", Path: "/duty", Roles: []auth.Role{auth.PostHead, auth.PostOfficer, auth.CentreSupervisor, auth.CentreOfficer}},
	{Key: "rosters", Path: "/rosters", Roles: []auth.Role{auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer, auth.Admin}},
	{Key: "readiness", Path: "/readiness", Roles: []auth.Role{auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.Admin}},
	{Key: "cases", Roles: []auth.Role{auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer, auth.Viewer}},
	{Key: "calendar"},
	{Key: "documents"},
	{Key: "press", Roles: []auth.Role{auth.Press, auth.Planner, auth.CentreSupervisor, auth.Admin}},
	{Key: "directory", Path: "/directory/posts", Match: "/directory/"},
	{Key: "admin", Path: "/admin/users", Match: "/admin/", Roles: []auth.Role{auth.Admin}},
	{Key: "audit", Roles: []auth.Role{auth.Auditor, auth.Admin}},
}

// navLink is a shown navigation entry.
type navLink struct {
	Key     string
	Path    string
	Current bool
}

// visibleNav returns the built sections a may see, marking the one that
// holds path.
func visibleNav(a *auth.Actor, path string) []navLink {
	if a == nil {
		return nil
	}
	var out []navLink
	for _, it := range navTable {
		if it.Path == "" || !mayUse(a, it.Roles) {
			continue
		}
		m := it.Match
		if m == "" {
			m = it.Path
		}
		out = append(out, navLink{Key: "nav." + it.Key, Path: it.Path, Current: strings.HasPrefix(path, m)})
	}
	return out
}

func mayUse(a *auth.Actor, roles []auth.Role) bool {
	if roles == nil {
		return true
	}
	for _, r := range roles {
		if a.Has(r) {
			return true
		}
	}
	return false
}
