package api

import (
	"net/http"
	"reflect"

	"sitroom/internal/audit"
	"sitroom/internal/directory"
	"sitroom/internal/users"
)

// documentRoutes describes every route. Keep it in step with register (the
// route coverage test will not let you forget).
func documentRoutes(b *docBuilder, testMode bool) {
	s := b.s
	annotate(s)
	const (
		get, post, put, patch, del = "GET", "POST", "PUT", "PATCH", "DELETE"
		p                          = Prefix
	)
	b.add(get, p+"/openapi.json", op{id: "getOpenAPI", tag: "meta", public: true, status: 200,
		summary: "This document", resp: &schema{Type: "object", Description: "an OpenAPI 3.0 document"}})
	b.add(get, p+"/me", op{id: "getMe", tag: "meta", status: 200, resp: s.ref(Me{}),
		summary: "The caller: account, grants, and how they are signed in"})

	b.crud(p+"/member-states", "member-states", "member state", directory.MemberState{},
		"Every signed-in user sees every member state. `status` is the status in force today (in the state's "+
			"own zone), derived from `status_history`, which PUT ignores: use POST …/status.")
	b.add(post, p+"/member-states/{id}/status", op{id: "addMemberStateStatus", tag: "member-states", status: 200,
		pathDesc: "the member state's id or ISO code", body: s.input(directory.StatusChange{}), resp: s.ref(directory.MemberState{}),
		fails: []int{403, 404, 422}, summary: "Record a dated status change (active, suspended, withdrawn)",
		desc: "A change dated the same day as an existing one replaces it. Administrators only."})

	b.crud(p+"/bodies", "bodies", "body", directory.Body{},
		"Every signed-in user sees every body. `parent` and `state` are codes; `parent_id` and `state_id` are "+
			"filled in by the server.")

	b.crud(p+"/posts", "posts", "post", directory.Post{},
		"Every signed-in user sees every post's name. The contacts and head of a post are withheld "+
			"(`contacts` is null, `head` empty) from callers who may not see the post's member state: "+
			"centre roles and administrators see all, others their own state's.")

	b.crud(p+"/people", "people", "person", directory.Person{},
		"People of a member state are visible only to centre roles, administrators and holders of a grant in "+
			"that state; to anyone else such a person does not exist (404). People of the organisation itself "+
			"(no member state) are visible to every signed-in user. PUT carries the whole positions history.")
	b.add(get, p+"/people/{id}/positions", op{id: "listPersonPositions", tag: "people", status: 200,
		pathDesc: "the person's id or code", resp: s.list(directory.Position{}), fails: []int{404},
		summary: "The positions a person held, as history (one page; next_cursor is always empty)",
		desc:    "Positions change with the person: PUT /api/v1/people/{id} with the whole list."})

	b.add(get, p+"/users", op{id: "listUsers", tag: "users", status: 200, query: []string{"q", "active", "limit", "cursor"},
		resp: s.list(users.User{}), fails: []int{403}, summary: "List users (administrators)"})
	b.add(post, p+"/users", op{id: "createUser", tag: "users", status: 201, location: true, body: s.input(UserCreate{}),
		resp: s.ref(users.User{}), fails: []int{403, 409, 422},
		summary: "Create a user (administrators)",
		desc: "A user is a person who may sign in: a new person (name_en) or an existing one (person, by code). " +
			"Without a password the account cannot sign in until one is set."})
	userDesc := "a user's id, or their login"
	b.add(get, p+"/users/{id}", op{id: "getUser", tag: "users", status: 200, pathDesc: userDesc,
		resp: s.ref(users.User{}), fails: []int{404},
		summary: "A user (administrators: anyone; others: themselves)"})
	b.add(patch, p+"/users/{id}", op{id: "updateUser", tag: "users", status: 200, pathDesc: userDesc,
		body: s.input(UserPatch{}), resp: s.ref(users.User{}), fails: []int{403, 404, 409, 422},
		summary: "Change a user's grants, locale, zone or active flag (administrators)",
		desc: "Only the fields sent change. Deactivating a user ends their sessions; the last active " +
			"administrator cannot be deactivated or lose the role (409)."})
	b.add(get, p+"/users/{id}/grants", op{id: "getUserGrants", tag: "users", status: 200, pathDesc: userDesc,
		resp: s.ref(Grants{}), fails: []int{404}, summary: "A user's grants, written ROLE or ROLE:SCOPE"})
	b.add(put, p+"/users/{id}/grants", op{id: "setUserGrants", tag: "users", status: 200, pathDesc: userDesc,
		body: s.input(Grants{}), resp: s.ref(Grants{}), fails: []int{403, 404, 409, 422},
		summary: "Replace a user's grants (administrators)",
		desc: "Roles: admin, centre_supervisor, centre_officer, post_head, post_officer, planner, press, viewer, " +
			"auditor; SCOPE is a member state's ISO code or a post's code."})
	b.add(post, p+"/users/{id}/password", op{id: "setUserPassword", tag: "users", status: 204, pathDesc: userDesc,
		body: s.input(PasswordChange{}), fails: []int{403, 404, 422, 429},
		summary: "Set a password (one's own with the old one; administrators anyone's)",
		desc:    "Every other session of the user ends. Not possible with an API token."})

	b.add(get, p+"/tokens", op{id: "listTokens", tag: "tokens", status: 200, query: []string{"user"},
		resp: s.list(users.Token{}), fails: []int{403, 404},
		summary: "API tokens, newest first, revoked ones included (one page; next_cursor is always empty)",
		desc:    "One's own; administrators everyone's, or one user's with ?user=. Not possible with an API token."})
	b.add(post, p+"/tokens", op{id: "createToken", tag: "tokens", status: 201, location: true,
		body: s.input(TokenCreate{}), resp: s.ref(NewToken{}), fails: []int{403, 404, 422},
		summary: "Create an API token (one's own; administrators for anyone)",
		desc: "The token is in the answer's `token` field, this once; only its hash is kept. With `post` the " +
			"token acts only for that post. Not possible with an API token."})
	b.add(del, p+"/tokens/{id}", op{id: "revokeToken", tag: "tokens", status: 204, pathDesc: "the token's id",
		fails: []int{403, 404}, summary: "Revoke an API token (its owner, or an administrator)",
		desc: "Revoking a revoked token changes nothing. A token may revoke itself."})

	b.add(get, p+"/audit", op{id: "listAudit", tag: "audit", status: 200,
		query: []string{"actor", "action", "object_type", "object_id", "from", "to", "limit", "cursor"},
		resp:  s.list(audit.View{}), fails: []int{403},
		summary: "Audit log entries, newest first (auditors and administrators)",
		desc:    "seq and hash are null/empty while an entry waits to be sealed into the chain."})
	b.add(get, p+"/audit/verify", op{id: "verifyAudit", tag: "audit", status: 200, query: []string{"anchor"},
		resp: s.ref(VerifyReport{}), fails: []int{403},
		summary: "Walk the audit hash chain and report the first broken link (auditors and administrators)",
		desc:    "A broken chain is still 200 with ok false and `broken` set; the request itself succeeded."})

	if testMode {
		b.add(get, p+"/test/clock", op{id: "getTestClock", tag: "test", status: 200, resp: s.ref(ClockNow{}),
			summary: "The test clock's time (test mode only)"})
		b.add(post, p+"/test/clock", op{id: "moveTestClock", tag: "test", status: 200, body: s.input(ClockMove{}),
			resp: s.ref(ClockNow{}), fails: []int{403, 422},
			summary: "Move the test clock (test mode only; administrators)",
			desc: "Exactly one of advance (a duration such as 90s, forwards) and set (an RFC 3339 instant). " +
				"This route exists only when the server runs with SITROOM_TEST_MODE=1."})
	}
}

