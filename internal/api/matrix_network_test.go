package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apptest"
	"sitroom/internal/duty"
	"sitroom/internal/notify"
	"sitroom/internal/readiness"
)

// The readiness network's part of the authorisation matrix. The rules, as
// the product states them:
//
//   - alerts and deliveries are visible to centre roles and administrators,
//     and to the people of the posts an alert addresses (post and state
//     grants); to anyone else they do not exist (404);
//   - only centre roles send, preview, cancel and close alerts and record
//     phone confirmations; only someone on duty at the post (or a token
//     bound to it) acknowledges or confirms receipt — administrators and
//     the centre get 403 not-on-duty;
//   - templates are the centre's (administrators read them);
//   - rosters are visible to whoever may see the post's member state, and
//     changed by administrators, centre supervisors and the post's head;
//     the officer on duty also writes handover notes;
//   - checks before they fire exist for centre roles only; fired checks are
//     visible as their alerts; reports for the centre, administrators and
//     the heads of the posts in them; trends for the same;
//   - webhooks are managed by administrators, centre supervisors and, for
//     their own post, heads of post; the notification queue is for centre
//     roles and administrators;
//   - the stream, heartbeats, "who is on duty now" and one's own feeds and
//     shifts are for everyone signed in; the board for the centre,
//     administrators and the posts' people; a feed or an e-mail link is its
//     own credential (public).

// unfired is a readiness check that has not fired yet.
const unfired target = "unfired"

// The posts of the scopes.
var scopePost = map[target]string{inKZ: "KZ-MOD-CP", inBY: "BY-MES-CP", inOrg: "CRC-DESK"}

// networkEnv holds the records the rows touch.
type networkEnv struct {
	alerts     map[target]string // open alerts to the scope's post
	deliveries map[target]string // their deliveries
	shifts     map[target]duty.Shift
	swapB      map[target]string // a second shift of the post, to swap with
	notes      map[target]string
	checks     map[target]string // fired (inKZ, inBY) and unfired
	series     string
	webhooks   map[target]string // inKZ: bound to KZ-MOD-CP; inOrg: unbound
	message    string            // a queued webhook call
	feed       string            // a feed token
	ackLink    string            // an e-mail link for the KZ officer's delivery
	template   string
}

func (c *caller) is(login string) bool { return c.login == login && c.signedIn() }

// supervisor: a centre supervisor (roster edits, webhooks).
func (c *caller) supervisor() bool { return c.is(apptest.Supervisor) }

// headKZ: the head of KZ-MOD-CP (not on duty).
func (c *caller) headKZ() bool { return c.is(apptest.KZHead) }

// mayAckKZ: on duty at KZ-MOD-CP as a person (a session), or a token
// bound to it.
func (c *caller) mayAckKZ() bool {
	return c.is(apptest.KZOfficer) && (!c.token || c.post == "KZ-MOD-CP")
}

// seesAlert: the alert to the target's post is visible.
func (c *caller) seesAlert(t target) bool {
	switch c.class {
	case admin, centre:
		return true
	case kz:
		return t == inKZ
	}
	return false
}

func (c *caller) centre() bool { return c.class == centre }

// rosterEditor: may change the roster of the target's post.
func (c *caller) rosterEditor(t target) bool {
	return c.class == admin || c.supervisor() || (c.headKZ() && t == inKZ)
}

func alertRead(c *caller, t target) int {
	if c.seesAlert(t) {
		return 200
	}
	return 404
}

func centreOnly(ok int) rule {
	return func(c *caller, t target) int {
		if c.centre() {
			return ok
		}
		return 403
	}
}

func operators(ok int) rule {
	return func(c *caller, t target) int {
		if c.centre() || c.class == admin {
			return ok
		}
		return 403
	}
}

// acknowledges: only those who may answer for the post; others who see
// the alert get 403 not-on-duty.
func acknowledges(c *caller, t target) int {
	switch {
	case !c.seesAlert(t):
		return 404
	case t == inKZ && c.mayAckKZ():
		return 200
	}
	return 403
}

// phonesPost: the centre records phone confirmations; those who cannot see
// the alert learn nothing of it (404), others who can see it get 403.
func phonesPost(c *caller, t target) int {
	switch {
	case !c.seesAlert(t):
		return 404
	case c.centre():
		return 200
	}
	return 403
}

