package api_test

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"sitroom/demo"
	"sitroom/internal/api"
	"sitroom/internal/apptest"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// The authorisation matrix: every route × every kind of caller × the scope
// of the record it touches → the status the API must answer.
//
// Callers are the demo users of every role, each once with an API token and
// once with a signed-in session (tokens cannot manage tokens or passwords),
// plus a token bound to one post, nobody, and a forged token. Records lie in
// Kazakhstan (KZ: the state the post_head and post_officer serve), in
// Belarus (BY: another state) or in the organisation itself (no state).
//
// Each route's rule is a named function below, written as the product's
// rules read:
//
//   - everyone signed in sees the names of states, bodies and posts;
//   - people of a member state are visible only to centre roles, admins and
//     holders of a grant in that state — to anyone else they do not exist
//     (404);
//   - only admins change the directory: anyone else gets 403 for a record
//     they can see and 404 for one they cannot;
//   - only admins manage users; a user sees themselves, others do not exist;
//   - only auditors and admins read and verify the audit log;
//   - everyone manages their own tokens and password, but not with a token;
//   - nobody signed in gets 401 (with WWW-Authenticate: Bearer), except for
//     the OpenAPI document, which is public; a forged token gets 401 always.

// class is what decides a caller's rights.
type class int

const (
	nobody  class = iota // not signed in
	forged               // an unknown bearer token
	admin                // admin
	centre               // centre_supervisor, centre_officer
	kz                   // a grant in Kazakhstan (state or post scope)
	plain                // planner, press, viewer: global roles without directory rights
	auditor              // auditor
)

type caller struct {
	name  string
	login string
	post  string // the token is bound to this post
	token bool   // an API token; false: a signed-in session
	class class

	cred   string       // the token
	client *http.Client // the session
}

func (c *caller) signedIn() bool { return c.class != nobody && c.class != forged }

// seesState: may see people and contacts of member state st ("" = the
// organisation's own records).
func (c *caller) seesState(st string) bool {
	switch c.class {
	case admin, centre:
		return true
	case kz:
		return st == "" || st == "KZ"
	case plain, auditor:
		return st == ""
	}
	return false
}

func matrixCallers() []*caller {
	roles := []struct {
		name, login string
		class       class
	}{
		{"admin", apptest.Admin, admin},
		{"centre_supervisor", apptest.Supervisor, centre},
		{"centre_officer", apptest.Officer, centre},
		{"post_head:KZ-MOD-CP", apptest.KZHead, kz},
		{"post_officer:KZ", apptest.KZOfficer, kz},
		{"planner", apptest.Planner, plain},
		{"press", apptest.Press, plain},
		{"viewer", apptest.Viewer, plain},
		{"auditor", apptest.Auditor, auditor},
	}
	var out []*caller
	for _, r := range roles {
		out = append(out,
			&caller{name: r.name + " (token)", login: r.login, token: true, class: r.class},
			&caller{name: r.name + " (session)", login: r.login, class: r.class})
	}
	return append(out,
		&caller{name: "post_officer:KZ (token bound to KZ-MOD-CP)", login: apptest.KZOfficer, post: "KZ-MOD-CP", token: true, class: kz},
		&caller{name: "anonymous", class: nobody},
		&caller{name: "forged token", token: true, class: forged})
}

// target is the record a request touches, by the scope it lies in.
type target string

const (
	none   target = ""
	inKZ   target = "KZ"  // the state of the kz callers
	inBY   target = "BY"  // another member state
	inOrg  target = "org" // the organisation's own (no member state)
	self   target = "self"
	others target = "someone else"
)

func (t target) state() string {
	if t == inOrg {
		return ""
	}
	return string(t)
}

