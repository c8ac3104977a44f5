package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// allowedScopes is the rule for which scopes each role may be granted with.
//
//   - admin, centre_supervisor, centre_officer, auditor: global only. The
//     checks in package auth honour these roles only when global (IsAdmin,
//     IsCentre), so a scoped grant would look like power it does not give.
//   - planner, press: global, or one member state (a national planner or
//     press officer).
//   - viewer: any scope (global, a member state, or one post).
//   - post_head: one post: the head edits that post's roster.
//   - post_officer: a member state (every post of that state) or one post.
var allowedScopes = map[auth.Role][]auth.ScopeKind{
	auth.Admin:            {auth.ScopeGlobal},
	auth.CentreSupervisor: {auth.ScopeGlobal},
	auth.CentreOfficer:    {auth.ScopeGlobal},
	auth.Auditor:          {auth.ScopeGlobal},
	auth.Planner:          {auth.ScopeGlobal, auth.ScopeState},
	auth.Press:            {auth.ScopeGlobal, auth.ScopeState},
	auth.Viewer:           {auth.ScopeGlobal, auth.ScopeState, auth.ScopePost},
	auth.PostHead:         {auth.ScopePost},
	auth.PostOfficer:      {auth.ScopeState, auth.ScopePost},
}

// AllowedScopes tells which scope kinds role may be granted with (for forms).
func AllowedScopes(r auth.Role) []auth.ScopeKind { return slices.Clone(allowedScopes[r]) }

// grant is a resolved grant with the code of its scope, for display and
// export.
type grant struct {
	auth.Grant
	Code string // member state's or post's code; "" for global
}

// Spec writes the grant as ROLE or ROLE:CODE.
func (g grant) Spec() string {
	if g.ScopeKind == auth.ScopeGlobal {
		return string(g.Role)
	}
	return string(g.Role) + ":" + g.Code
}

func (g grant) key() string { return string(g.Role) + "|" + string(g.ScopeKind) + "|" + g.ScopeID }

// ParseGrant reads a grant spec, ROLE or ROLE:SCOPE, where SCOPE is a member
// state's code (e.g. KZ) or a post's code, and resolves the scope's ids. A
// code naming both a state and a post means the state when the role may be
// granted on a state. See allowedScopes for which role takes which scope.
func (s *Store) ParseGrant(ctx context.Context, spec string) (auth.Grant, error) {
	g, fe, err := parseGrant(ctx, s.d, spec, "grant")
	if err != nil {
		return auth.Grant{}, err
	}
	if fe != nil {
		return auth.Grant{}, apperr.Invalid(*fe)
	}
	return g.Grant, nil
}

// parseGrant returns either a grant, a field error (the spec is wrong) or an
// error (the store failed).
func parseGrant(ctx context.Context, q db.Querier, spec, field string) (grant, *apperr.FieldError, error) {
	bad := func(code, format string, args ...any) (grant, *apperr.FieldError, error) {
		return grant{}, &apperr.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)}, nil
	}
	spec = strings.TrimSpace(spec)
	roleStr, scope, scoped := strings.Cut(spec, ":")
	role := auth.Role(strings.ToLower(strings.TrimSpace(roleStr)))
	scope = strings.TrimSpace(scope)
	if spec == "" {
		return bad("required", "a role is required (ROLE or ROLE:SCOPE)")
	}
	if !role.Valid() {
		return bad("unknown_role", "unknown role %q (known: %s)", roleStr, roleList())
	}
	allowed := allowedScopes[role]
	if !scoped {
		if !slices.Contains(allowed, auth.ScopeGlobal) {
			return bad("scope_required", "role %s needs a scope: %s", role, scopeWords(allowed))
		}
		return grant{Grant: auth.Grant{Role: role, ScopeKind: auth.ScopeGlobal}}, nil, nil
	}
	if scope == "" {
		return bad("invalid_grant", "write ROLE or ROLE:SCOPE, not %q", spec)
	}
	if len(allowed) == 1 && allowed[0] == auth.ScopeGlobal {
		return bad("scope_not_allowed", "role %s is granted globally only; write %s without a scope", role, role)
	}
	var stateID string
	err := q.QueryRow(ctx, `SELECT id FROM member_states WHERE code = ?`, strings.ToUpper(scope)).Scan(&stateID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return grant{}, nil, err
	}
	if stateID != "" && slices.Contains(allowed, auth.ScopeState) {
		return grant{Grant: auth.Grant{Role: role, ScopeKind: auth.ScopeState, ScopeID: stateID, StateID: stateID}, Code: strings.ToUpper(scope)}, nil, nil
	}
	var postID, postCode string
	var postState sql.NullString
	err = q.QueryRow(ctx, `SELECT id, code, state_id FROM posts WHERE code = ?`, scope).Scan(&postID, &postCode, &postState)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.QueryRow(ctx, `SELECT id, code, state_id FROM posts WHERE LOWER(code) = ? ORDER BY id LIMIT 1`, strings.ToLower(scope)).Scan(&postID, &postCode, &postState)
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return grant{}, nil, err
	}
	if postID != "" && slices.Contains(allowed, auth.ScopePost) {
		return grant{Grant: auth.Grant{Role: role, ScopeKind: auth.ScopePost, ScopeID: postID, StateID: postState.String}, Code: postCode}, nil, nil
	}
	switch {
	case stateID != "":
		return bad("scope_not_allowed", "role %s cannot be granted on a member state; it takes %s", role, scopeWords(allowed))
	case postID != "":
		return bad("scope_not_allowed", "role %s cannot be granted on a post; it takes %s", role, scopeWords(allowed))
	}
	return bad("unknown_scope", "%q is neither a member state's code nor a post's code", scope)
}