// crud documents the routes crudRoutes registers for one kind of record.
func (b *docBuilder) crud(path, tag, noun string, sample any, about string) {
	s := b.s
	name := map[string]string{"member state": "MemberState", "body": "Body", "post": "Post", "person": "Person"}[noun]
	plural := map[string]string{"member state": "MemberStates", "body": "Bodies", "post": "Posts", "person": "People"}[noun]
	query := []string{"q", "state", "kind", "include_archived", "limit", "cursor"}
	switch noun {
	case "member state":
		query = []string{"q", "state", "include_archived", "limit", "cursor"}
	case "post":
		query = []string{"q", "state", "kind", "ministry_kind", "include_archived", "limit", "cursor"}
	case "person":
		query = []string{"q", "state", "include_archived", "limit", "cursor"}
	}
	ref := "the " + noun + "'s id or code"
	if noun == "member state" {
		ref = "the member state's id or ISO code"
	}
	b.add("GET", path, op{id: "list" + plural, tag: tag, status: http.StatusOK, query: query,
		resp: s.list(sample), fails: []int{422}, summary: "List " + plural + " (archived ones only on request)", desc: about})
	b.add("POST", path, op{id: "create" + name, tag: tag, status: http.StatusCreated, location: true,
		body: s.input(sample), resp: s.ref(sample), fails: []int{403, 409, 422},
		summary: "Create a " + noun + " (administrators)",
		desc:    "References to other records are by code. A duplicate code is 409."})
	b.add("GET", path+"/{id}", op{id: "get" + name, tag: tag, status: http.StatusOK, pathDesc: ref,
		resp: s.ref(sample), fails: []int{404}, summary: "A " + noun + ", archived or not", desc: about})
	b.add("PUT", path+"/{id}", op{id: "update" + name, tag: tag, status: http.StatusOK, pathDesc: ref,
		body: s.input(sample), resp: s.ref(sample), fails: []int{403, 404, 422},
		summary: "Replace a " + noun + "'s editable fields (administrators)",
		desc: "Send the whole record (e.g. what GET returned, edited). The code never changes; id, " +
			"created_at, updated_at and other server-set fields are ignored. An unchanged record is not written."})
	b.add("POST", path+"/{id}/archive", op{id: "archive" + name, tag: tag, status: http.StatusOK, pathDesc: ref,
		resp: s.ref(sample), fails: []int{403, 404},
		summary: "Archive a " + noun + " (administrators)",
		desc:    "Sets active_to to now; nothing is deleted. Archiving an archived record changes nothing."})
	b.add("POST", path+"/{id}/unarchive", op{id: "unarchive" + name, tag: tag, status: http.StatusOK, pathDesc: ref,
		resp: s.ref(sample), fails: []int{403, 404}, summary: "Bring an archived " + noun + " back (administrators)"})
}

