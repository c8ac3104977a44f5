package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apptest"
	"sitroom/internal/db"
)

var positionRE = regexp.MustCompile(`<meta name="sitroom-stream-position" content="(\d+)">`)

// TestEverySignedInPageCarriesItsStreamPosition: the position a page's
// script streams from, and the CSRF token its requests send, are on every
// page of a signed-in user, and the position is never ahead of the hub.
func TestEverySignedInPageCarriesItsStreamPosition(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	fx := newOpsFixture(t, s)
	for _, login := range []string{apptest.Officer, apptest.KZOfficer, apptest.Planner} {
		c := s.Session(t, login)
		for _, p := range []string{"/profile", "/directory/posts", "/board", "/duty", "/alerts/" + fx.Alert, "/readiness"} {
			st, body, _ := get(t, c, s.URL+p)
			if st != http.StatusOK {
				continue // a section this role may not use
			}
			m := positionRE.FindStringSubmatch(body)
			if m == nil {
				t.Errorf("%s %s: no stream position", login, p)
				continue
			}
			if n, _ := strconv.ParseInt(m[1], 10, 64); n > s.App.Hub.Position() || n < 1 {
				t.Errorf("%s %s: position %d, hub at %d", login, p, n, s.App.Hub.Position())
			}
			if !strings.Contains(body, `<meta name="csrf-token" content="`) {
				t.Errorf("%s %s: no CSRF token for scripts", login, p)
			}
		}
	}
	// Anonymous pages are not live.
	_, body, _ := get(t, browser(), s.URL+"/login")
	if strings.Contains(body, "sitroom-stream-position") || strings.Contains(body, "live.js") {
		t.Error("the sign-in page opens a stream")
	}
}