// endsAlert: the centre cancels and closes alerts it can see (all).
func endsAlert(c *caller, t target) int {
	switch {
	case !c.seesAlert(t):
		return 404
	case c.centre():
		return 200
	}
	return 403
}

func boardRule(c *caller, _ target) int {
	if c.class == admin || c.centre() || c.class == kz {
		return 200
	}
	return 403
}

// readState: rosters of a post are visible as its member state's people.
func readState(c *caller, t target) int {
	if c.seesState(t.state()) {
		return 200
	}
	return 404
}

func rosterEdit(ok int) rule {
	return func(c *caller, t target) int {
		switch {
		case !c.seesState(t.state()):
			return 404
		case c.rosterEditor(t):
			return ok
		}
		return 403
	}
}

// writesNote: the officer on duty (KZ-MOD-CP) or the roster's editors.
func writesNote(c *caller, t target) int {
	switch {
	case !c.seesState(t.state()):
		return 404
	case c.rosterEditor(t) || (t == inKZ && c.is(apptest.KZOfficer)):
		return 201
	}
	return 403
}

func readsNote(ok int) rule {
	return func(c *caller, t target) int {
		if c.seesState(t.state()) {
			return ok
		}
		return 404
	}
}

// ownFeed: one's own feeds; someone else's does not exist.
func ownFeed(c *caller, t target) int {
	if t == others {
		return 404
	}
	return 204
}

func checkRead(c *caller, t target) int {
	switch {
	case c.centre():
		return 200
	case t == unfired:
		return 404
	}
	return alertRead(c, t)
}

// checkChange: only centre roles; a fired check is past changing.
func checkChange(c *caller, t target) int {
	switch {
	case !c.centre():
		return 403
	case t == unfired:
		return 200
	}
	return 409
}

func report(c *caller, t target) int {
	switch {
	case t == unfired && c.centre():
		return 409
	case t == unfired:
		return 404
	case c.centre() || c.class == admin:
		return 200
	case t == inKZ && c.headKZ() && c.post == "":
		return 200
	}
	return 404
}

func trend(c *caller, _ target) int {
	if c.centre() || c.class == admin || (c.headKZ() && c.post == "") {
		return 200
	}
	return 403
}

func seriesRead(c *caller, _ target) int {
	if c.centre() {
		return 200
	}
	return 404
}

func templateRead(c *caller, _ target) int {
	if c.centre() || c.class == admin {
		return 200
	}
	return 403
}

// managesHooks: administrators and centre supervisors every webhook; a
// head of post those bound to their post (creating one unbound: 403).
func managesHooks(ok int) rule {
	return func(c *caller, t target) int {
		switch {
		case c.class == admin || c.supervisor():
			return ok
		case t == inKZ && c.headKZ() && c.post == "":
			return ok
		case t == none && (c.headKZ() && c.post == ""):
			return 403
		case t == none:
			return 403
		}
		return 404
	}
}

func listsHooks(c *caller, _ target) int {
	if c.class == admin || c.supervisor() || (c.headKZ() && c.post == "") {
		return 200
	}
	return 403
}