// refs are the demo records of each kind in each scope.
var refs = map[string]map[target]string{
	"member-states": {inKZ: "KZ", inBY: "BY"},
	"bodies":        {inKZ: "KZ-MOD", inBY: "BY-MES", inOrg: "SECRETARIAT"},
	"posts":         {inKZ: "KZ-MOD-CP", inBY: "BY-MES-CP", inOrg: "CRC-DESK"},
	"people":        {inKZ: "p-abenov", inBY: "p-klimovich", inOrg: "p-antonov"},
}

// rule says what a caller gets for a target, when signed in.
type rule func(c *caller, t target) int

// Named rules, one per kind of action.

// anyone signed in may do this.
func anyone(ok int) rule { return func(*caller, target) int { return ok } }

// readPeople: people of a state are visible to those who may see the state.
func readPeople(c *caller, t target) int {
	if c.seesState(t.state()) {
		return 200
	}
	return 404
}

// adminWrites: only admins change; others get 403 where they can see the
// record, 404 where they cannot.
func adminWrites(ok int, visible func(*caller, target) bool) rule {
	return func(c *caller, t target) int {
		switch {
		case c.class == admin:
			return ok
		case visible == nil || visible(c, t):
			return 403
		}
		return 404
	}
}

func peopleVisible(c *caller, t target) bool { return c.seesState(t.state()) }

// adminOnly: admins may, everyone else is refused (the target is no secret).
func adminOnly(ok int) rule { return adminWrites(ok, nil) }

// userRead: admins see every user; others only themselves.
func userRead(c *caller, t target) int {
	if c.class == admin || t == self {
		return 200
	}
	return 404
}

// userWrite: admins change users; others may not change themselves (403)
// and cannot see anyone else (404).
func userWrite(c *caller, t target) int {
	switch {
	case c.class == admin:
		return 200
	case t == self:
		return 403
	}
	return 404
}

// password: a signed-in user sets their own (with the old one), an admin
// anyone's; never with a token.
func password(c *caller, t target) int {
	switch {
	case c.class != admin && t == others:
		return 404
	case c.token:
		return 403
	}
	return 204
}

// ownTokens: one's own tokens, but not with a token; others' only for
// admins.
func ownTokens(ok int) rule {
	return func(c *caller, t target) int {
		switch {
		case c.token:
			return 403
		case t == others && c.class != admin:
			return 404
		}
		return ok
	}
}

// auditors: only auditors and admins read the audit log.
func auditors(c *caller, _ target) int {
	if c.class == admin || c.class == auditor {
		return 200
	}
	return 403
}

// row is one route of the matrix.
type row struct {
	method, path string // path holds {ref} where the target's reference goes
	targets      []target
	rule         rule
	public       bool
	body         func(e *matrixEnv, c *caller, t target) any
	// ref, when set, gives the {ref} (it may prepare a fresh record for
	// each caller, e.g. one to delete); pattern, when set, is the route's
	// pattern (for paths with a query).
	ref     func(e *matrixEnv, c *caller, t target) string
	pattern string
	// stream: the answer never ends; only its status and head are read.
	stream bool
}