// TestComposerShowsWhoIsReachedBeforeSending: a send whose targets the
// sender has not previewed shows the preview instead (with posts that have
// nobody on duty called out), and sends nothing; the same form with the
// preview's key sends.
func TestComposerShowsWhoIsReachedBeforeSending(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	onDuty(t, s, "p-kenzhebayev", "KZ-MOD-CP")
	c := s.Session(t, apptest.Officer)
	tok := formToken(t, c, s.URL+"/alerts/new")
	v := url.Values{"csrf_token": {tok}, "title": {"Test of the duty network"}, "priority": {"urgent"}, "ack_within": {"300"},
		"post": {"KZ-MOD-CP", "KZ-MES-CP"}, "action": {"send"}}
	before, _, _ := s.App.Alerts.List(s.System(), alert.ListOptions{})
	st, body, _ := postForm(t, c, s.URL+"/alerts", v)
	if st != http.StatusOK || !strings.Contains(body, "Check who the alert will reach") {
		t.Fatalf("an unpreviewed send: %d", st)
	}
	if !strings.Contains(body, "Will reach 2 posts") || !strings.Contains(body, "1 post has NOBODY ON DUTY") || !strings.Contains(body, "Kenzhebayev") {
		t.Errorf("the preview lacks the reach, the warning or who is on duty:\n%s", body)
	}
	after, _, _ := s.App.Alerts.List(s.System(), alert.ListOptions{})
	if len(after) != len(before) {
		t.Fatal("an unpreviewed send sent the alert")
	}
	key := regexp.MustCompile(`name="preview_key" id="preview-key" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if key == nil {
		t.Fatal("no preview key in the form")
	}
	// The preview part alone, as the composer's script asks for it.
	st, frag, _ := postForm(t, c, s.URL+"/alerts/preview", v)
	if st != http.StatusOK || !strings.Contains(frag, `data-key="`+key[1]+`"`) || strings.Contains(frag, "<html") {
		t.Errorf("preview fragment: %d %s", st, frag)
	}
	// Other targets than those previewed: shown again, not sent.
	v.Set("preview_key", key[1])
	v["post"] = []string{"KZ-MOD-CP"}
	if st, body, _ := postForm(t, c, s.URL+"/alerts", v); st != http.StatusOK || !strings.Contains(body, "Will reach 1 post") {
		t.Fatalf("changed targets: %d", st)
	}
	v["post"] = []string{"KZ-MOD-CP", "KZ-MES-CP"}
	st, _, h := postForm(t, c, s.URL+"/alerts", v)
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/alerts/") {
		t.Fatalf("send: %d %s", st, h.Get("Location"))
	}
	al, err := s.App.Alerts.Get(s.System(), strings.TrimPrefix(h.Get("Location"), "/alerts/"))
	if err != nil || al.Recipients != 2 || al.Priority != alert.Urgent || al.AckWithinSeconds != 300 {
		t.Fatalf("sent: %v %+v", err, al)
	}
	// A post officer cannot open the composer.
	if st, _, _ := get(t, s.Session(t, apptest.KZOfficer), s.URL+"/alerts/new"); st != http.StatusForbidden {
		t.Errorf("a post officer opens the composer: %d", st)
	}
}

// TestAcknowledgeButtonWithoutScript: the page's acknowledge form works for
// the officer on duty and is refused to the centre, whose click must never
// make a silent post look answered.
func TestAcknowledgeButtonWithoutScript(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	fx := newOpsFixture(t, s)
	centre := s.Session(t, apptest.Officer)
	tok := formToken(t, centre, s.URL+"/alerts/"+fx.Alert)
	st, body, _ := postForm(t, centre, s.URL+"/alerts/"+fx.Alert+"/ack", url.Values{"csrf_token": {tok}, "post_id": {"KZ-MOD-CP"}})
	if st != http.StatusForbidden || !strings.Contains(body, "Only a person on duty at the post") {
		t.Errorf("the centre acknowledging: %d", st)
	}
	post := s.Session(t, apptest.KZOfficer)
	_, body, _ = get(t, post, s.URL+"/duty")
	if !strings.Contains(body, "Flood warning, Almaty region") || !strings.Contains(body, `action="/alerts/`+fx.Alert+`/ack"`) {
		t.Fatal("My duty does not offer the open alert with its acknowledge button")
	}
	tok = csrfRE.FindStringSubmatch(body)[1]
	st, _, h := postForm(t, post, s.URL+"/alerts/"+fx.Alert+"/ack", url.Values{"csrf_token": {tok}, "post_id": {"KZ-MOD-CP"}, "next": {"/duty"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/duty" {
		t.Fatalf("acknowledge: %d %s", st, h.Get("Location"))
	}
	al, _ := s.App.Alerts.Get(s.System(), fx.Alert)
	for _, d := range al.Deliveries {
		if d.PostCode == "KZ-MOD-CP" && (d.AckedAt == nil || d.AckChannel != alert.ChannelWeb) {
			t.Errorf("not acknowledged: %+v", d)
		}
	}
	// The centre's detail page shows who acknowledged, in the post's time.
	_, body, _ = get(t, centre, s.URL+"/alerts/"+fx.Alert+"?fragment=deliveries")
	if !strings.Contains(body, "kz.officer@demo.sitroom.example") || strings.Contains(body, "<html") {
		t.Errorf("the deliveries part: %s", body)
	}
}

// TestEmailLinkShowsThenAcknowledges: GET of an e-mail's link changes
// nothing (mail gateways open every link); only the POST of its button
// acknowledges, in the name of the person the e-mail went to, by e-mail.
func TestEmailLinkShowsThenAcknowledges(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	fx := newOpsFixture(t, s)
	al, err := s.App.Alerts.Get(s.System(), fx.Alert)
	if err != nil {
		t.Fatal(err)
	}
	var did string
	for _, d := range al.Deliveries {
		if d.PostCode == "KZ-MOD-CP" {
			did = d.ID
		}
	}
	p, err := s.App.Directory.GetPerson(s.System(), "p-kenzhebayev")
	if err != nil {
		t.Fatal(err)
	}
	tok := s.App.Notify.SignAckLink(did, p.ID, al.DeadlineAt.Add(time.Hour))
	c := browser()
	for i := 0; i < 2; i++ {
		st, body, h := get(t, c, s.URL+"/ack/"+tok)
		if st != http.StatusOK || !strings.Contains(body, "Flood warning, Almaty region") || !strings.Contains(body, "KZ-MOD-CP") {
			t.Fatalf("the link's page: %d", st)
		}
		if h.Get("Referrer-Policy") != "no-referrer" {
			t.Error("the link's page may leak its token as a referrer")
		}
	}
	if d, _ := s.App.Alerts.Get(s.System(), fx.Alert); d.Counts[alert.DAcknowledged] != 0 {
		t.Fatal("opening the link acknowledged")
	}
	_, body, _ := get(t, c, s.URL+"/ack/"+tok)
	form := csrfRE.FindStringSubmatch(body)
	if st, _, _ := postForm(t, browser(), s.URL+"/ack/"+tok, url.Values{"csrf_token": {form[1]}}); st != http.StatusForbidden {
		t.Errorf("a post without the form's cookie: %d", st)
	}
	st, body, _ := postForm(t, c, s.URL+"/ack/"+tok, url.Values{"csrf_token": {form[1]}})
	if st != http.StatusOK || !strings.Contains(body, "Acknowledged. The centre sees it now.") {
		t.Fatalf("confirm: %d %s", st, body)
	}
	d, _ := s.App.Alerts.Get(s.System(), fx.Alert)
	for _, x := range d.Deliveries {
		if x.PostCode == "KZ-MOD-CP" && (x.AckedAt == nil || x.AckChannel != alert.ChannelEmail) {
			t.Errorf("by e-mail link: %+v", x)
		}
	}
	if st, body, _ := get(t, c, s.URL+"/ack/"+tok); st != http.StatusOK || !strings.Contains(body, "Already acknowledged") {
		t.Errorf("the link after acknowledging: %d", st)
	}
	if st, body, _ := get(t, c, s.URL+"/ack/"+tok[:len(tok)-4]+"AAAA"); st != http.StatusNotFound || !strings.Contains(body, "not valid") {
		t.Errorf("a forged link: %d", st)
	}
}

// TestRosterFormsSayWhatIsWrongNextToTheField: a shift that ends before it
// starts comes back with the message beside "To"; a good one is added; a
// post officer may read the roster but is not offered its forms.
func TestRosterFormsSayWhatIsWrongNextToTheField(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, apptest.KZHead)
	tok := formToken(t, c, s.URL+"/rosters/KZ-MOD-CP")
	p, err := s.App.Directory.GetPerson(s.System(), "p-seitkali")
	if err != nil {
		t.Fatal(err)
	}
	v := url.Values{"csrf_token": {tok}, "person_id": {p.ID}, "slot": {"deputy"}, "start": {"2026-01-20T09:00"}, "end": {"2026-01-20T08:00"}}
	st, body, _ := postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/shifts", v)
	if st != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="e-end"[^>]*>[^<]*The end is before the start`).MatchString(body) {
		t.Fatalf("a shift ending before it starts: %d", st)
	}
	v.Set("end", "2026-01-20T21:00")
	st, _, h := postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/shifts", v)
	if st != http.StatusSeeOther {
		t.Fatalf("a good shift: %d", st)
	}
	_, body, _ = get(t, c, s.URL+h.Get("Location")+"?week=2026-01-19")
	if !strings.Contains(body, "Daniyar Seitkali") || !strings.Contains(body, "2026-01-20 09:00") {
		t.Error("the new shift is not in the week (09:00 local in Almaty)")
	}
	officer := s.Session(t, apptest.KZOfficer)
	_, body, _ = get(t, officer, s.URL+"/rosters/KZ-MOD-CP")
	if strings.Contains(body, `action="/rosters/KZ-MOD-CP/shifts"`) {
		t.Error("a post officer is offered the roster's forms")
	}
	if st, _, _ := get(t, officer, s.URL+"/rosters/KZ-MOD-CP/escalation"); st != http.StatusForbidden {
		t.Errorf("a post officer opens the escalation editor: %d", st)
	}
}

