package api_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/db"
	"sitroom/internal/httpx"
	"sitroom/internal/testutil"
)

// snapshot is every row of every table, as the logical dump writes them
// (the dump's header, which holds the time it was taken, is left out).
// Pending audit entries are sealed first, so the sealer cannot change a row
// between two snapshots.
func snapshot(t *testing.T, s *apptest.Server) []string {
	t.Helper()
	if _, err := s.App.Audit.SealPending(s.System()); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.App.DB.Dump(s.System(), &buf, db.BackupMeta{}); err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(gz)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("the dump holds %d lines", len(lines))
	}
	return lines[1:]
}

// sameStore reports the first difference between two snapshots.
func sameStore(t *testing.T, what string, before, after []string) {
	t.Helper()
	for i := 0; i < len(before) && i < len(after); i++ {
		if before[i] != after[i] {
			t.Errorf("%s changed the store:\n  before: %.300s\n  after:  %.300s", what, before[i], after[i])
			return
		}
	}
	if len(before) != len(after) {
		t.Errorf("%s changed the store: %d rows and markers before, %d after", what, len(before), len(after))
	}
}

func TestBadInputIsRefusedClearlyAndChangesNothing(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) { badInput(t, engine) })
	}
}

func badInput(t *testing.T, engine db.Dialect) {
	s := apptest.Start(t, engine)
	admin := s.Token(t, apptest.Admin, "")
	kzOfficer := s.Token(t, apptest.KZOfficer, "")
	kzHead := s.Token(t, apptest.KZHead, "")
	bound := s.Token(t, apptest.KZOfficer, "KZ-MOD-CP")
	plain, rec, err := s.App.Users.CreateToken(s.System(), apptest.Admin, "", "to revoke")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.App.Users.RevokeToken(s.System(), rec.ID); err != nil {
		t.Fatal(err)
	}
	cookie, _ := s.Login(t, apptest.Admin)
	// The readiness network: an open alert to a post with its officer on
	// duty (so nothing escalates while the snapshots are compared), the
	// loops that acknowledgements need, and a readiness check's time.
	s.Live(t)
	centre := s.Token(t, apptest.Officer, "")
	onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
	open := sendAlert(t, s, "Bad input", 3600, "KZ-MOD-CP")
	alertPath := "/api/v1/alerts/" + open.ID
	// Each token's first use notes the time it was used; do that now, so
	// that the snapshots compare only what the bad requests could change.
	for _, tok := range []string{admin, kzOfficer, kzHead, bound, centre} {
		if res, body := s.Do(t, "GET", "/api/v1/me", tok, nil); res.StatusCode != 200 {
			t.Fatalf("warm-up: %d %s", res.StatusCode, body)
		}
	}
	var post map[string]any
	_, body := s.Do(t, "GET", "/api/v1/posts/KZ-MOD-CP", admin, nil)
	if err := json.Unmarshal(body, &post); err != nil {
		t.Fatal(err)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range post {
			m[k] = v
		}
		m[k] = v
		return m
	}
	newPost := map[string]any{"code": "KZ-HEALTH-CP", "kind": "ministry", "state": "KZ", "ministry_kind": "health",
		"name_en": "Command post of the Ministry of Health", "name_ru": "Командный пункт Министерства здравоохранения"}
	withNew := func(k string, v any) map[string]any {
		m := map[string]any{}
		for k, v := range newPost {
			m[k] = v
		}
		m[k] = v
		return m
	}

	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		header       map[string]string
		status       int
		typ          string
		field        string // a field error the problem must name
	}{
		{name: "malformed JSON", method: "POST", path: "/api/v1/posts", token: admin,
			body: `{"code": "KZ-HEALTH-CP", "kind": `, status: 400, typ: "malformed-json"},
		{name: "JSON syntax error", method: "POST", path: "/api/v1/posts", token: admin,
			body: `{"code": KZ-HEALTH-CP}`, status: 400, typ: "malformed-json"},
		{name: "unknown field", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP", token: admin,
			body: with("nmae_en", "Renamed"), status: 400, typ: "unknown-field", field: "nmae_en"},
		{name: "value of the wrong type", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP", token: admin,
			body: with("name_en", 5), status: 400, typ: "malformed-json", field: "name_en"},
		{name: "two JSON values", method: "POST", path: "/api/v1/posts", token: admin,
			body: `{"code":"A1"}{"code":"A2"}`, status: 400, typ: "malformed-json"},
		{name: "empty body", method: "POST", path: "/api/v1/member-states", token: admin,
			body: "", header: map[string]string{"Content-Type": "application/json"}, status: 400, typ: "malformed-json"},
		{name: "wrong content type", method: "POST", path: "/api/v1/bodies", token: admin,
			body: "code=X&kind=council", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: 400, typ: "unsupported-media-type"},
		{name: "oversized body", method: "POST", path: "/api/v1/people", token: admin,
			body: map[string]any{"code": "p-big", "name_en": strings.Repeat("x", 100<<10), "name_ru": "x"}, status: 400, typ: "too-large"},
		{name: "a value that breaks a rule", method: "POST", path: "/api/v1/posts", token: admin,
			body: withNew("tz", "Mars/Olympus_Mons"), status: 422, typ: "invalid", field: "tz"},
		{name: "a duplicate code", method: "POST", path: "/api/v1/posts", token: admin,
			body: withNew("code", "KZ-MOD-CP"), status: 422, typ: "invalid", field: "code"},
		{name: "a code that would change", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP", token: admin,
			body: with("code", "KZ-MOD-CP2"), status: 422, typ: "invalid", field: "code"},
		{name: "an unknown status", method: "POST", path: "/api/v1/member-states/KZ/status", token: admin,
			body: map[string]string{"status": "dissolved", "valid_from": "2026-01-01"}, status: 422, typ: "invalid", field: "status"},
		{name: "a bad list limit", method: "GET", path: "/api/v1/posts?limit=501", token: admin,
			status: 400, typ: "invalid-parameter", field: "limit"},
		{name: "a bad boolean", method: "GET", path: "/api/v1/posts?include_archived=perhaps", token: admin,
			status: 400, typ: "invalid-parameter", field: "include_archived"},
		{name: "a cursor this server never gave", method: "GET", path: "/api/v1/people?cursor=bm9wZQ", token: admin,
			status: 400, typ: "invalid-cursor"},
		{name: "an unknown kind filter", method: "GET", path: "/api/v1/posts?kind=bunker", token: admin,
			status: 422, typ: "invalid", field: "kind"},
		{name: "a method the route does not have", method: "DELETE", path: "/api/v1/posts/KZ-MOD-CP", token: admin,
			status: 405, typ: "method-not-allowed"},
		{name: "a route that does not exist", method: "GET", path: "/api/v1/bunkers", token: admin,
			status: 404, typ: "no-such-route"},
		{name: "forged token", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP", token: forgedToken(),
			body: with("name_en", "Hijacked"), status: 401, typ: "unauthorized"},
		{name: "revoked token", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP", token: plain,
			body: with("name_en", "Hijacked"), status: 401, typ: "unauthorized"},
		{name: "not a bearer token", method: "POST", path: "/api/v1/posts/KZ-MOD-CP/archive",
			header: map[string]string{"Authorization": "Basic YWRtaW46YWRtaW4="}, status: 401, typ: "unauthorized"},
		{name: "no credentials", method: "POST", path: "/api/v1/posts/KZ-MOD-CP/archive", status: 401, typ: "unauthorized"},
		{name: "session without CSRF token", method: "POST", path: "/api/v1/posts/KZ-MOD-CP/archive",
			header: map[string]string{"Cookie": httpx.SessionCookie + "=" + cookie}, status: 403, typ: "csrf"},
		{name: "session with a request from another site", method: "POST", path: "/api/v1/posts/KZ-MOD-CP/archive",
			header: map[string]string{"Cookie": httpx.SessionCookie + "=" + cookie, "Sec-Fetch-Site": "cross-site"},
			status: 403, typ: "cross-origin"},
		{name: "cross-state: an officer edits another state's person", method: "PUT", path: "/api/v1/people/p-klimovich",
			token: kzOfficer, body: map[string]any{"code": "p-klimovich", "name_en": "X", "name_ru": "X", "state": "BY"},
			status: 404, typ: "not-found"},
		{name: "cross-state: an officer archives another state's post", method: "POST", path: "/api/v1/posts/BY-MES-CP/archive",
			token: kzOfficer, status: 403, typ: "admin-only"},
		{name: "cross-state: a post head suspends another state", method: "POST", path: "/api/v1/member-states/BY/status",
			token: kzHead, body: map[string]string{"status": "suspended", "valid_from": "2026-01-15"}, status: 403, typ: "admin-only"},
		{name: "cross-state: a post-bound token reads another state's person", method: "GET", path: "/api/v1/people/p-klimovich",
			token: bound, status: 404, typ: "not-found"},
		{name: "cross-state: an officer creates a user", method: "POST", path: "/api/v1/users", token: kzOfficer,
			body: map[string]any{"login": "mole@example.org", "name_en": "Mole", "grants": []string{"admin"}}, status: 403, typ: "admin-only"},
		{name: "an officer gives themselves the admin role", method: "PUT", path: "/api/v1/users/" + apptest.KZOfficer + "/grants",
			token: kzOfficer, body: map[string]any{"grants": []string{"admin"}}, status: 403, typ: "admin-only"},
		{name: "a test clock move that names both", method: "POST", path: "/api/v1/test/clock", token: admin,
			body: map[string]string{"advance": "90s", "set": "2026-02-01T00:00:00Z"}, status: 422, typ: "invalid", field: "advance"},
		{name: "a test clock move backwards by advance", method: "POST", path: "/api/v1/test/clock", token: admin,
			body: map[string]string{"advance": "-1h"}, status: 422, typ: "invalid", field: "advance"},

		// The readiness network.
		{name: "alert: malformed JSON", method: "POST", path: "/api/v1/alerts", token: centre,
			body: `{"title": "Flood", "targets": {"all": tru`, status: 400, typ: "malformed-json"},
		{name: "alert: unknown field", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"titel": "Flood", "ack_within_seconds": 300, "targets": map[string]any{"all": true}}, status: 400, typ: "unknown-field", field: "titel"},
		{name: "alert: a deadline of the wrong type", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": "Flood", "ack_within_seconds": "soon", "targets": map[string]any{"all": true}}, status: 400, typ: "malformed-json", field: "ack_within_seconds"},
		{name: "alert: targets of the wrong type", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": "Flood", "ack_within_seconds": 300, "targets": []string{"KZ"}}, status: 400, typ: "malformed-json", field: "targets"},
		{name: "alert: the server's check_id is not an input", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": "Flood", "ack_within_seconds": 300, "check_id": "x", "targets": map[string]any{"all": true}}, status: 400, typ: "unknown-field", field: "check_id"},
		{name: "alert: no title, a deadline too short", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": " ", "ack_within_seconds": 5, "targets": map[string]any{"all": true}}, status: 422, typ: "invalid", field: "ack_within_seconds"},
		{name: "alert: targets that reach no post", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": "Flood", "ack_within_seconds": 300, "targets": map[string]any{"states": []string{"ZZ"}}}, status: 422, typ: "no-recipients", field: "targets"},
		{name: "alert: an unknown post", method: "POST", path: "/api/v1/alerts", token: centre,
			body: map[string]any{"title": "Flood", "ack_within_seconds": 300, "targets": map[string]any{"posts": []string{"XX-NOWHERE"}}}, status: 422, typ: "invalid", field: "targets.posts"},
		{name: "ack: a client may not claim a channel", method: "POST", path: alertPath + "/ack", token: bound,
			body: map[string]any{"post_id": "KZ-MOD-CP", "channel": "email"}, status: 400, typ: "unknown-field", field: "channel"},
		{name: "ack: a post of the wrong type", method: "POST", path: alertPath + "/ack", token: bound,
			body: map[string]any{"post_id": 5}, status: 400, typ: "malformed-json", field: "post_id"},
		{name: "ack: no post", method: "POST", path: alertPath + "/ack", token: bound,
			body: map[string]any{}, status: 422, typ: "invalid", field: "post_id"},
		{name: "ack: an alert that does not exist", method: "POST", path: "/api/v1/alerts/01a2f000-0000-7000-8000-000000000000/ack", token: bound,
			body: map[string]any{"post_id": "KZ-MOD-CP"}, status: 404, typ: "not-found"},
		{name: "ack: a post the alert does not address", method: "POST", path: alertPath + "/ack", token: centre,
			body: map[string]any{"post_id": "KZ-MES-CP"}, status: 404, typ: "not-found"},
		{name: "receipt: a body where none belongs", method: "POST", path: "/api/v1/deliveries/" + open.Deliveries[0].ID + "/receipt", token: bound,
			body: map[string]any{"via": "email"}, status: 400, typ: "unknown-field", field: "via"},
		{name: "cancel: a comment of the wrong type", method: "POST", path: alertPath + "/cancel", token: centre,
			body: map[string]any{"comment": true}, status: 400, typ: "malformed-json", field: "comment"},
		{name: "alerts: an unknown state filter", method: "GET", path: "/api/v1/alerts?state=lost", token: centre,
			status: 400, typ: "invalid-parameter", field: "state"},
		{name: "heartbeat: posts of the wrong type", method: "POST", path: "/api/v1/heartbeat", token: kzOfficer,
			body: map[string]any{"posts": "KZ-MOD-CP"}, status: 400, typ: "malformed-json", field: "posts"},
		{name: "heartbeat: an unknown post", method: "POST", path: "/api/v1/heartbeat", token: kzOfficer,
			body: map[string]any{"posts": []string{"XX-NOWHERE"}}, status: 422, typ: "invalid", field: "posts"},
		{name: "board: too many alerts", method: "GET", path: "/api/v1/board?alerts=0", token: centre,
			status: 400, typ: "invalid-parameter", field: "alerts"},
		{name: "stream: a negative position", method: "GET", path: "/api/v1/stream?after=-1", token: centre,
			status: 400, typ: "invalid-parameter"},
		{name: "shift: a start that is no instant", method: "POST", path: "/api/v1/shifts", token: admin,
			body:   map[string]any{"post_id": "KZ-MOD-CP", "person_id": kzOfficerPerson, "slot": "deputy", "start": "tomorrow", "end": "2026-02-01T00:00:00Z"},
			status: 400, typ: "malformed-json"},
		{name: "shift: an unknown slot and a start in the past", method: "POST", path: "/api/v1/shifts", token: admin,
			body:   map[string]any{"post_id": "KZ-MOD-CP", "person_id": kzOfficerPerson, "slot": "captain", "start": "2025-01-01T00:00:00Z", "end": "2025-01-01T08:00:00Z"},
			status: 422, typ: "invalid", field: "slot"},
		{name: "shift: an unknown post", method: "POST", path: "/api/v1/shifts", token: admin,
			body:   map[string]any{"post_id": "XX-NOWHERE", "person_id": kzOfficerPerson, "slot": "deputy", "start": "2026-02-01T00:00:00Z", "end": "2026-02-01T08:00:00Z"},
			status: 422, typ: "invalid", field: "post_id"},
		{name: "gaps: too many days", method: "GET", path: "/api/v1/duty/gaps?days=500", token: admin,
			status: 400, typ: "invalid-parameter", field: "days"},
		{name: "roster: a period that is no instant", method: "GET", path: "/api/v1/posts/KZ-MOD-CP/roster?from=monday", token: admin,
			status: 400, typ: "invalid-parameter", field: "from"},
		{name: "escalation: an unknown field", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP/escalation", token: admin,
			body: map[string]any{"levels": []map[string]any{{"targets": []map[string]any{{"target": "primary"}}, "delay": 5}}}, status: 400, typ: "unknown-field", field: "delay"},
		{name: "escalation: an unknown target", method: "PUT", path: "/api/v1/posts/KZ-MOD-CP/escalation", token: admin,
			body: map[string]any{"levels": []map[string]any{{"targets": []map[string]any{{"target": "president"}}}}}, status: 422, typ: "invalid"},
		{name: "rotation: hand-overs of the wrong type", method: "POST", path: "/api/v1/rotations", token: admin,
			body:   map[string]any{"post_id": "KZ-MOD-CP", "name": "R", "slot": "deputy", "handovers": "09:00", "start_date": "2026-02-01", "team": []string{kzOfficerPerson}},
			status: 400, typ: "malformed-json", field: "handovers"},
		{name: "check: an unknown kind", method: "POST", path: "/api/v1/checks", token: centre,
			body: map[string]any{"title": "Check", "ack_within_seconds": 300, "kind": "sometime", "targets": map[string]any{"all": true}}, status: 422, typ: "invalid", field: "kind"},
		{name: "check: an instant that is no instant", method: "POST", path: "/api/v1/checks", token: centre,
			body: map[string]any{"title": "Check", "ack_within_seconds": 300, "kind": "at", "at": "noon", "targets": map[string]any{"all": true}}, status: 400, typ: "malformed-json"},
		{name: "trend: too many months", method: "GET", path: "/api/v1/readiness/trend?months=99", token: centre,
			status: 400, typ: "invalid-parameter", field: "months"},
		{name: "template: an unknown field", method: "POST", path: "/api/v1/alert-templates", token: centre,
			body: map[string]any{"code": "t1", "name_en": "T", "title": "T", "ack_within_seconds": 300, "colour": "red"}, status: 400, typ: "unknown-field", field: "colour"},
		{name: "template: a code with spaces", method: "POST", path: "/api/v1/alert-templates", token: centre,
			body: map[string]any{"code": "t 1", "name_en": "T", "title": "T", "ack_within_seconds": 300}, status: 422, typ: "invalid", field: "code"},
		{name: "webhook: a URL that is no URL", method: "POST", path: "/api/v1/webhooks", token: admin,
			body: map[string]any{"name": "national system", "url": "ftp//nowhere"}, status: 422, typ: "invalid", field: "url"},
		{name: "webhook: an overlap of the wrong type", method: "POST", path: "/api/v1/webhooks/x/rotate", token: admin,
			body: map[string]any{"overlap_seconds": "a day"}, status: 400, typ: "malformed-json", field: "overlap_seconds"},
		{name: "e-mail link: a forged token", method: "POST", path: "/api/v1/ack-links/forged.token", status: 401, typ: "link-invalid"},
		{name: "feed: a forged token", method: "GET", path: "/feeds/shifts/sdf_forged.ics", status: 404, typ: "not-found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := snapshot(t, s)
			now := s.Clock.Now()
			req := s.NewRequest(t, c.method, c.path, c.body)
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			res, body := s.Send(t, nil, req)
			p := checkProblem(t, c.name, res, body, c.status, c.typ)
			if c.field != "" {
				named := false
				for _, f := range p.Errors {
					named = named || f.Field == c.field
				}
				if !named {
					t.Errorf("the problem does not name field %q: %s", c.field, body)
				}
			}
			if c.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
			sameStore(t, c.name, before, snapshot(t, s))
			if !s.Clock.Now().Equal(now) {
				t.Errorf("the clock moved to %v", s.Clock.Now())
			}
		})
	}

	// The same store does change when asked properly: the snapshot is not
	// blind.
	before := snapshot(t, s)
	if res, body := s.Do(t, "POST", "/api/v1/posts", admin, newPost); res.StatusCode != 201 {
		t.Fatalf("valid create: %d %s", res.StatusCode, body)
	}
	if after := snapshot(t, s); len(after) == len(before) {
		t.Error("a valid create left the snapshot as it was")
	}
}