func matrixRows() []row {
	var rows []row
	dir := func(kind string) []target {
		var ts []target
		for _, t := range []target{inKZ, inBY, inOrg} {
			if _, ok := refs[kind][t]; ok {
				ts = append(ts, t)
			}
		}
		return ts
	}
	for _, kind := range []string{"member-states", "bodies", "posts", "people"} {
		read := anyone(200)
		var visible func(*caller, target) bool
		if kind == "people" {
			read, visible = readPeople, peopleVisible
		}
		p := "/api/v1/" + kind
		rows = append(rows,
			row{method: "GET", path: p, rule: anyone(200)},
			row{method: "POST", path: p, rule: adminOnly(201), body: newRecord(kind)},
			row{method: "GET", path: p + "/{ref}", targets: dir(kind), rule: read},
			row{method: "PUT", path: p + "/{ref}", targets: dir(kind), rule: adminWrites(200, visible), body: sameRecord(kind)},
			row{method: "POST", path: p + "/{ref}/archive", targets: dir(kind), rule: adminWrites(200, visible)},
			row{method: "POST", path: p + "/{ref}/unarchive", targets: dir(kind), rule: adminWrites(200, visible)},
		)
	}
	rows = append(rows,
		row{method: "POST", path: "/api/v1/member-states/{ref}/status", targets: dir("member-states"),
			rule: adminOnly(200), body: (*matrixEnv).sameStatus},
		row{method: "GET", path: "/api/v1/people/{ref}/positions", targets: dir("people"), rule: readPeople},

		row{method: "GET", path: "/api/v1/openapi.json", rule: anyone(200), public: true},
		row{method: "GET", path: "/api/v1/me", rule: anyone(200)},

		row{method: "GET", path: "/api/v1/users", rule: adminOnly(200)},
		row{method: "POST", path: "/api/v1/users", rule: adminOnly(201), body: (*matrixEnv).newUser},
		row{method: "GET", path: "/api/v1/users/{ref}", targets: []target{self, others}, rule: userRead},
		row{method: "PATCH", path: "/api/v1/users/{ref}", targets: []target{self, others}, rule: userWrite, body: (*matrixEnv).sameLocale},
		row{method: "GET", path: "/api/v1/users/{ref}/grants", targets: []target{self, others}, rule: userRead},
		row{method: "PUT", path: "/api/v1/users/{ref}/grants", targets: []target{self, others}, rule: userWrite, body: (*matrixEnv).sameGrants},
		row{method: "POST", path: "/api/v1/users/{ref}/password", targets: []target{self, others}, rule: password, body: (*matrixEnv).samePassword},

		row{method: "GET", path: "/api/v1/tokens{ref}", targets: []target{self, others}, rule: ownTokens(200)},
		row{method: "POST", path: "/api/v1/tokens", targets: []target{self, others}, rule: ownTokens(201), body: (*matrixEnv).newToken},
		row{method: "DELETE", path: "/api/v1/tokens/{ref}", targets: []target{self, others}, rule: ownTokens(204)},

		row{method: "GET", path: "/api/v1/audit", rule: auditors},
		row{method: "GET", path: "/api/v1/audit/verify", rule: auditors},

		row{method: "GET", path: "/api/v1/test/clock", rule: anyone(200)},
		row{method: "POST", path: "/api/v1/test/clock", rule: adminOnly(200), body: func(*matrixEnv, *caller, target) any {
			return map[string]string{"advance": "0s"}
		}},
	)
	return append(rows, networkRows()...)
}

// expect is the status c must get for r on t.
func expect(r row, c *caller, t target) int {
	switch {
	case c.class == forged:
		return 401
	case r.public:
		return r.rule(c, t)
	case !c.signedIn():
		return 401
	}
	return r.rule(c, t)
}

// matrixEnv holds what the bodies and references are made of.
type matrixEnv struct {
	s       *apptest.Server
	seq     int
	records map[string]map[string]json.RawMessage // kind → code → record as GET returned it to an admin
	spare   map[string]string                     // login → id of a token to revoke
	net     *networkEnv                           // the readiness network's records
}

func (e *matrixEnv) next() int { e.seq++; return e.seq }

func (e *matrixEnv) ref(c *caller, r row, t target) string {
	if r.ref != nil {
		return r.ref(e, c, t)
	}
	kind := strings.Split(strings.TrimPrefix(r.path, "/api/v1/"), "/")[0]
	switch {
	case strings.HasPrefix(kind, "tokens") && r.method == "GET":
		if t == others {
			return "?user=" + apptest.Supervisor2
		}
		return ""
	case kind == "tokens":
		if t == others || c.login == "" {
			return e.spare[apptest.Supervisor2]
		}
		return e.spare[c.login]
	case kind == "users":
		if t == others || c.login == "" {
			return apptest.Supervisor2
		}
		return c.login
	}
	return refs[kind][t]
}