func networkRows() []row {
	scopes := []target{inKZ, inBY}
	posts := []target{inKZ, inBY, inOrg}
	checks := []target{inKZ, inBY, unfired}
	p := "/api/v1"
	alertRef := func(e *matrixEnv, c *caller, t target) string { return e.net.alerts[t] }
	ackBody := func(e *matrixEnv, c *caller, t target) any { return map[string]string{"post_id": scopePost[t]} }
	postRef := func(e *matrixEnv, c *caller, t target) string { return scopePost[t] }
	return []row{
		// Alerts.
		{method: "GET", path: p + "/alerts", rule: anyone(200)},
		{method: "POST", path: p + "/alerts", rule: centreOnly(201), body: func(e *matrixEnv, c *caller, t target) any {
			return map[string]any{"title": "Matrix", "ack_within_seconds": 300, "targets": map[string]any{"posts": []string{"KZ-MES-CP"}}}
		}},
		{method: "POST", path: p + "/alerts/preview", rule: centreOnly(200), body: func(*matrixEnv, *caller, target) any {
			return map[string]any{"targets": map[string]any{"all": true}}
		}},
		{method: "GET", path: p + "/alerts/{ref}", targets: scopes, rule: alertRead, ref: alertRef},
		{method: "POST", path: p + "/alerts/{ref}/receipt", targets: scopes, rule: acknowledges, ref: alertRef, body: ackBody},
		{method: "POST", path: p + "/alerts/{ref}/ack", targets: scopes, rule: acknowledges, ref: alertRef, body: ackBody},
		{method: "POST", path: p + "/alerts/{ref}/phone", targets: scopes, rule: phonesPost, ref: alertRef,
			body: func(e *matrixEnv, c *caller, t target) any {
				return map[string]string{"post_id": scopePost[t], "note": "spoke to the duty officer"}
			}},
		{method: "POST", path: p + "/alerts/{ref}/cancel", targets: scopes, rule: endsAlert, ref: (*matrixEnv).freshAlert,
			body: func(*matrixEnv, *caller, target) any { return map[string]string{"comment": "matrix"} }},
		{method: "POST", path: p + "/alerts/{ref}/close", targets: scopes, rule: endsAlert, ref: (*matrixEnv).freshAlert,
			body: func(*matrixEnv, *caller, target) any { return map[string]string{"comment": "matrix"} }},
		{method: "GET", path: p + "/alerts/{ref}/messages", rule: operators(200), ref: func(e *matrixEnv, c *caller, t target) string {
			return e.net.alerts[inKZ]
		}},
		{method: "GET", path: p + "/deliveries/{ref}", targets: scopes, rule: alertRead,
			ref: func(e *matrixEnv, c *caller, t target) string { return e.net.deliveries[t] }},
		{method: "POST", path: p + "/deliveries/{ref}/receipt", targets: scopes, rule: acknowledges,
			ref: func(e *matrixEnv, c *caller, t target) string { return e.net.deliveries[t] }},

		// Templates.
		{method: "GET", path: p + "/alert-templates", rule: templateRead},
		{method: "POST", path: p + "/alert-templates", rule: centreOnly(201), body: func(e *matrixEnv, c *caller, t target) any {
			return templateBody(fmt.Sprintf("matrix-%d", e.next()))
		}},
		{method: "GET", path: p + "/alert-templates/{ref}", rule: templateRead, ref: func(e *matrixEnv, c *caller, t target) string { return e.net.template }},
		{method: "PUT", path: p + "/alert-templates/{ref}", rule: centreOnly(200), ref: func(e *matrixEnv, c *caller, t target) string { return e.net.template },
			body: func(e *matrixEnv, c *caller, t target) any { return templateBody(e.net.template) }},
		{method: "DELETE", path: p + "/alert-templates/{ref}", rule: centreOnly(204), ref: (*matrixEnv).freshTemplate},

		// Stream, presence, board.
		{method: "GET", path: p + "/stream", rule: anyone(200), stream: true},
		{method: "POST", path: p + "/heartbeat", rule: anyone(200)},
		{method: "GET", path: p + "/board", rule: boardRule},

		// Duty rosters.
		{method: "GET", path: p + "/duty/now", rule: anyone(200)},
		{method: "GET", path: p + "/duty/gaps?days=2", rule: anyone(200), pattern: "/api/v1/duty/gaps"},
		{method: "GET", path: p + "/duty/gaps?days=2&post={ref}", targets: posts, rule: readState, ref: postRef, pattern: "/api/v1/duty/gaps"},
		{method: "GET", path: p + "/posts/{ref}/roster", targets: posts, rule: readState, ref: postRef},
		{method: "GET", path: p + "/people/{ref}/shifts", targets: []target{inKZ, inBY, inOrg}, rule: readPeople},
		{method: "GET", path: p + "/me/shifts", rule: anyone(200)},
		{method: "POST", path: p + "/shifts", targets: posts, rule: rosterEdit(201), body: (*matrixEnv).newShift},
		{method: "POST", path: p + "/shifts/swap", targets: posts, rule: rosterEdit(201), body: func(e *matrixEnv, c *caller, t target) any {
			return map[string]string{"shift_a": e.net.shifts[t].ID, "shift_b": e.net.swapB[t], "note": "matrix"}
		}},
		{method: "GET", path: p + "/shifts/{ref}", targets: posts, rule: readState, ref: shiftRef},
		{method: "PUT", path: p + "/shifts/{ref}", targets: posts, rule: rosterEdit(200), ref: shiftRef, body: func(e *matrixEnv, c *caller, t target) any {
			sh := e.net.shifts[t]
			return map[string]any{"post_id": sh.PostID, "person_id": sh.PersonID, "slot": sh.Slot, "start": sh.Start, "end": sh.End, "note": sh.Note}
		}},
		{method: "POST", path: p + "/shifts/{ref}/cover", targets: posts, rule: rosterEdit(201), ref: shiftRef, body: coverBody},
		{method: "POST", path: p + "/shifts/{ref}/end-early", targets: posts, rule: rosterEdit(201), ref: shiftRef, body: coverBody},
		{method: "DELETE", path: p + "/shifts/{ref}", targets: posts, rule: rosterEdit(204), ref: (*matrixEnv).freshShift},
		{method: "GET", path: p + "/rotations?post={ref}", targets: posts, rule: readState, ref: postRef, pattern: "/api/v1/rotations"},
		{method: "POST", path: p + "/rotations", targets: posts, rule: rosterEdit(201), body: (*matrixEnv).newRotation},
		{method: "GET", path: p + "/rotations/{ref}", targets: posts, rule: readState, ref: (*matrixEnv).freshRotation},
		{method: "PUT", path: p + "/rotations/{ref}", targets: posts, rule: rosterEdit(200), ref: (*matrixEnv).freshRotation,
			body: func(e *matrixEnv, c *caller, t target) any { return rotationBody(scopePost[t]) }},
		{method: "POST", path: p + "/rotations/{ref}/archive", targets: posts, rule: rosterEdit(200), ref: (*matrixEnv).freshRotation},
		{method: "GET", path: p + "/posts/{ref}/handover-notes", targets: posts, rule: readState, ref: postRef},
		{method: "GET", path: p + "/posts/{ref}/handover-notes/for-me", targets: posts, rule: readState, ref: postRef},
		{method: "POST", path: p + "/posts/{ref}/handover-notes", targets: posts, rule: writesNote, ref: postRef,
			body: func(*matrixEnv, *caller, target) any {
				return map[string]string{"body": "All quiet; the radio link was tested at 08:00."}
			}},
		{method: "POST", path: p + "/handover-notes/{ref}/read", targets: posts, rule: readsNote(204),
			ref: func(e *matrixEnv, c *caller, t target) string { return e.net.notes[t] }},
		{method: "GET", path: p + "/posts/{ref}/escalation", targets: posts, rule: readState, ref: postRef},
		{method: "PUT", path: p + "/posts/{ref}/escalation", targets: posts, rule: rosterEdit(200), ref: postRef,
			body: func(*matrixEnv, *caller, target) any { return map[string]any{"levels": duty.DefaultPath()} }},
		{method: "GET", path: p + "/me/feeds", rule: anyone(200)},
		{method: "POST", path: p + "/me/feeds", rule: anyone(201)},
		{method: "DELETE", path: p + "/me/feeds/{ref}", targets: []target{self, others}, rule: ownFeed, ref: (*matrixEnv).freshFeed},
		{method: "GET", path: "/feeds/shifts/{ref}.ics", rule: anyone(200), public: true, pattern: "/feeds/shifts/{file}",
			ref: func(e *matrixEnv, c *caller, t target) string { return e.net.feed }},

		// Readiness checks.
		{method: "GET", path: p + "/checks", rule: anyone(200)},
		{method: "POST", path: p + "/checks", rule: centreOnly(201), body: func(e *matrixEnv, c *caller, t target) any {
			return checkBody(apptest.Epoch.Add(time.Duration(24+e.next()) * time.Hour))
		}},
		{method: "GET", path: p + "/checks/{ref}", targets: checks, rule: checkRead, ref: checkRef},
		{method: "PUT", path: p + "/checks/{ref}", targets: checks, rule: checkChange, ref: checkRef,
			body: func(*matrixEnv, *caller, target) any {
				return map[string]any{"title": "Matrix check", "ack_within_seconds": 300, "targets": map[string]any{"posts": []string{"KZ-MOD-CP"}}}
			}},
		{method: "POST", path: p + "/checks/{ref}/cancel", targets: checks, rule: checkChange, ref: (*matrixEnv).freshCheck,
			body: func(*matrixEnv, *caller, target) any { return map[string]string{"comment": "matrix"} }},
		{method: "GET", path: p + "/checks/{ref}/report", targets: checks, rule: report, ref: checkRef},
		{method: "GET", path: p + "/checks/{ref}/report.csv", targets: checks, rule: report, ref: checkRef},
		{method: "GET", path: p + "/check-series", rule: anyone(200)},
		{method: "GET", path: p + "/check-series/{ref}", rule: seriesRead, ref: func(e *matrixEnv, c *caller, t target) string { return e.net.series }},
		{method: "POST", path: p + "/check-series/{ref}/cancel", rule: centreOnly(200), ref: (*matrixEnv).freshSeries,
			body: func(*matrixEnv, *caller, target) any { return map[string]string{"comment": "matrix"} }},
		{method: "GET", path: p + "/readiness/trend", rule: trend},
		{method: "GET", path: p + "/readiness/trend.svg", rule: trend},

		// Off-line channels.
		{method: "GET", path: p + "/webhooks", rule: listsHooks},
		{method: "POST", path: p + "/webhooks", rule: managesHooks(201), body: func(e *matrixEnv, c *caller, t target) any {
			return map[string]any{"name": "matrix", "url": "https://hooks.example.org/sitroom"}
		}},
		{method: "GET", path: p + "/webhooks/{ref}", targets: []target{inKZ, inOrg}, rule: managesHooks(200), ref: hookRef},
		{method: "POST", path: p + "/webhooks/{ref}/rotate", targets: []target{inKZ, inOrg}, rule: managesHooks(200), ref: hookRef,
			body: func(*matrixEnv, *caller, target) any { return map[string]int{"overlap_seconds": 3600} }},
		{method: "POST", path: p + "/webhooks/{ref}/disable", targets: []target{inKZ, inOrg}, rule: managesHooks(200), ref: hookRef},
		{method: "GET", path: p + "/dead-letters", rule: operators(200)},
		// The message is queued, not dead: the operators' retry is 409.
		{method: "POST", path: p + "/dead-letters/{ref}/retry", rule: operators(409), ref: func(e *matrixEnv, c *caller, t target) string { return e.net.message }},
		{method: "GET", path: p + "/ack-links/{ref}", rule: anyone(200), public: true, pattern: p + "/ack-links/{token}", ref: func(e *matrixEnv, c *caller, t target) string { return e.net.ackLink }},
		{method: "POST", path: p + "/ack-links/{ref}", rule: anyone(200), public: true, pattern: p + "/ack-links/{token}", ref: func(e *matrixEnv, c *caller, t target) string { return e.net.ackLink }},
	}
}