// TestDutyAnswersWhereTheOfficerIsOnDuty: what alerting.js asks at a
// hand-over.
func TestDutyAnswersWhereTheOfficerIsOnDuty(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	fx := newOpsFixture(t, s)
	st, body, _ := get(t, s.Session(t, apptest.KZOfficer), s.URL+"/duty/me.json")
	if st != http.StatusOK {
		t.Fatalf("%d", st)
	}
	var cfg struct {
		Alerting  bool `json:"alerting"`
		DutyPosts []struct {
			Code string `json:"code"`
			TZ   string `json:"tz"`
		} `json:"duty_posts"`
		Pending []struct {
			ID string `json:"id"`
		} `json:"pending"`
	}
	if err := json.Unmarshal([]byte(body), &cfg); err != nil {
		t.Fatal(err)
	}
	if !cfg.Alerting || len(cfg.DutyPosts) != 1 || cfg.DutyPosts[0].Code != "KZ-MOD-CP" || cfg.DutyPosts[0].TZ != "Asia/Almaty" {
		t.Errorf("duty: %+v", cfg)
	}
	found := false
	for _, p := range cfg.Pending {
		found = found || p.ID == fx.Alert
	}
	if !found {
		t.Errorf("the open alert is not pending for the officer: %s", body)
	}
}