func roleList() string {
	out := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		out[i] = string(r)
	}
	return strings.Join(out, ", ")
}

func scopeWords(ks []auth.ScopeKind) string {
	words := map[auth.ScopeKind]string{auth.ScopeGlobal: "no scope (global)", auth.ScopeState: "a member state's code", auth.ScopePost: "a post's code"}
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = words[k]
	}
	return strings.Join(out, " or ")
}

// parseGrants resolves specs, reporting every bad one as field[i], and drops
// duplicates.
func parseGrants(ctx context.Context, q db.Querier, specs []string, field string) ([]grant, apperr.Fields, error) {
	var out []grant
	var fields apperr.Fields
	seen := map[string]bool{}
	for i, spec := range specs {
		g, fe, err := parseGrant(ctx, q, spec, fmt.Sprintf("%s[%d]", field, i))
		if err != nil {
			return nil, nil, err
		}
		if fe != nil {
			fields = append(fields, *fe)
			continue
		}
		if !seen[g.key()] {
			seen[g.key()] = true
			out = append(out, g)
		}
	}
	sortGrants(out)
	return out, fields, nil
}

func sortGrants(gs []grant) {
	rank := map[auth.Role]int{}
	for i, r := range auth.Roles {
		rank[r] = i
	}
	sort.SliceStable(gs, func(i, j int) bool {
		if gs[i].Role != gs[j].Role {
			return rank[gs[i].Role] < rank[gs[j].Role]
		}
		return gs[i].Code < gs[j].Code
	})
}

// loadGrants reads the grants of the given users, with each scope's code and
// the member state it lies in (a state scope lies in itself; a post scope in
// the post's state, "" for the organisation's own posts).
func loadGrants(ctx context.Context, q db.Querier, userIDs ...string) (map[string][]grant, error) {
	out := map[string][]grant{}
	if len(userIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(userIDs))
	for i, id := range userIDs {
		args[i] = id
	}
	rows, err := q.Query(ctx, `SELECT g.user_id, g.role, g.scope_kind, g.scope_id,
			COALESCE(ms.code, p.code, ''), COALESCE(ms.id, p.state_id, '')
		FROM role_grants g
		LEFT JOIN member_states ms ON g.scope_kind = 'state' AND ms.id = g.scope_id
		LEFT JOIN posts p ON g.scope_kind = 'post' AND p.id = g.scope_id
		WHERE g.user_id IN (`+placeholders(len(userIDs))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("load grants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid string
		var g grant
		if err := rows.Scan(&uid, &g.Role, &g.ScopeKind, &g.ScopeID, &g.Code, &g.StateID); err != nil {
			return nil, err
		}
		out[uid] = append(out[uid], g)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, gs := range out {
		sortGrants(gs)
	}
	return out, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func authGrants(gs []grant) []auth.Grant {
	out := make([]auth.Grant, len(gs))
	for i, g := range gs {
		out[i] = g.Grant
	}
	return out
}

func specs(gs []grant) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.Spec()
	}
	return out
}

// isDuty: holders of post roles keep a duty desk signed in through a shift
// and its handover, so they get the longer idle limit.
func isDuty(gs []auth.Grant) bool {
	for _, g := range gs {
		if g.Role == auth.PostHead || g.Role == auth.PostOfficer {
			return true
		}
	}
	return false
}

// replaceGrants makes the user's grants equal to want, touching only what
// differs. It reports whether anything changed.
func (s *Store) replaceGrants(ctx context.Context, tx *db.Tx, userID string, have, want []grant) (bool, error) {
	haveK := map[string]bool{}
	for _, g := range have {
		haveK[g.key()] = true
	}
	wantK := map[string]bool{}
	for _, g := range want {
		wantK[g.key()] = true
	}
	changed := false
	for _, g := range have {
		if !wantK[g.key()] {
			if _, err := tx.Exec(ctx, `DELETE FROM role_grants WHERE user_id = ? AND role = ? AND scope_kind = ? AND scope_id = ?`,
				userID, g.Role, g.ScopeKind, g.ScopeID); err != nil {
				return false, err
			}
			changed = true
		}
	}
	now := s.clock.Now()
	for _, g := range want {
		if !haveK[g.key()] {
			if _, err := tx.Exec(ctx, `INSERT INTO role_grants (id, user_id, role, scope_kind, scope_id, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				db.NewID(), userID, g.Role, g.ScopeKind, g.ScopeID, now); err != nil {
				return false, err
			}
			changed = true
		}
	}
	return changed, nil
}

// ActorForUser loads the actor a user acts as, with every grant's StateID
// resolved so that scope checks need no query. It checks no permission (it
// is how a caller becomes an actor); an inactive user is Unauthorized.
func (s *Store) ActorForUser(ctx context.Context, userID string) (*auth.Actor, error) {
	var a auth.Actor
	var active bool
	var nameEN, nameRU, locale string
	err := s.d.QueryRow(ctx, `SELECT u.id, u.person_id, u.login, u.active, u.locale, p.name_en, p.name_ru
		FROM users u JOIN people p ON p.id = u.person_id WHERE u.id = ?`, userID).
		Scan(&a.UserID, &a.PersonID, &a.Login, &active, &locale, &nameEN, &nameRU)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("user")
	}
	if err != nil {
		return nil, err
	}
	if !active {
		return nil, apperr.Unauthorized("this account is disabled")
	}
	gs, err := loadGrants(ctx, s.d, userID)
	if err != nil {
		return nil, err
	}
	a.Kind = auth.KindUser
	a.Name = localName(locale, nameEN, nameRU)
	a.Grants = authGrants(gs[userID])
	return &a, nil
}

func localName(locale, en, ru string) string {
	if locale == "ru" && ru != "" {
		return ru
	}
	return en
}