func shiftRef(e *matrixEnv, c *caller, t target) string { return e.net.shifts[t].ID }
func checkRef(e *matrixEnv, c *caller, t target) string { return e.net.checks[t] }
func hookRef(e *matrixEnv, c *caller, t target) string  { return e.net.webhooks[t] }

func templateBody(code string) map[string]any {
	return map[string]any{"code": code, "name_en": "Communication check", "name_ru": "Проверка связи", "title": "Communication check",
		"priority": "routine", "ack_within_seconds": 300, "exercise": true, "targets": map[string]any{"all": true}}
}

func checkBody(at time.Time) map[string]any {
	return map[string]any{"title": "Matrix check", "ack_within_seconds": 300, "kind": "at", "at": at,
		"targets": map[string]any{"posts": []string{"KZ-MOD-CP"}}}
}

func rotationBody(post string) map[string]any {
	return map[string]any{"post_id": post, "name": "Matrix rotation", "slot": "deputy", "handovers": []string{"09:00"},
		"start_date": "2026-09-01", "team": []string{"p-zas", "p-sidorov"}}
}

func coverBody(e *matrixEnv, c *caller, t target) any {
	return map[string]string{"person_id": "p-sidorov", "note": "matrix"}
}

// sys is a context acting as the system.
func (e *matrixEnv) sys() context.Context { return e.s.System() }