func newRecord(kind string) func(*matrixEnv, *caller, target) any {
	return func(e *matrixEnv, c *caller, t target) any {
		n := e.next()
		switch kind {
		case "member-states":
			return map[string]any{"code": fmt.Sprintf("Q%c", 'A'+n%26), "name_en": "Matrix", "name_ru": "Матрица", "tz": "Asia/Almaty"}
		case "bodies":
			return map[string]any{"code": fmt.Sprintf("MATRIX-B%d", n), "kind": "working_group", "name_en": "Matrix group", "name_ru": "Группа"}
		case "posts":
			return map[string]any{"code": fmt.Sprintf("MATRIX-P%d", n), "kind": "ministry", "state": "KZ", "ministry_kind": "health",
				"name_en": "Matrix post", "name_ru": "Пост"}
		default:
			return map[string]any{"code": fmt.Sprintf("matrix-%d", n), "name_en": "Matrix Person", "name_ru": "Матрица", "state": "KZ"}
		}
	}
}

// sameRecord is the record as it is: a PUT that changes nothing.
func sameRecord(kind string) func(*matrixEnv, *caller, target) any {
	return func(e *matrixEnv, c *caller, t target) any { return e.records[kind][refs[kind][t]] }
}

// sameStatus repeats the latest status change, which changes nothing.
func (e *matrixEnv) sameStatus(c *caller, t target) any {
	var m struct {
		History []json.RawMessage `json:"status_history"`
	}
	if err := json.Unmarshal(e.records["member-states"][refs["member-states"][t]], &m); err != nil || len(m.History) == 0 {
		panic("no status history")
	}
	return m.History[len(m.History)-1]
}

func (e *matrixEnv) user(c *caller, t target) *struct {
	Locale string   `json:"locale"`
	Roles  []string `json:"roles"`
} {
	login := apptest.Supervisor2
	if t == self && c.login != "" {
		login = c.login
	}
	u, err := e.s.App.Users.UserByLogin(e.s.System(), login)
	if err != nil {
		panic(err)
	}
	return &struct {
		Locale string   `json:"locale"`
		Roles  []string `json:"roles"`
	}{u.Locale, u.Roles}
}

func (e *matrixEnv) sameLocale(c *caller, t target) any {
	return map[string]string{"locale": e.user(c, t).Locale}
}

func (e *matrixEnv) sameGrants(c *caller, t target) any {
	return map[string][]string{"grants": e.user(c, t).Roles}
}

func (e *matrixEnv) samePassword(c *caller, t target) any {
	return map[string]string{"old_password": demo.Password, "new_password": demo.Password}
}

func (e *matrixEnv) newUser(c *caller, t target) any {
	return map[string]any{"login": fmt.Sprintf("matrix%d@example.org", e.next()), "name_en": "Matrix User", "grants": []string{"viewer"}}
}

func (e *matrixEnv) newToken(c *caller, t target) any {
	if t == others {
		return map[string]string{"user": apptest.Supervisor2, "name": "matrix"}
	}
	return map[string]string{"name": "matrix"}
}

func forgedToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return "sitroom_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func TestAuthorisationMatrix(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) { runMatrix(t, engine) })
	}
}

