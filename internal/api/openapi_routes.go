package api

import (
	"net/http"
	"reflect"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/audit"
	"sitroom/internal/board"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
	"sitroom/internal/notify"
	"sitroom/internal/readiness"
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

	documentNetwork(b)

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

// OnDutyPerson is how a person on duty is written (duty.OnDutyEntry
// marshals itself to this shape); it exists for the document.
type OnDutyPerson struct {
	PersonID string    `json:"person_id"`
	Name     duty.Name `json:"name"`
	Login    *string   `json:"login"` // the e-mail login of their user; null without one
	Slot     duty.Slot `json:"slot"`
	Start    time.Time `json:"start"` // the stretch during which they hold the slot
	End      time.Time `json:"end"`
}

// AckTime is how a time to acknowledge is written in readiness reports
// (readiness.Stat marshals itself to this shape).
type AckTime struct {
	Seconds *float64 `json:"seconds"` // null when over the deadline or nothing to measure
	Over    bool     `json:"over_deadline"`
	Text    string   `json:"text"` // "42s", "4m05s", "> deadline", "—"
}

// documentNetwork describes the readiness network's routes: alerts and
// their deliveries, templates, the event stream, presence, the situation
// board, duty rosters, readiness checks and the off-line channels.
func documentNetwork(b *docBuilder) {
	s := b.s
	const (
		get, post, put, del = "GET", "POST", "PUT", "DELETE"
		p                   = Prefix
	)
	s.replace[reflect.TypeOf(duty.OnDutyEntry{})] = reflect.TypeOf(OnDutyPerson{})
	s.replace[reflect.TypeOf(readiness.Stat{})] = reflect.TypeOf(AckTime{})
	text := &schema{Type: "string"}
	alertID := "the alert's id"

	// Alerts.
	b.add(get, p+"/alerts", op{id: "listAlerts", tag: "alerts", status: 200, query: []string{"alert_state", "exercise", "limit", "cursor"},
		resp: s.list(alert.Alert{}), summary: "Alerts the caller may see, newest first, with counts of their deliveries by state",
		desc: "Centre roles and administrators see every alert; a post's people the alerts addressing their posts (the counts " +
			"then cover only their posts' deliveries); other roles see none. Items carry no deliveries: GET one alert for them."})
	b.add(post, p+"/alerts", op{id: "sendAlert", tag: "alerts", status: 201, location: true, body: s.input(alert.NewAlert{}),
		resp: s.ref(AlertDetail{}), fails: []int{403, 422}, summary: "Send an alert (centre roles)",
		desc: "Targets are `{\"all\": true}` or any of `states`, `ministry_kinds`, `posts` (codes or ids), resolved once, now, " +
			"to (states ∩ ministry kinds) ∪ posts: active posts of active member states, the sending post excluded. " +
			"No post reached is 422 (`no-recipients`). The alert, one delivery per post (with who is on duty there), " +
			"their timers and the `alert.created` event are committed in one transaction before the answer. A sent alert " +
			"is never edited: a correction is a new alert with `corrects`."})
	b.add(post, p+"/alerts/preview", op{id: "previewAlert", tag: "alerts", status: 200, body: s.input(PreviewRequest{}),
		resp: s.ref(alert.Preview{}), fails: []int{403},
		summary: "Who the targets would reach now, who is excluded and why, and which posts have nobody on duty (centre roles)",
		desc:    "Sends nothing. A post with nobody on duty starts at escalation level 1 at once when the alert is sent."})
	b.add(get, p+"/alerts/{id}", op{id: "getAlert", tag: "alerts", status: 200, pathDesc: alertID, resp: s.ref(AlertDetail{}),
		fails: []int{404}, summary: "An alert with the deliveries the caller may see and their timelines"})
	b.add(post, p+"/alerts/{id}/ack", op{id: "acknowledgeAlert", tag: "alerts", status: 200, pathDesc: alertID,
		body: s.input(AckRequest{}), resp: s.ref(alert.Ack{}), fails: []int{403, 404, 409, 422},
		summary: "Acknowledge an alert for a post",
		desc: "Only a person on duty at the post (either slot), a person this delivery's escalation reached, or an API token " +
			"bound to the post may acknowledge; anyone else — administrators and centre officers too — gets 403 " +
			"`not-on-duty` and nothing changes (the centre records a phone confirmation instead). Accepted while the alert is " +
			"open, also after the deadline or escalation (then `late`); it stops escalation. A repeat answers 200 with the " +
			"first acknowledgement and `repeated: true`, writing nothing. On a cancelled or closed alert: 409."})
	b.add(post, p+"/alerts/{id}/receipt", op{id: "alertReceipt", tag: "alerts", status: 200, pathDesc: alertID,
		body: s.input(AckRequest{}), resp: s.ref(alert.Delivery{}), fails: []int{403, 404, 422},
		summary: "Confirm that a terminal of the post has shown the alert (delivered)",
		desc: "Sent by a post's screen after it has shown the alert. Only those who may acknowledge for the post may confirm " +
			"receipt (403 `not-on-duty` otherwise): centre screens never mark deliveries. A repeat changes nothing."})
	b.add(post, p+"/alerts/{id}/phone", op{id: "confirmByPhone", tag: "alerts", status: 200, pathDesc: alertID,
		body: s.input(PhoneRequest{}), resp: s.ref(alert.Delivery{}), fails: []int{403, 404, 409, 422},
		summary: "Record that the centre reached the post by phone (centre roles)",
		desc:    "Stops escalation; reported apart from acknowledgements (it is not one). The note says whom the centre spoke to."})
	b.add(post, p+"/alerts/{id}/cancel", op{id: "cancelAlert", tag: "alerts", status: 200, pathDesc: alertID,
		body: s.input(EndRequest{}), resp: s.ref(alert.Alert{}), fails: []int{403, 404, 409},
		summary: "Cancel an open alert (centre roles)",
		desc: "Every pending timer stops in the same transaction; unacknowledged deliveries become cancelled; the " +
			"cancellation reaches every addressed post on the channels that carried the alert. Later acknowledgements: 409."})
	b.add(post, p+"/alerts/{id}/close", op{id: "closeAlert", tag: "alerts", status: 200, pathDesc: alertID,
		body: s.input(EndRequest{}), resp: s.ref(alert.Alert{}), fails: []int{403, 404, 409, 422},
		summary: "Close an open alert with a comment (centre roles)",
		desc:    "Timers stop; deliveries keep their state, so a silent post stays visible as such. The comment is required."})
	b.add(get, p+"/alerts/{id}/messages", op{id: "listAlertMessages", tag: "off-line channels", status: 200, pathDesc: alertID,
		resp: s.list(notify.Message{}), fails: []int{403},
		summary: "Every e-mail and webhook call about an alert, with its state (centre roles and administrators; one page)"})
	b.add(get, p+"/deliveries/{id}", op{id: "getDelivery", tag: "alerts", status: 200, pathDesc: "the delivery's id",
		resp: s.ref(alert.Delivery{}), fails: []int{404}, summary: "One delivery with its timeline",
		desc: "Visible as its alert: to centre roles and administrators, and to the people of its post."})
	b.add(post, p+"/deliveries/{id}/receipt", op{id: "deliveryReceipt", tag: "alerts", status: 200, pathDesc: "the delivery's id",
		resp: s.ref(alert.Delivery{}), fails: []int{400, 403, 404},
		summary: "Confirm that a terminal of the delivery's post has shown its alert",
		desc:    "As POST /api/v1/alerts/{id}/receipt, addressed by delivery id (what delivery.updated events carry). No body."})

	// Templates.
	tplDesc := "the template's id or code"
	b.add(get, p+"/alert-templates", op{id: "listAlertTemplates", tag: "alert templates", status: 200,
		resp: s.list(alert.Template{}), fails: []int{403},
		summary: "Templates for recurring messages, by code (centre roles and administrators; one page)"})
	b.add(post, p+"/alert-templates", op{id: "createAlertTemplate", tag: "alert templates", status: 201, location: true,
		body: s.input(alert.TemplateInput{}), resp: s.ref(alert.Template{}), fails: []int{403, 409, 422},
		summary: "Create a template (centre roles)", desc: "A code in use is 409 `duplicate-code`. Targets may be left empty."})
	b.add(get, p+"/alert-templates/{id}", op{id: "getAlertTemplate", tag: "alert templates", status: 200, pathDesc: tplDesc,
		resp: s.ref(alert.Template{}), fails: []int{403, 404}, summary: "A template"})
	b.add(put, p+"/alert-templates/{id}", op{id: "updateAlertTemplate", tag: "alert templates", status: 200, pathDesc: tplDesc,
		body: s.input(alert.TemplateInput{}), resp: s.ref(alert.Template{}), fails: []int{403, 404, 422},
		summary: "Replace a template's content (centre roles)", desc: "The code never changes. Alerts sent from it are untouched."})
	b.add(del, p+"/alert-templates/{id}", op{id: "deleteAlertTemplate", tag: "alert templates", status: 204, pathDesc: tplDesc,
		fails: []int{403, 404}, summary: "Delete a template (centre roles)"})

	// The stream.
	b.add(get, p+"/stream", op{id: "stream", tag: "stream", status: 200, query: []string{"after", "last_event_id"},
		ctype: "text/event-stream", resp: text, fails: []int{}, headers: map[string]string{"Cache-Control": "no-store"},
		summary: "Server-Sent Events: every change the caller may see, live, nothing lost",
		desc: "Each event is `id:` (the outbox position, an integer), `event:` (its type) and `data:` (JSON of a few KiB; an " +
			"alert event carries the alert without its deliveries). Types: `" + strings.Join(EventTypes, "`, `") + "`. " +
			"`resync` means the position asked for is older than the outbox keeps (30 days by default) or unknown: reload " +
			"and continue from its id. Each user receives exactly what their roles and scopes may see: `delivery.updated` " +
			"and `post.status` only centre roles and that post's people; alert events the centre and the addressed posts' " +
			"people; `check.*` centre roles only. Reconnecting with `Last-Event-ID` (or `?after=N`, e.g. the " +
			"Sitroom-Stream-Position of a page or GET) replays exactly what was missed, in order, once, then goes live. " +
			"A comment line every 15 s keeps the connection alive. One stream per browser is enough (share it between tabs)."})

	// Presence and the board.
	b.add(post, p+"/heartbeat", op{id: "heartbeat", tag: "board", status: 200, body: s.input(HeartbeatRequest{}), optionalBody: true,
		resp: s.ref(Heartbeat{}), fails: []int{403, 422},
		summary: "Mark this terminal connected for the posts its user acts for (every 15 s)",
		desc: "A post is connected while a heartbeat of it is younger than 45 s. Only a terminal that could answer for the post " +
			"marks it: an API token bound to it, a person on duty there, or a holder of a grant scoped to that post. A centre " +
			"screen never marks a post connected. Without `posts`, every post the caller acts for now. Posts named but not " +
			"marked are listed in `ignored` with the reason. The answer carries the server's time and the stream position."})
	b.add(get, p+"/board", op{id: "getBoard", tag: "board", status: 200, query: []string{"board_alerts"},
		resp: s.ref(board.Board{}), fails: []int{403},
		summary: "The situation board: every post, who is on duty, connected or not, and its state in the latest open alerts",
		desc: "Centre roles and administrators see every active post; a post's people their own posts (of their post and " +
			"state grants); others 403. Local times are in each post's zone. `connected` is as of `at`; a screen re-evaluates " +
			"`last_seen_at` against `connected_window_seconds` between reads."})

	// Duty rosters.
	postDesc := "the post's id or code"
	b.add(get, p+"/duty/now", op{id: "dutyNow", tag: "duty", status: 200, query: []string{"at"}, resp: s.ref(duty.DutyNow{}),
		summary: "Who is on duty now at every post the caller may see, in each post's local time and UTC",
		desc: "Centre posts first, then by code; overrides applied. `login` is the e-mail of the person's user, or null. " +
			"Post names are public; the people of a member state's posts are shown to those who may see that state."})
	b.add(get, p+"/duty/gaps", op{id: "dutyGaps", tag: "duty", status: 200, query: []string{"days", "post", "period_from"},
		resp: s.list(duty.PostGaps{}), fails: []int{404, 422},
		summary: "Every interval in the next N days in which a post has nobody on duty (posts without gaps are left out)"})
	b.add(get, p+"/posts/{id}/roster", op{id: "getRoster", tag: "duty", status: 200, pathDesc: postDesc,
		query: []string{"roster_from", "roster_to"}, resp: s.ref(duty.Roster{}), fails: []int{404, 422},
		summary: "A post's shifts over a period (at most 100 days): the stored rows and who holds each slot when",
		desc:    "Default period: from a day ago to two weeks later."})
	b.add(get, p+"/people/{id}/shifts", op{id: "listPersonShifts", tag: "duty", status: 200, pathDesc: "the person's id or code",
		query: []string{"roster_from", "roster_to"}, resp: s.list(duty.Segment{}), fails: []int{404, 422},
		summary: "The stretches a person is on duty over a period, at the posts the caller may see (one page)"})
	b.add(get, p+"/me/shifts", op{id: "listMyShifts", tag: "duty", status: 200, query: []string{"roster_from", "roster_to"},
		resp: s.list(duty.Segment{}), fails: []int{404, 422}, summary: "The caller's own stretches on duty over a period (one page)"})
	shiftDesc := "the shift's id"
	b.add(post, p+"/shifts", op{id: "createShift", tag: "duty", status: 201, location: true, body: s.input(duty.ShiftInput{}),
		resp: s.ref(duty.Shift{}), fails: []int{403, 404, 409, 422},
		summary: "Add a manual shift (administrators, centre supervisors, the post's head)",
		desc: "post_id and person_id take ids or codes. A shift may not start in the past (the past is never rewritten) nor " +
			"overlap another manual shift of the same slot; it beats rotation rows where they overlap."})
	b.add(post, p+"/shifts/swap", op{id: "swapShifts", tag: "duty", status: 201, location: true, body: s.input(SwapRequest{}),
		resp: s.ref(Shifts{}), fails: []int{403, 404, 409, 422},
		summary: "Two people exchange two shifts of one post that have not started (two override rows)"})
	b.add(get, p+"/shifts/{id}", op{id: "getShift", tag: "duty", status: 200, pathDesc: shiftDesc, resp: s.ref(duty.Shift{}),
		fails: []int{404}, summary: "One stored shift row"})
	b.add(put, p+"/shifts/{id}", op{id: "updateShift", tag: "duty", status: 200, pathDesc: shiftDesc, body: s.input(duty.ShiftInput{}),
		resp: s.ref(duty.Shift{}), fails: []int{403, 404, 409, 422},
		summary: "Change a manual shift that has not started", desc: "Rotation rows change with their rotation; a started shift: 409."})
	b.add(del, p+"/shifts/{id}", op{id: "deleteShift", tag: "duty", status: 204, pathDesc: shiftDesc, fails: []int{403, 404, 409},
		summary: "Remove a manual shift or an override (both halves of a swap) that has not started"})
	b.add(post, p+"/shifts/{id}/cover", op{id: "coverShift", tag: "duty", status: 201, location: true, pathDesc: shiftDesc,
		body: s.input(CoverRequest{}), resp: s.ref(duty.Shift{}), fails: []int{403, 404, 409, 422},
		summary: "Someone takes over all or part of a shift (an override row)",
		desc:    "start defaults to the shift's start (or now once it has started), end to its end; a cover may not start in the past."})
	b.add(post, p+"/shifts/{id}/end-early", op{id: "endShiftEarly", tag: "duty", status: 201, location: true, pathDesc: shiftDesc,
		body: s.input(EndEarlyRequest{}), resp: s.ref(duty.Shift{}), fails: []int{403, 404, 409, 422},
		summary: "End a shift early: person_id takes the rest of it from `at` (default now)",
		desc:    "The shift itself is never rewritten: the rest becomes a cover by person_id."})
	rotDesc := "the rotation's id"
	b.add(get, p+"/rotations", op{id: "listRotations", tag: "duty", status: 200, query: []string{"post_required"},
		resp: s.list(duty.Rotation{}), fails: []int{404}, summary: "A post's rotations, live ones first (one page)"})
	b.add(post, p+"/rotations", op{id: "createRotation", tag: "duty", status: 201, location: true, body: s.input(duty.RotationInput{}),
		resp: s.ref(duty.Rotation{}), fails: []int{403, 404, 409, 422},
		summary: "Create a rotation, which generates its shifts for the rolling horizon (roster editors)",
		desc:    "handovers are local wall times HH:MM in tz (default the post's zone); team lists people (ids or codes) in turn order."})
	b.add(get, p+"/rotations/{id}", op{id: "getRotation", tag: "duty", status: 200, pathDesc: rotDesc, resp: s.ref(duty.Rotation{}),
		fails: []int{404}, summary: "A rotation"})
	b.add(put, p+"/rotations/{id}", op{id: "updateRotation", tag: "duty", status: 200, pathDesc: rotDesc,
		body: s.input(duty.RotationInput{}), resp: s.ref(duty.Rotation{}), fails: []int{403, 404, 409, 422},
		summary: "Change a rotation: only shifts starting after the next hand-over are regenerated"})
	b.add(post, p+"/rotations/{id}/archive", op{id: "archiveRotation", tag: "duty", status: 200, pathDesc: rotDesc,
		resp: s.ref(duty.Rotation{}), fails: []int{403, 404, 409},
		summary: "Stop a rotation: its shifts from the next hand-over on are removed; the one in progress runs to its end"})
	b.add(get, p+"/posts/{id}/handover-notes", op{id: "listHandoverNotes", tag: "duty", status: 200, pathDesc: postDesc,
		query: []string{"since"}, resp: s.list(duty.HandoverNote{}), fails: []int{404},
		summary: "A post's handover notes since an instant (default a week ago), oldest first, with the caller's read mark"})
	b.add(get, p+"/posts/{id}/handover-notes/for-me", op{id: "listMyHandoverNotes", tag: "duty", status: 200, pathDesc: postDesc,
		resp: s.ref(HandoverForMe{}), fails: []int{404},
		summary: "The notes the incoming officer should read: those left since the end of their previous shift at the post"})
	b.add(post, p+"/posts/{id}/handover-notes", op{id: "writeHandoverNote", tag: "duty", status: 201, location: true,
		pathDesc: postDesc, body: s.input(HandoverRequest{}), resp: s.ref(duty.HandoverNote{}), fails: []int{403, 404, 422},
		summary: "Leave a note for the next shift (the officer on duty there, or the roster's editors)"})
	b.add(post, p+"/handover-notes/{id}/read", op{id: "markHandoverNoteRead", tag: "duty", status: 204, pathDesc: "the note's id",
		fails: []int{400, 403, 404}, summary: "Mark a handover note read by the caller (again: no change)"})
	b.add(get, p+"/posts/{id}/escalation", op{id: "getEscalationPath", tag: "duty", status: 200, pathDesc: postDesc,
		resp: s.ref(duty.EscalationPath{}), fails: []int{404},
		summary: "A post's escalation path (the default one when it has none of its own)",
		desc: "Level 0 is notified at once, level 1 at the alert's deadline, each later level delay_seconds after the one " +
			"before; after the last level the delivery is missed."})
	b.add(put, p+"/posts/{id}/escalation", op{id: "setEscalationPath", tag: "duty", status: 200, pathDesc: postDesc,
		body: s.input(EscalationRequest{}), resp: s.ref(duty.EscalationPath{}), fails: []int{403, 404, 409, 422},
		summary: "Replace a post's escalation path (roster editors); an empty list restores the default",
		desc: "Targets: primary, deputy, head, person (with person_id, an id or code), centre_officer. Levels are numbered " +
			"by their order; levels 0 and 1 take no delay, each later one 1 s to 7 days."})
	b.add(get, p+"/me/feeds", op{id: "listMyFeeds", tag: "duty", status: 200, resp: s.list(duty.FeedToken{}), fails: []int{403, 404},
		summary: "The caller's calendar feed tokens, newest first, revoked ones included (one page)"})
	b.add(post, p+"/me/feeds", op{id: "createMyFeed", tag: "duty", status: 201, location: true, resp: s.ref(FeedCreated{}),
		fails: []int{400, 403, 404}, summary: "Create an iCalendar feed of the caller's shifts",
		desc: "The token and the feed's path (" + FeedPath + "<token>.ics, under the server's address) are shown this once; " +
			"only a hash is kept. Subscribe a calendar client to it. No body."})
	b.add(del, p+"/me/feeds/{id}", op{id: "revokeMyFeed", tag: "duty", status: 204, pathDesc: "the feed token's id",
		fails: []int{403, 404}, summary: "Revoke one of the caller's feed tokens for good (again: no change)"})
	b.add(get, FeedPath+"{file}", op{id: "shiftFeed", tag: "duty", status: 200, public: true,
		pathDesc: "<token>.ics, the token from POST /api/v1/me/feeds", ctype: "text/calendar; charset=utf-8", resp: text,
		headers: map[string]string{"Content-Disposition": "inline; filename=\"shifts.ics\"", "Cache-Control": "private, max-age=300"},
		fails:   []int{404}, summary: "The iCalendar (RFC 5545) feed of a person's shifts, for calendar clients",
		desc: "From 30 days ago to the rotation horizon, overrides applied; UIDs are stable across fetches. The token in the " +
			"URL is the credential; an unknown or revoked one is 404."})

	// Readiness checks.
	checkDesc := "the check's id"
	b.add(get, p+"/checks", op{id: "listChecks", tag: "readiness", status: 200, query: []string{"check_state", "series", "limit", "cursor"},
		resp:    s.list(readiness.Check{}),
		summary: "Readiness checks the caller may see, newest first",
		desc: "Centre roles see every check; a check that has not fired does not exist for anyone else (its minute is " +
			"secret); a fired check is visible as its alert."})
	b.add(post, p+"/checks", op{id: "createCheck", tag: "readiness", status: 201, location: true, body: s.input(readiness.NewCheck{}),
		resp: s.ref(readiness.Check{}), fails: []int{403, 422}, summary: "Create a readiness check (centre roles)",
		desc: "kind `now` sends the exercise alert at once; `at` at an instant; `surprise` at a minute drawn once, now, within " +
			"[window_from, window_to); `recurring` by a rule (weekdays or month days, a local window, a zone), keeping its " +
			"next occurrence materialised. A check is always an exercise."})
	b.add(get, p+"/checks/{id}", op{id: "getCheck", tag: "readiness", status: 200, pathDesc: checkDesc,
		resp: s.ref(readiness.Check{}), fails: []int{404}, summary: "A readiness check"})
	b.add(put, p+"/checks/{id}", op{id: "updateCheck", tag: "readiness", status: 200, pathDesc: checkDesc,
		body: s.input(readiness.CheckEdit{}), resp: s.ref(readiness.Check{}), fails: []int{403, 404, 409, 422},
		summary: "Change the content of a check that has not fired (centre roles); its time never changes"})
	b.add(post, p+"/checks/{id}/cancel", op{id: "cancelCheck", tag: "readiness", status: 200, pathDesc: checkDesc,
		body: s.input(EndRequest{}), resp: s.ref(readiness.Check{}), fails: []int{403, 404, 409},
		summary: "Cancel a scheduled check (centre roles); an occurrence of a series is skipped",
		desc:    "A check that has fired cannot be cancelled (409): cancel its alert instead."})
	b.add(get, p+"/checks/{id}/report", op{id: "getCheckReport", tag: "readiness", status: 200, pathDesc: checkDesc,
		query: []string{"previous", "same_series"}, resp: s.ref(readiness.Report{}), fails: []int{404, 409},
		summary: "The report of a fired check: each post's time to acknowledge, median and 90th percentile, comparison",
		desc: "Misses count as infinite (\"> deadline\"); acknowledgements after escalation and phone confirmations are " +
			"labelled apart. Centre roles and administrators read every row; a head of post the rows of their posts, with " +
			"the network-wide figures. A check that has not fired yet: 409 for centre roles."})
	b.add(get, p+"/checks/{id}/report.csv", op{id: "getCheckReportCSV", tag: "readiness", status: 200, pathDesc: checkDesc,
		query: []string{"previous", "same_series"}, ctype: "text/csv; charset=utf-8", resp: text, fails: []int{404, 409},
		headers: map[string]string{"Content-Disposition": "attachment; filename=\"readiness-<sent>-<check>.csv\""},
		summary: "The report as CSV (RFC 4180, UTF-8 with a byte-order mark, one row per post in rank order)"})
	seriesDesc := "the recurring check's id"
	b.add(get, p+"/check-series", op{id: "listCheckSeries", tag: "readiness", status: 200, query: []string{"series_active"},
		resp: s.list(readiness.Series{}), summary: "Recurring checks with their next occurrence (centre roles; others get none; one page)"})
	b.add(get, p+"/check-series/{id}", op{id: "getCheckSeries", tag: "readiness", status: 200, pathDesc: seriesDesc,
		resp: s.ref(readiness.Series{}), fails: []int{404}, summary: "A recurring check (centre roles)"})
	b.add(post, p+"/check-series/{id}/cancel", op{id: "cancelCheckSeries", tag: "readiness", status: 200, pathDesc: seriesDesc,
		body: s.input(EndRequest{}), resp: s.ref(readiness.Series{}), fails: []int{403, 404, 409},
		summary: "End a recurring check: no further occurrence; the pending one is cancelled (centre roles)"})
	b.add(get, p+"/readiness/trend", op{id: "getReadinessTrend", tag: "readiness", status: 200,
		query: []string{"months", "trend_post", "until", "tz"}, resp: s.ref(readiness.Trend{}), fails: []int{403, 404, 422},
		summary: "Monthly median time to acknowledge per post (centre roles, administrators, heads of posts for their posts)"})
	b.add(get, p+"/readiness/trend.svg", op{id: "getReadinessTrendSVG", tag: "readiness", status: 200,
		query: []string{"months", "trend_post", "until", "tz", "lang"}, ctype: "image/svg+xml", resp: text, fails: []int{403, 404, 422},
		headers: map[string]string{"Cache-Control": "private"},
		summary: "The trend as an SVG chart, rendered on the server, with its title and description in English or Russian"})

	// Off-line channels.
	hookDesc := "the webhook's id"
	b.add(get, p+"/webhooks", op{id: "listWebhooks", tag: "off-line channels", status: 200, resp: s.list(notify.Webhook{}),
		fails: []int{403}, summary: "The webhooks the caller manages (administrators, centre supervisors, heads of post; one page)"})
	b.add(post, p+"/webhooks", op{id: "createWebhook", tag: "off-line channels", status: 201, location: true,
		body: s.input(notify.NewWebhook{}), resp: s.ref(WebhookCreated{}), fails: []int{403, 422},
		summary: "Subscribe a URL to events; the secret is in the answer this once",
		desc: "Each call is JSON signed with `Sitroom-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, t + \".\" + body)>` and " +
			"carries `Sitroom-Event-Id`, the same on every retry; failures are retried from a durable queue, backing off from " +
			"1 s doubling up to 1 h, and listed as dead letters after 24 h. Bound to a post (post_id), it receives only the " +
			"events that concern that post. A head of post manages the webhooks of their own post only."})
	b.add(get, p+"/webhooks/{id}", op{id: "getWebhook", tag: "off-line channels", status: 200, pathDesc: hookDesc,
		resp: s.ref(notify.Webhook{}), fails: []int{404}, summary: "A webhook the caller manages"})
	b.add(post, p+"/webhooks/{id}/rotate", op{id: "rotateWebhookSecret", tag: "off-line channels", status: 200, pathDesc: hookDesc,
		body: s.input(RotateRequest{}), optionalBody: true, resp: s.ref(WebhookCreated{}), fails: []int{404, 409, 422},
		summary: "Give a webhook a new secret, shown this once; the previous one stays valid for the overlap",
		desc:    "During the overlap every call carries both signatures. overlap_seconds 0 stops the old secret at once (a leak)."})
	b.add(post, p+"/webhooks/{id}/disable", op{id: "disableWebhook", tag: "off-line channels", status: 200, pathDesc: hookDesc,
		resp: s.ref(notify.Webhook{}), fails: []int{400, 404},
		summary: "Stop a webhook; what is still queued for it becomes dead (no body)"})
	b.add(get, p+"/dead-letters", op{id: "listDeadLetters", tag: "off-line channels", status: 200,
		query: []string{"dead_kind", "limit", "cursor"}, resp: s.list(notify.Message{}), fails: []int{403, 422},
		summary: "E-mails and webhook calls given up after failing for 24 h, newest first (centre roles and administrators)"})
	b.add(post, p+"/dead-letters/{id}/retry", op{id: "retryDeadLetter", tag: "off-line channels", status: 200,
		pathDesc: "the message's id", resp: s.ref(notify.Message{}), fails: []int{400, 403, 404, 409},
		summary: "Give a dead message a fresh start (due now, another 24 h of retries, the same id) (no body)"})
	linkDesc := "the signed token from the e-mail's link"
	b.add(get, p+"/ack-links/{token}", op{id: "getAckLink", tag: "off-line channels", status: 200, public: true, pathDesc: linkDesc,
		resp: s.ref(notify.LinkInfo{}), fails: []int{403},
		summary: "What an e-mail acknowledgement link is about; changes nothing",
		desc: "Mail gateways open every link, so a GET never acknowledges. An invalid link is 401 `link-invalid`, an " +
			"expired one 403 `link-expired`."})
	b.add(post, p+"/ack-links/{token}", op{id: "acknowledgeByLink", tag: "off-line channels", status: 200, public: true,
		pathDesc: linkDesc, resp: s.ref(alert.Ack{}), fails: []int{400, 403, 404, 409},
		summary: "Acknowledge through an e-mail link, in the name of the person it was sent to (channel email)",
		desc: "The rules of POST /api/v1/alerts/{id}/ack apply to that person: 403 `not-on-duty` if they may not " +
			"acknowledge for the post any more, 409 on a cancelled or closed alert, a repeat answers the first. No body."})
}