// TestComposerTemplatesFillTheForm: a template of a recurring message fills
// the composer; the alert list and the end of an alert (close needs a
// comment, cancel tells the posts) work from the pages.
func TestComposerTemplatesAndEndingAnAlert(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	officer := s.As(t, apptest.Officer)
	if _, err := s.App.Alerts.CreateTemplate(officer, alert.TemplateInput{Code: "daily-comms", NameEN: "Daily communication check",
		NameRU: "Ежедневная проверка связи", Title: "Daily communication check", Body: "Acknowledge on receipt.",
		Priority: alert.Routine, AckWithinSeconds: 900, Exercise: true, Targets: alert.Targets{All: true}}); err != nil {
		t.Fatal(err)
	}
	c := s.Session(t, apptest.Officer)
	_, body, _ := get(t, c, s.URL+"/alerts/new?template=daily-comms")
	for _, want := range []string{`value="Daily communication check"`, `name="all" value="1" id="f-all" checked`, `value="900" selected`,
		`name="exercise" value="1" id="f-exercise" checked`, `EXERCISE — EXERCISE`, "Will reach"} {
		if !strings.Contains(body, want) {
			t.Errorf("the template did not fill the composer: %s missing", want)
		}
	}
	al, err := s.App.Alerts.Send(officer, alert.NewAlert{Title: "To be closed", AckWithinSeconds: 300, Targets: alert.Targets{Posts: []string{"BY-MES-CP"}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := formToken(t, c, s.URL+"/alerts/"+al.ID)
	st, _, h := postForm(t, c, s.URL+"/alerts/"+al.ID+"/close", url.Values{"csrf_token": {tok}})
	if st != http.StatusSeeOther || !strings.Contains(h.Get("Location"), "#end") {
		t.Fatalf("close without a comment: %d %s", st, h.Get("Location"))
	}
	if got, _ := s.App.Alerts.Get(s.System(), al.ID); got.State != alert.StateOpen {
		t.Fatal("closed without a comment")
	}
	if st, _, _ := postForm(t, c, s.URL+"/alerts/"+al.ID+"/close", url.Values{"csrf_token": {tok}, "comment": {"Post reached by phone"}}); st != http.StatusSeeOther {
		t.Fatalf("close: %d", st)
	}
	_, body, _ = get(t, c, s.URL+"/alerts/"+al.ID)
	if !strings.Contains(body, "CLOSED") || !strings.Contains(body, "Post reached by phone") || strings.Contains(body, `action="/alerts/`+al.ID+`/phone"`) {
		t.Error("the closed alert's page does not say so, or still offers actions")
	}
	_, body, _ = get(t, c, s.URL+"/alerts?state=closed")
	if !strings.Contains(body, "To be closed") {
		t.Error("the closed alert is not in the list of closed alerts")
	}
	_, body, _ = get(t, c, s.URL+"/alerts?state=open&fragment=list")
	if strings.Contains(body, "To be closed") || strings.Contains(body, "<html") {
		t.Error("the open list's part shows the closed alert, or is a whole page")
	}
}

// TestReadinessFormCreatesChecks: a surprise check from the form keeps its
// minute from everyone but the centre; a wrong instant is reported beside
// its field.
func TestReadinessFormCreatesChecks(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, apptest.Supervisor)
	tok := formToken(t, c, s.URL+"/readiness/new")
	v := url.Values{"csrf_token": {tok}, "title": {"Surprise check"}, "priority": {"urgent"}, "ack_within": {"300"}, "state": {"KZ"},
		"kind": {"surprise"}, "window_from": {"2026-01-16T10:00"}, "window_to": {"2026-01-15T08:00"}}
	st, body, _ := postForm(t, c, s.URL+"/readiness", v)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-window_to"`) {
		t.Fatalf("a window ending before it starts: %d", st)
	}
	v.Set("window_to", "2026-01-16T18:00")
	st, _, h := postForm(t, c, s.URL+"/readiness", v)
	if st != http.StatusSeeOther {
		t.Fatalf("create: %d", st)
	}
	_, body, _ = get(t, c, s.URL+h.Get("Location"))
	if !strings.Contains(body, "Will be sent at") || !strings.Contains(body, "seen by the centre only") {
		t.Error("the centre does not see when the surprise check fires")
	}
	head := s.Session(t, apptest.KZHead)
	if st, _, _ := get(t, head, s.URL+h.Get("Location")); st != http.StatusNotFound {
		t.Errorf("a head of post opens an unfired check: %d", st)
	}
	_, body, _ = get(t, head, s.URL+"/readiness")
	if strings.Contains(body, "Surprise check") {
		t.Error("a head of post sees the scheduled check in the list")
	}
}

// TestRotationsEscalationAndFeedFromThePages: the head of a post creates a
// rotation, sets an escalation path (a later level without a delay is
// refused beside that level), and a person makes and revokes a calendar
// link, shown once.
func TestRotationsEscalationAndFeedFromThePages(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, apptest.KZHead)
	tok := formToken(t, c, s.URL+"/rosters/KZ-MOD-CP/rotations/new")
	a, _ := s.App.Directory.GetPerson(s.System(), "p-seitkali")
	b, _ := s.App.Directory.GetPerson(s.System(), "p-nurpeisova")
	v := url.Values{"csrf_token": {tok}, "name": {"Day and night"}, "slot": {"deputy"}, "handovers": {"20:00, 08:00"}, "start_date": {"2026-01-20"},
		"team_0": {a.ID}, "team_1": {""}, "team_2": {b.ID}}
	st, body, _ := postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/rotations", v)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "in order within the day") {
		t.Fatalf("hand-overs out of order: %d", st)
	}
	v.Set("handovers", "08:00, 20:00")
	if st, _, _ := postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/rotations", v); st != http.StatusSeeOther {
		t.Fatalf("create rotation: %d", st)
	}
	_, body, _ = get(t, c, s.URL+"/rosters/KZ-MOD-CP?week=2026-01-19")
	if !strings.Contains(body, "Day and night") || !strings.Contains(body, "Aigerim Nurpeisova") {
		t.Error("the rotation or its shifts are not on the roster")
	}
	tok = formToken(t, c, s.URL+"/rosters/KZ-MOD-CP/escalation")
	ev := url.Values{"csrf_token": {tok}, "l0_target": {"primary", "deputy"}, "l1_target": {"head"}, "l2_target": {"centre_officer"}}
	st, body, _ = postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/escalation", ev)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "This level needs a delay") {
		t.Fatalf("a later level without a delay: %d", st)
	}
	ev.Set("l2_delay", "10")
	if st, _, _ := postForm(t, c, s.URL+"/rosters/KZ-MOD-CP/escalation", ev); st != http.StatusSeeOther {
		t.Fatalf("save the path: %d", st)
	}
	post, _ := s.App.Directory.GetPost(s.System(), "KZ-MOD-CP")
	path, err := s.App.Duty.EscalationPath(s.System(), post.ID)
	if err != nil || path.Default || len(path.Levels) != 3 || path.Levels[2].DelaySeconds != 600 {
		t.Fatalf("the saved path: %v %+v", err, path)
	}

	o := s.Session(t, apptest.KZOfficer)
	tok = formToken(t, o, s.URL+"/rosters")
	st, _, h := postForm(t, o, s.URL+"/rosters/feeds", url.Values{"csrf_token": {tok}})
	if st != http.StatusSeeOther {
		t.Fatalf("create a feed: %d", st)
	}
	_, body, _ = get(t, o, s.URL+"/rosters")
	m := regexp.MustCompile(`value="(http://[^"]+/feeds/shifts/(sdf_[^"]+)\.ics)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("the new feed's address is not shown (%s)", h.Get("Location"))
	}
	if st, ics, _ := get(t, browser(), m[1]); st != http.StatusOK || !strings.Contains(ics, "BEGIN:VCALENDAR") {
		t.Errorf("the feed: %d", st)
	}
	_, body, _ = get(t, o, s.URL+"/rosters")
	if strings.Contains(body, m[2]) {
		t.Error("the feed's token is shown a second time")
	}
	id := regexp.MustCompile(`action="/rosters/feeds/revoke/([^"]+)"`).FindStringSubmatch(body)
	if id == nil {
		t.Fatal("no revoke button")
	}
	if st, _, _ := postForm(t, o, s.URL+"/rosters/feeds/revoke/"+id[1], url.Values{"csrf_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("revoke: %d", st)
	}
	if st, _, _ := get(t, browser(), m[1]); st == http.StatusOK {
		t.Error("a revoked feed still answers")
	}
}