func runMatrix(t *testing.T, engine db.Dialect) {
	s := apptest.Start(t, engine)
	callers := matrixCallers()
	e := &matrixEnv{s: s, records: map[string]map[string]json.RawMessage{}, spare: map[string]string{}}
	for _, c := range callers {
		switch {
		case c.class == forged:
			c.cred = forgedToken()
		case c.login != "" && c.token:
			c.cred = s.Token(t, c.login, c.post)
		case c.login != "":
			c.client = s.Session(t, c.login)
		}
	}
	// A spare token of every user, for the revocation rows.
	for _, login := range []string{apptest.Admin, apptest.Supervisor, apptest.Officer, apptest.KZHead, apptest.KZOfficer,
		apptest.Planner, apptest.Press, apptest.Viewer, apptest.Auditor, apptest.Supervisor2} {
		_, tok, err := s.App.Users.CreateToken(s.System(), login, "", "spare")
		if err != nil {
			t.Fatal(err)
		}
		e.spare[login] = tok.ID
	}
	adminTok := s.Token(t, apptest.Admin, "")
	for kind, byScope := range refs {
		e.records[kind] = map[string]json.RawMessage{}
		for _, ref := range byScope {
			res, body := s.Do(t, "GET", "/api/v1/"+kind+"/"+ref, adminTok, nil)
			if res.StatusCode != 200 {
				t.Fatalf("GET %s/%s: %d %s", kind, ref, res.StatusCode, body)
			}
			e.records[kind][ref] = body
		}
	}
	s.Live(t)
	e.prepareNetwork(t)
	doc := documentChecker(t)

	covered := map[string]bool{}
	var table strings.Builder
	fmt.Fprintf(&table, "%-48s %-13s", "route", "target")
	for _, c := range callers {
		fmt.Fprintf(&table, " %.5s", strings.ReplaceAll(c.name, "_", ""))
	}
	table.WriteString("\n")
	cases, failures := 0, 0
	for _, r := range matrixRows() {
		if r.pattern != "" {
			covered[r.method+" "+r.pattern] = true
		} else {
			covered[r.method+" "+routePattern(r.path)] = true
		}
		targets := r.targets
		if targets == nil {
			targets = []target{none}
		}
		for _, tg := range targets {
			fmt.Fprintf(&table, "%-48s %-13s", r.method+" "+r.path, tg)
			for _, c := range callers {
				want := expect(r, c, tg)
				var body any
				if r.body != nil {
					body = r.body(e, c, tg)
				}
				path := strings.Replace(r.path, "{ref}", e.ref(c, r, tg), 1)
				req := s.NewRequest(t, r.method, path, body)
				if c.cred != "" {
					req.Header.Set("Authorization", "Bearer "+c.cred)
				}
				var res *http.Response
				var resBody []byte
				if r.stream && want == 200 {
					res = openHead(t, c.client, req)
				} else {
					res, resBody = s.Send(t, c.client, req)
				}
				cases++
				mark := ""
				if res.StatusCode != want {
					failures++
					mark = "!"
					t.Errorf("%s %s [%s] as %s: status %d, want %d: %.300s", r.method, path, tg, c.name, res.StatusCode, want, resBody)
				} else if want >= 400 {
					checkProblem(t, fmt.Sprintf("%s %s as %s", r.method, path, c.name), res, resBody, want, "")
				}
				if msg := doc.check(req, res, resBody); msg != "" {
					t.Errorf("%s %s as %s: answer does not match the OpenAPI document: %s", r.method, path, c.name, msg)
				}
				fmt.Fprintf(&table, " %4d%s", res.StatusCode, mark)
			}
			table.WriteString("\n")
		}
	}
	t.Logf("%d cases, %d wrong\n%s", cases, failures, table.String())

	// Every route is in the matrix.
	for _, rt := range api.Routes(api.Deps{Fake: s.Clock}) {
		if !covered[rt.String()] {
			t.Errorf("route %s is not in the authorisation matrix", rt)
		}
	}
	// And the test made the changes it expected: e.g. a refused archive
	// left the record active.
	for kind, byScope := range refs {
		for _, ref := range byScope {
			_, body := s.Do(t, "GET", "/api/v1/"+kind+"/"+ref, adminTok, nil)
			var rec struct {
				ActiveTo *string `json:"active_to"`
			}
			_ = json.Unmarshal(body, &rec)
			if rec.ActiveTo != nil {
				t.Errorf("%s %s is left archived", kind, ref)
			}
		}
	}
}

// routePattern turns a matrix path back into the route's pattern.
func routePattern(path string) string {
	if strings.HasSuffix(path, "/tokens{ref}") { // the list, with ?user= for someone else's
		return strings.TrimSuffix(path, "{ref}")
	}
	return strings.ReplaceAll(path, "{ref}", "{id}")
}