// day gives each new shift a day of its own, far from the others.
func (e *matrixEnv) day() time.Time {
	return apptest.Epoch.Add(time.Duration(10+e.next()) * 24 * time.Hour).Add(time.Hour)
}

func (e *matrixEnv) newShift(c *caller, t target) any {
	start := e.day()
	return map[string]any{"post_id": scopePost[t], "person_id": "p-zas", "slot": "deputy", "start": start, "end": start.Add(8 * time.Hour)}
}

func (e *matrixEnv) shift(t target, person string) duty.Shift {
	ctx := e.sys()
	pe, err := e.s.App.Directory.GetPerson(ctx, person)
	if err != nil {
		panic(err)
	}
	start := e.day()
	sh, err := e.s.App.Duty.CreateShift(ctx, duty.ShiftInput{PostID: e.postID(t), PersonID: pe.ID, Slot: duty.Deputy,
		Start: start, End: start.Add(8 * time.Hour), Note: "matrix"})
	if err != nil {
		panic(err)
	}
	return sh
}

func (e *matrixEnv) postID(t target) string {
	p, err := e.s.App.Directory.GetPost(e.sys(), scopePost[t])
	if err != nil {
		panic(err)
	}
	return p.ID
}

func (e *matrixEnv) freshShift(c *caller, t target) string { return e.shift(t, "p-zas").ID }