// TestComposerSavesTemplates: the composer keeps its message as a template
// (saving under the same code again replaces it), the templates page lists
// and deletes them, and only the centre has them.
func TestComposerSavesTemplates(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, apptest.Officer)
	tok := formToken(t, c, s.URL+"/alerts/new")
	v := url.Values{"csrf_token": {tok}, "title": {"Morning communication check"}, "priority": {"routine"}, "ack_within": {"600"},
		"state": {"KZ", "BY"}, "action": {"save_template"}, "template_code": {"bad code!"}, "template_name_en": {"Morning check"}}
	st, body, _ := postForm(t, c, s.URL+"/alerts", v)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `id="e-template_code"`) || !strings.Contains(body, "<details class=\"panel save-template\" open>") {
		t.Fatalf("a bad code: %d", st)
	}
	v.Set("template_code", "morning-check")
	st, _, h := postForm(t, c, s.URL+"/alerts", v)
	if st != http.StatusSeeOther || h.Get("Location") != "/alerts/new?template=morning-check" {
		t.Fatalf("save: %d %s", st, h.Get("Location"))
	}
	v.Set("title", "Morning communication check (new wording)")
	if st, _, _ := postForm(t, c, s.URL+"/alerts", v); st != http.StatusSeeOther {
		t.Fatalf("save again: %d", st)
	}
	tm, err := s.App.Alerts.Template(s.As(t, apptest.Officer), "morning-check")
	if err != nil || tm.Title != "Morning communication check (new wording)" || len(tm.Targets.States) != 2 || tm.AckWithinSeconds != 600 {
		t.Fatalf("the template: %v %+v", err, tm)
	}
	if list, _, _ := s.App.Alerts.List(s.System(), alert.ListOptions{}); len(list) != 0 {
		t.Fatal("saving a template sent an alert")
	}
	_, body, _ = get(t, c, s.URL+"/alerts/templates")
	if !strings.Contains(body, "Morning check") || !strings.Contains(body, "/alerts/new?template=morning-check") {
		t.Error("the template is not listed")
	}
	if st, _, _ := postForm(t, c, s.URL+"/alerts/templates/morning-check/delete", url.Values{"csrf_token": {tok}}); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, err := s.App.Alerts.Template(s.As(t, apptest.Officer), "morning-check"); err == nil {
		t.Error("the template is still there")
	}
	if st, _, _ := get(t, s.Session(t, apptest.KZOfficer), s.URL+"/alerts/templates"); st != http.StatusForbidden {
		t.Errorf("a post officer opens the templates: %d", st)
	}
}