// annotate gives the reflected schemas their enums and the notes a reader
// needs where the Go type alone says too little.
func annotate(s *schemas) {
	strs := func(v ...string) []any {
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = x
		}
		return out
	}
	kinds := make([]string, len(directory.BodyKinds))
	for i, k := range directory.BodyKinds {
		kinds[i] = string(k)
	}
	s.enums["Body.kind"] = strs(kinds...)
	s.enums["Post.kind"] = strs(string(directory.PostCentre), string(directory.PostMinistry))
	s.enums["Post.ministry_kind"] = strs(directory.MinistryKinds...)
	s.enums["Contact.kind"] = strs(directory.ContactKinds...)
	st := strs(string(directory.StatusActive), string(directory.StatusSuspended), string(directory.StatusWithdrawn))
	s.enums["StatusChange.status"] = st
	s.enums["MemberState.status"] = st
	s.enums["Me.via"] = strs("session", "token")
	s.names[reflect.TypeOf(audit.View{})] = "AuditEntry"
	s.nullable["Post.contacts"] = true
	s.notes["Post.contacts"] = "null when withheld: the caller may not see the post's member state"
	s.notes["MemberState.code"] = "ISO 3166 alpha-2; never changes"
	s.notes["MemberState.tz"] = "IANA zone, e.g. Asia/Almaty"
	s.notes["Post.tz"] = "IANA zone; defaults to the member state's"
	s.notes["StatusChange.valid_from"] = "YYYY-MM-DD"
	s.notes["Position.start_date"] = "YYYY-MM-DD, or YYYY-MM"
	s.notes["Position.end_date"] = "YYYY-MM-DD, or YYYY-MM; empty while held"
	s.notes["User.roles"] = "grants written ROLE or ROLE:CODE"
	s.notes["UserCreate.grants"] = "ROLE or ROLE:SCOPE, SCOPE a member state's ISO code or a post's code"
	s.notes["ClockMove.advance"] = "a duration such as 90s or 2h30m"
	s.notes["ClockMove.set"] = "an RFC 3339 instant"
}