// freshRotation archives the post's live rotations and makes a new one
// (one live rotation per slot).
func (e *matrixEnv) freshRotation(c *caller, t target) string {
	e.archiveRotations(t)
	in := rotationBody(scopePost[t])
	rot, err := e.s.App.Duty.CreateRotation(e.sys(), duty.RotationInput{PostID: e.postID(t), Name: "Matrix rotation", Slot: duty.Deputy,
		Handovers: []string{"09:00"}, StartDate: in["start_date"].(string), Team: e.people("p-zas", "p-sidorov")})
	if err != nil {
		panic(err)
	}
	return rot.ID
}

func (e *matrixEnv) newRotation(c *caller, t target) any {
	e.archiveRotations(t)
	return rotationBody(scopePost[t])
}

func (e *matrixEnv) archiveRotations(t target) {
	rots, err := e.s.App.Duty.Rotations(e.sys(), e.postID(t))
	if err != nil {
		panic(err)
	}
	for _, r := range rots {
		if r.ActiveTo == nil {
			if err := e.s.App.Duty.ArchiveRotation(e.sys(), r.ID); err != nil {
				panic(err)
			}
		}
	}
}

func (e *matrixEnv) people(codes ...string) []string {
	var ids []string
	for _, c := range codes {
		p, err := e.s.App.Directory.GetPerson(e.sys(), c)
		if err != nil {
			panic(err)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

func (e *matrixEnv) sendAs(ctx context.Context, post string) *alert.Alert {
	al, err := e.s.App.Alerts.Send(ctx, alert.NewAlert{Title: "Matrix alert", Priority: alert.Urgent, AckWithinSeconds: 3600,
		Targets: alert.Targets{Posts: []string{post}}})
	if err != nil {
		panic(err)
	}
	return al
}

func (e *matrixEnv) freshAlert(c *caller, t target) string { return e.sendAs(e.sys(), scopePost[t]).ID }

func (e *matrixEnv) freshTemplate(c *caller, t target) string {
	tpl, err := e.s.App.Alerts.CreateTemplate(e.sys(), alert.TemplateInput{Code: fmt.Sprintf("matrix-del-%d", e.next()), NameEN: "To delete",
		Title: "To delete", AckWithinSeconds: 300})
	if err != nil {
		panic(err)
	}
	return tpl.Code
}

func (e *matrixEnv) newCheck(at time.Time) string {
	c, err := e.s.App.Readiness.Create(e.sys(), readiness.NewCheck{Title: "Matrix check", AckWithinSeconds: 300, Kind: readiness.KindAt,
		At: &at, Targets: alert.Targets{Posts: []string{"KZ-MOD-CP"}}})
	if err != nil {
		panic(err)
	}
	return c.ID
}

func (e *matrixEnv) freshCheck(c *caller, t target) string {
	if t == unfired {
		return e.newCheck(apptest.Epoch.Add(time.Duration(48+e.next()) * time.Hour))
	}
	return e.net.checks[t]
}

func (e *matrixEnv) newSeries() string {
	c, err := e.s.App.Readiness.Create(e.sys(), readiness.NewCheck{Title: "Weekly check", AckWithinSeconds: 300, Kind: readiness.KindRecurring,
		Recurrence: &readiness.Recurrence{Weekdays: []time.Weekday{time.Monday}, WindowStart: "09:00", WindowEnd: "12:00", TZ: "Europe/Moscow"},
		Targets:    alert.Targets{Posts: []string{"KZ-MOD-CP"}}})
	if err != nil {
		panic(err)
	}
	return *c.SeriesID
}

func (e *matrixEnv) freshSeries(c *caller, t target) string { return e.newSeries() }

// freshFeed makes a feed token of the caller's person (self) or of someone
// else (others).
func (e *matrixEnv) freshFeed(c *caller, t target) string {
	person := e.people("p-zas")[0]
	if t == self && c.login != "" {
		u, err := e.s.App.Users.UserByLogin(e.sys(), c.login)
		if err != nil {
			panic(err)
		}
		person = u.PersonID
	}
	ft, err := e.s.App.Duty.CreateFeedToken(e.sys(), person)
	if err != nil {
		panic(err)
	}
	return ft.ID
}

// prepareNetwork makes the records the rows touch, as the system: the KZ
// officer on duty at KZ-MOD-CP, open alerts to KZ-MOD-CP and BY-MES-CP,
// future shifts, notes, checks (fired and not), webhooks with a queued
// call, a feed and an e-mail link.
func (e *matrixEnv) prepareNetwork(t *testing.T) {
	t.Helper()
	s, ctx := e.s, e.sys()
	n := &networkEnv{alerts: map[target]string{}, deliveries: map[target]string{}, shifts: map[target]duty.Shift{},
		swapB: map[target]string{}, notes: map[target]string{}, checks: map[target]string{}, webhooks: map[target]string{}}
	e.net = n
	onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")

	for _, tg := range []target{inKZ, inBY} {
		al := e.sendAs(ctx, scopePost[tg])
		n.alerts[tg] = al.ID
		full, err := s.App.Alerts.Get(ctx, al.ID)
		if err != nil || len(full.Deliveries) != 1 {
			t.Fatalf("alert %s: %v", al.ID, err)
		}
		n.deliveries[tg] = full.Deliveries[0].ID
	}
	for _, tg := range []target{inKZ, inBY, inOrg} {
		n.shifts[tg] = e.shift(tg, "p-zas")
		n.swapB[tg] = e.shift(tg, "p-sidorov").ID
		note, err := s.App.Duty.WriteHandoverNote(ctx, e.postID(tg), "Matrix note")
		if err != nil {
			t.Fatal(err)
		}
		n.notes[tg] = note.ID
	}
	n.template = e.freshTemplate(nil, none)

	for _, tg := range []target{inKZ, inBY} {
		c, err := s.App.Readiness.Create(ctx, readiness.NewCheck{Title: "Matrix check " + string(tg), AckWithinSeconds: 300,
			Kind: readiness.KindNow, Targets: alert.Targets{Posts: []string{scopePost[tg]}}})
		if err != nil || c.State != readiness.StateFired {
			t.Fatalf("check now: %v %+v", err, c)
		}
		n.checks[tg] = c.ID
	}
	n.checks[unfired] = e.newCheck(apptest.Epoch.Add(24 * time.Hour))
	n.series = e.newSeries()

	for _, tg := range []target{inKZ, inOrg} {
		in := notify.NewWebhook{Name: "matrix " + string(tg), URL: "https://hooks.example.org/" + string(tg)}
		if tg == inKZ {
			in.PostID = "KZ-MOD-CP"
		}
		w, _, err := s.App.Notify.CreateWebhook(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		n.webhooks[tg] = w.ID
	}
	// A call queued for a webhook that nobody sends (the sender does not
	// run here): a message to retry.
	queueFor, _, err := s.App.Notify.CreateWebhook(ctx, notify.NewWebhook{Name: "queue", URL: "https://hooks.example.org/queue",
		EventTypes: []string{"alert.created"}})
	if err != nil {
		t.Fatal(err)
	}
	e.sendAs(ctx, "KZ-MES-CP")
	if _, err := s.App.Webhooks.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var msg string
	if err := s.App.DB.QueryRow(ctx, "SELECT id FROM notify_outbound WHERE webhook_id = ? ORDER BY id LIMIT 1", queueFor.ID).Scan(&msg); err != nil {
		t.Fatalf("no queued webhook call: %v", err)
	}
	n.message = msg

	ft, err := s.App.Duty.CreateFeedToken(ctx, e.people(kzOfficerPerson)[0])
	if err != nil {
		t.Fatal(err)
	}
	n.feed = ft.Token
	n.ackLink = s.App.Notify.SignAckLink(n.deliveries[inKZ], e.people(kzOfficerPerson)[0], s.Clock.Now().Add(24*time.Hour))
}

// openHead sends a request whose answer never ends (the stream) and
// returns once the head is read; the body is closed.
func openHead(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	res, err := c.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	res.Body.Close()
	return res
}
