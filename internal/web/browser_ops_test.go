package web_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"sitroom/demo"
	"sitroom/internal/alert"
	"sitroom/internal/apptest"
	"sitroom/internal/db"
	"sitroom/internal/httpx"
	"sitroom/internal/readiness"
)

// front serves an app on its own listener and can be stopped for real:
// Close shuts the listener and every connection, the streams too (they are
// hijacked, so http.Server no longer tracks them). This is what a browser
// sees when the server dies.
type front struct {
	URL   string
	srv   *http.Server
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
}

type trackingListener struct {
	net.Listener
	f *front
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.f.mu.Lock()
		l.f.conns[c] = true
		l.f.mu.Unlock()
	}
	return c, err
}

func startFront(t *testing.T, s *apptest.Server) *front {
	t.Helper()
	f := &front{conns: map[net.Conn]bool{}}
	f.serve(t, s, "127.0.0.1:0")
	t.Cleanup(f.Close)
	return f
}

func (f *front) serve(t *testing.T, s *apptest.Server, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f.ln, f.URL = ln, "http://"+ln.Addr().String()
	f.srv = &http.Server{Handler: s.App.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(trackingListener{ln, f}) }()
}

// Restart serves the app again at the same address (the server is back).
func (f *front) Restart(t *testing.T, s *apptest.Server) {
	t.Helper()
	f.serve(t, s, strings.TrimPrefix(f.URL, "http://"))
}

func (f *front) Close() {
	_ = f.srv.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for c := range f.conns {
		_ = c.Close()
	}
	f.conns = map[net.Conn]bool{}
}

// resume signs the browser in with a session cookie and no click, like a
// duty desk's browser reopening a page that stayed signed in overnight: the
// page has had no user gesture, so the browser refuses it sound.
func (b *tab) resume(login string) {
	b.t.Helper()
	cookie, _ := b.srv.Login(b.t, login)
	if _, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: httpx.SessionCookie, Value: cookie,
		URL: b.base + "/"}); err != nil {
		b.t.Fatalf("browser: set the session cookie: %v", err)
	}
}

// waitFor waits until the element is visible, at most d.
func (b *tab) waitFor(sel string, d time.Duration) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			b.t.Fatalf("browser: %s did not appear within %s (page %s)", sel, d, b.location())
		}
		b.t.Fatalf("browser: wait for %s: %v", sel, err)
	}
}

// waitTrue waits until the script expression is true, at most d.
func (b *tab) waitTrue(js string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if b.eval(`String(!!(`+js+`))`) == "true" {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("browser: %s stayed false for %s (page %s)", js, d, b.location())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserAlertReachesThePostAndTheBoardTurnsGreen drives the whole loop
// in two browsers: the centre sends an alert from the composer to
// KZ-MOD-CP; the officer on duty there sees it take the screen without
// reloading, and acknowledges with the big button; the centre's board turns
// the post green without reloading. Then the server stops, and both screens
// say NOT CONNECTED.
func TestBrowserAlertReachesThePostAndTheBoardTurnsGreen(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	if _, err := demo.SeedRosters(context.Background(), s.Clock, s.App.Directory, s.App.Duty); err != nil {
		t.Fatal(err)
	}
	onDuty(t, s, "p-kenzhebayev", "KZ-MOD-CP")
	f := startFront(t, s)

	post := newTabAt(t, s, f.URL, 1280, 900)
	post.resume(apptest.KZOfficer)
	post.open("/")
	if loc := post.location(); loc != "/duty" {
		t.Fatalf("a post officer lands on %s, want /duty", loc)
	}
	// Sound is off until a click arms it, and says so.
	post.waitFor("#sound-off", 5*time.Second)
	if got := post.text(".arm-panel .big-off"); got == "" {
		t.Fatal("no SOUND OFF on My duty")
	}
	post.shot("duty_sound_off", false)
	post.do(chromedp.Click(chromedp.CSS(".arm-panel [data-arm]")))
	post.waitTrue(`document.body.className.indexOf("sound-armed") >= 0`, 5*time.Second)
	if post.eval(`String(document.getElementById("sound-off").hidden)`) != "true" {
		t.Error("SOUND OFF still shows after arming")
	}
	post.shot("duty_armed", false)
	post.eval(`(function(){ window.__sameDocument = "yes"; return ""; })()`)

	centre := newTabAt(t, s, f.URL, 1400, 1000)
	centre.signIn(apptest.Officer)
	centre.open("/alerts/new")
	centre.do(
		chromedp.SendKeys(chromedp.CSS("#f-title"), "Earthquake M5.8 near Almaty: report damage and readiness"),
		chromedp.SendKeys(chromedp.CSS("#f-body"), "A magnitude 5.8 earthquake struck 40 km east of Almaty at 13:52 local time.\nReport casualties, damage to facilities, and the readiness of your rescue units."),
		chromedp.Click(chromedp.CSS(`.seg.prio-flash span`)),
		chromedp.SetValue(chromedp.CSS("#f-ack_within"), "600"),
		chromedp.SendKeys(chromedp.CSS("#post-filter"), "kz-"),
		chromedp.Click(chromedp.CSS(`#post-checks input[value="KZ-MOD-CP"]`)),
		chromedp.Click(chromedp.CSS(`#post-checks input[value="KZ-MES-CP"]`)),
	)
	centre.eval(`(function(){ var f = document.getElementById("post-filter"); f.value = ""; f.dispatchEvent(new Event("input")); return ""; })()`)
	centre.do(
		chromedp.SendKeys(chromedp.CSS("#post-filter"), "am-mod"),
		chromedp.Click(chromedp.CSS(`#post-checks input[value="AM-MOD-CP"]`)),
	)
	centre.waitTrue(`document.querySelector("#preview .preview-count") && /2/.test(document.querySelector("#preview .preview-count").textContent) && /AM-MOD-CP/.test(document.getElementById("preview").textContent)`, 10*time.Second)
	centre.waitTrue(`document.getElementById("preview-key").value !== ""`, 5*time.Second)
	preview := centre.text("#preview")
	if !strings.Contains(preview, "KZ-MOD-CP") || !strings.Contains(preview, "Kenzhebayev") {
		t.Errorf("the preview does not name the post and who is on duty: %s", preview)
	}
	if !strings.Contains(preview, "participation is suspended") {
		t.Errorf("AM-MOD-CP (Armenia suspended) is not shown left out, with the reason: %s", preview)
	}
	centre.eval(`(function(){ var f = document.getElementById("post-filter"); f.value = ""; f.dispatchEvent(new Event("input")); return ""; })()`)
	centre.shot("composer", false)
	centre.do(chromedp.Click(chromedp.CSS(".btn-send")))
	centre.waitFor(".flash", 10*time.Second)
	loc := centre.location()
	if !strings.HasPrefix(loc, "/alerts/") || loc == "/alerts/new" {
		t.Fatalf("after sending the centre is at %s", loc)
	}
	alertPath := loc

	// The centre watches the board.
	centre.open("/board")
	centre.waitFor(`.tile[data-code="KZ-MOD-CP"]`, 5*time.Second)
	centre.eval(`(function(){ window.__sameDocument = "yes"; return ""; })()`)

	// The post: the alert takes the screen, without a reload.
	post.waitFor(".alert-overlay .ov-ack", 15*time.Second)
	if got := post.text(".alert-overlay .ov-title"); !strings.Contains(got, "Earthquake") {
		t.Errorf("the overlay shows %q", got)
	}
	if post.eval(`window.__sameDocument || ""`) != "yes" {
		t.Fatal("the post's page was reloaded to show the alert")
	}
	if got := post.text(".alert-overlay .ov-countdown"); !strings.Contains(got, "осталось") {
		t.Errorf("no countdown to the deadline: %q", got)
	}
	// The overlay posted a receipt: the centre's board says delivered.
	centre.waitTrue(`/Delivered/.test(document.querySelector('.tile[data-code="KZ-MOD-CP"] [data-cells]').textContent)`, 10*time.Second)
	post.shot("alert_overlay", true)

	post.do(chromedp.Click(chromedp.CSS(".alert-overlay .ov-ack")))
	post.waitTrue(`/Подтвердил/.test(document.querySelector(".alert-overlay .ov-result").textContent)`, 10*time.Second)
	if got := post.text(".alert-overlay .ov-result"); !strings.Contains(got, apptest.KZOfficer) {
		t.Errorf("the overlay does not say who acknowledged: %q", got)
	}
	post.shot("alert_overlay_acknowledged", true)

	// The centre's board turns green for that post, without a reload.
	centre.waitFor(`.tile[data-code="KZ-MOD-CP"].att-acknowledged`, 10*time.Second)
	if centre.eval(`window.__sameDocument || ""`) != "yes" {
		t.Fatal("the board was reloaded")
	}
	if cls := centre.eval(`document.querySelector('.tile[data-code="KZ-MES-CP"]').className`); !strings.Contains(cls, "att-pending") {
		t.Errorf("KZ-MES-CP (silent so far) is not shown waiting: %s", cls)
	}
	centre.shot("board", false)

	d, err := s.App.Alerts.Get(s.System(), strings.TrimPrefix(alertPath, "/alerts/"))
	if err != nil {
		t.Fatal(err)
	}
	for _, dl := range d.Deliveries {
		if dl.PostCode == "KZ-MOD-CP" && (dl.State != alert.DAcknowledged || dl.AckChannel != alert.ChannelWeb || dl.DeliveredVia != alert.ChannelWeb) {
			t.Errorf("KZ-MOD-CP's delivery: %s via %q, delivered via %q", dl.State, dl.AckChannel, dl.DeliveredVia)
		}
	}

	// The board is driven from the keyboard: / filters, Enter picks the
	// first post left, Enter again opens its latest alert.
	centre.do(chromedp.KeyEvent("/"))
	centre.waitTrue(`document.activeElement.id === "board-filter"`, 2*time.Second)
	if id := centre.eval(`document.activeElement.id`); id != "board-filter" {
		t.Fatalf("/ focused %q", id)
	}
	centre.do(chromedp.KeyEvent("kz-mod"))
	if n := centre.eval(`String(Array.prototype.filter.call(document.querySelectorAll(".tile"), function(x){ return !x.hidden; }).length)`); n != "1" {
		t.Errorf("the filter kz-mod leaves %s posts (filter %q)", n, centre.eval(`document.getElementById("board-filter").value`))
	}
	centre.do(chromedp.KeyEvent(kb.Enter))
	if code := centre.eval(`document.activeElement.getAttribute("data-code") || ""`); code != "KZ-MOD-CP" {
		t.Errorf("Enter in the filter focused %q", code)
	}
	centre.do(chromedp.KeyEvent(kb.Enter))
	centre.waitFor("#deliveries", 5*time.Second)
	if loc := centre.location(); !strings.HasPrefix(loc, alertPath) {
		t.Errorf("Enter on the post opened %s, want its latest alert %s", loc, alertPath)
	}
	centre.eval(`(function(){ var d = document.querySelectorAll("#deliveries details"); for (var i = 0; i < d.length; i++) d[i].open = true; return ""; })()`)
	centre.shot("alert_detail", false)
	centre.open("/board")
	centre.waitFor(`.tile[data-code="KZ-MOD-CP"]`, 5*time.Second)
	post.do(chromedp.Click(chromedp.CSS(".alert-overlay .ov-close")))

	// The server stops. Both screens must say so, on their own.
	time.Sleep(time.Second) // let the board's stream connect
	f.Close()
	for _, b := range []*tab{centre, post} {
		b.waitFor("#conn-banner", 20*time.Second)
		want := "NOT CONNECTED — alerts will not reach this screen"
		if b == post {
			want = "НЕТ СВЯЗИ — оповещения не дойдут до этого экрана"
		}
		if got := b.text("#conn-banner .conn-title"); got != want {
			t.Errorf("banner: %q, want %q", got, want)
		}
	}
	centre.shot("not_connected", true)
	post.shot("not_connected_duty", true)

	// An alert sent while the post was cut off reaches it when the server
	// is back: the stream resumes from the last event it saw.
	if _, err := s.App.Alerts.Send(s.As(t, apptest.Officer), alert.NewAlert{Title: "Aftershock expected: keep the line open",
		Priority: alert.Urgent, AckWithinSeconds: 600, Targets: alert.Targets{Posts: []string{"KZ-MOD-CP"}}}); err != nil {
		t.Fatal(err)
	}
	f.Restart(t, s)
	post.waitTrue(`document.querySelector(".alert-overlay .ov-title") && /Aftershock/.test(document.querySelector(".alert-overlay .ov-title").textContent)`, 30*time.Second)
	post.waitTrue(`document.getElementById("conn-banner").hidden`, 5*time.Second)
	if post.eval(`window.__sameDocument || ""`) != "yes" {
		t.Error("the post's page was reloaded to catch up")
	}
}

// TestBrowserPostOfficerOnAPhone: My duty and the incoming alert on a phone
// screen, in Russian (the officer's language), for an exercise: EXERCISE
// says so on the overlay.
func TestBrowserPostOfficerOnAPhone(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	onDuty(t, s, "p-kenzhebayev", "KZ-MOD-CP")
	b := newTab(t, s, 412, 915)
	b.signIn(apptest.KZOfficer)
	b.waitFor(".arm-panel", 5*time.Second)
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "412" {
		t.Errorf("My duty is %s px wide on a 412 px phone", w)
	}
	b.shot("duty_phone", true)
	al, err := s.App.Alerts.Send(s.As(t, apptest.Officer), alert.NewAlert{Title: "Проверка связи дежурных смен", Body: "Подтвердите получение.",
		Priority: alert.Routine, AckWithinSeconds: 300, Exercise: true, Targets: alert.Targets{Posts: []string{"KZ-MOD-CP"}}})
	if err != nil {
		t.Fatal(err)
	}
	b.waitFor(".alert-overlay .ov-ack", 15*time.Second)
	if got := b.text(".alert-overlay .ov-exercise"); !strings.Contains(got, "УЧЕНИЯ") {
		t.Errorf("the exercise overlay says %q", got)
	}
	if got := b.text(".alert-overlay .ov-title"); !strings.HasPrefix(got, "УЧЕНИЯ") {
		t.Errorf("the exercise title says %q", got)
	}
	// The button is big enough to hit at 3 a.m.
	if h, _ := strconv.Atoi(b.eval(`String(Math.round(document.querySelector(".ov-ack").getBoundingClientRect().height))`)); h < 80 {
		t.Errorf("the acknowledge button is %d px high", h)
	}
	b.shot("alert_overlay_phone", true)
	// The centre cancels it: the overlay says so, and the button goes.
	if _, err := s.App.Alerts.Cancel(s.As(t, apptest.Officer), al.ID, "sent by mistake"); err != nil {
		t.Fatal(err)
	}
	b.waitTrue(`/st-cancelled/.test(document.querySelector(".alert-overlay").className)`, 10*time.Second)
	if got := b.text(".alert-overlay .ov-result"); !strings.Contains(got, "отменил") {
		t.Errorf("the cancelled overlay says %q", got)
	}
	if b.eval(`String(document.querySelector(".alert-overlay .ov-ack").hidden)`) != "true" {
		t.Error("a cancelled alert still offers the acknowledge button")
	}
}

// TestBrowserReadinessAndRosters: the pages a head of post and the centre
// read, on the demo's rosters: a post's week of duty, the gaps report, and
// the report of a readiness check compared with the month before, with its
// trend.
func TestBrowserReadinessAndRosters(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	rep, err := demo.SeedRosters(context.Background(), s.Clock, s.App.Directory, s.App.Duty)
	if err != nil || rep.Gap == nil {
		t.Fatalf("demo rosters: %v %+v", err, rep)
	}
	b := newTab(t, s, 1280, 900)
	b.signIn(apptest.Supervisor)
	b.open("/rosters/KZ-MOD-CP")
	b.waitFor(".week", 5*time.Second)
	b.shot("rosters", false)
	b.open("/rosters/" + demo.GapPost + "?week=" + rep.Gap.Start.Format("2006-01-02"))
	if n := b.eval(`String(document.querySelectorAll(".wseg-gap").length)`); n == "0" {
		t.Errorf("the week with the demo's gap at %s shows none", demo.GapPost)
	}
	b.shot("rosters_gap", false)
	b.open("/rosters/gaps?days=14")
	if got := b.text("main"); !strings.Contains(got, demo.GapPost) {
		t.Errorf("the gaps report does not list %s", demo.GapPost)
	}

	// Two monthly checks; the posts answer after these delays (a post
	// not listed stays silent; 5 minutes is the deadline).
	first := map[string]time.Duration{"BY-MOD-CP": 35 * time.Second, "KZ-MOD-CP": 52 * time.Second, "BY-MES-CP": 100 * time.Second,
		"RU-MOD-CP": 250 * time.Second, "KG-MOD-CP": 6 * time.Minute, "TJ-MES-CP": 140 * time.Second}
	second := map[string]time.Duration{"BY-MOD-CP": 28 * time.Second, "KZ-MOD-CP": 41 * time.Second, "BY-MES-CP": 125 * time.Second,
		"RU-MOD-CP": 75 * time.Second, "KG-MOD-CP": 58 * time.Second, "TJ-MES-CP": 210 * time.Second, "KZ-MES-CP": 7 * time.Minute,
		"RU-MES-CP": 90 * time.Second, "KZ-MVD-CP": 49 * time.Second}
	readinessCheck(t, s, first)
	s.Clock.Advance(31 * 24 * time.Hour)
	id := readinessCheck(t, s, second)
	s.Clock.Advance(10 * time.Minute)

	b = newTab(t, s, 1280, 900)
	b.signIn(apptest.Supervisor)
	b.open("/readiness/" + id)
	b.waitFor(".report-table", 5*time.Second)
	if got := b.text(".stats"); !strings.Contains(got, "> deadline") {
		t.Errorf("the figures do not show a miss as > deadline: %s", got)
	}
	if got := b.text(".report-table"); !strings.Contains(got, "faster") || !strings.Contains(got, "LATE") || !strings.Contains(got, "MISSED") {
		t.Errorf("the ranking lacks the comparison or the labels: %s", got)
	}
	if n := b.eval(`String(document.querySelectorAll(".trend svg").length)`); n != "1" {
		t.Error("no trend chart on the report")
	}
	b.shot("readiness_report", false)
	b.open("/readiness")
	b.shot("readiness", false)
}

// readinessCheck sends a readiness check to every post now and has the
// officer on duty at each post of answers acknowledge after its delay.
func readinessCheck(t *testing.T, s *apptest.Server, answers map[string]time.Duration) string {
	t.Helper()
	c, err := s.App.Readiness.Create(s.As(t, apptest.Officer), readiness.NewCheck{Title: "Monthly readiness check of the duty shifts",
		Priority: alert.Urgent, AckWithinSeconds: 300, Targets: alert.Targets{All: true}, Kind: readiness.KindNow})
	if err != nil || c.AlertID == nil {
		t.Fatalf("check: %v", err)
	}
	sent := s.Clock.Now()
	codes := make([]string, 0, len(answers))
	for code := range answers {
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool { return answers[codes[i]] < answers[codes[j]] })
	for _, code := range codes {
		s.Clock.Set(sent.Add(answers[code]))
		post, err := s.App.Directory.GetPost(s.System(), code)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.App.Duty.OnDuty(s.System(), []string{post.ID}, s.Clock.Now())
		if err != nil || len(m[post.ID]) == 0 || m[post.ID][0].Login == "" {
			t.Fatalf("nobody with a login on duty at %s: %v", code, err)
		}
		if _, err := s.App.Alerts.Acknowledge(s.As(t, m[post.ID][0].Login), *c.AlertID, code, alert.ChannelWeb); err != nil {
			t.Fatalf("%s acknowledges: %v", code, err)
		}
	}
	return c.ID
}

// TestBrowserTabsShareOneStream: two tabs of one browser hold one stream
// between them (the leader's) and both show an incoming alert; when the
// leader closes, the other takes over and still gets what is sent.
func TestBrowserTabsShareOneStream(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	onDuty(t, s, "p-kenzhebayev", "KZ-MOD-CP")
	a := newTab(t, s, 1024, 768)
	a.signIn(apptest.KZOfficer)
	a.open("/directory/posts")
	ctx, cancel := chromedp.NewContext(a.ctx) // a second tab of the same browser
	defer cancel()
	b := &tab{t: t, ctx: ctx, srv: s, base: s.URL}
	b.open("/duty")
	leaders := func() int {
		n := 0
		for _, x := range []*tab{a, b} {
			if x.eval(`String(window.Sitroom && Sitroom.isLeader())`) == "true" {
				n++
			}
		}
		return n
	}
	a.waitTrue(`window.Sitroom && Sitroom.connection().connected`, 10*time.Second)
	b.waitTrue(`window.Sitroom && Sitroom.connection().connected`, 10*time.Second)
	if n := leaders(); n != 1 {
		t.Fatalf("%d tabs hold a stream, want 1", n)
	}
	send := func(title string) {
		if _, err := s.App.Alerts.Send(s.As(t, apptest.Officer), alert.NewAlert{Title: title, Priority: alert.Urgent, AckWithinSeconds: 300,
			Targets: alert.Targets{Posts: []string{"KZ-MOD-CP"}}}); err != nil {
			t.Fatal(err)
		}
	}
	send("First alert")
	for _, x := range []*tab{a, b} {
		x.waitTrue(`document.querySelector(".alert-overlay .ov-title") && /First alert/.test(document.querySelector(".alert-overlay .ov-title").textContent)`, 10*time.Second)
	}
	// Close the leader; the other tab leads and streams on.
	leader, other := a, b
	if b.eval(`String(Sitroom.isLeader())`) == "true" {
		leader, other = b, a
	}
	if leader == b {
		cancel()
	} else {
		if err := chromedp.Do(a.ctx, chromedp.Navigate("about:blank")); err != nil {
			t.Fatal(err)
		}
	}
	other.waitTrue(`Sitroom.isLeader() && Sitroom.connection().connected`, 10*time.Second)
	send("Second alert")
	other.waitTrue(`/Second alert/.test(document.body.textContent) || Object.keys(SitroomAlerting.items()).length >= 2`, 10*time.Second)
}

// TestBrowserEndedSessionShowsNotConnected: a session ended elsewhere (an
// administrator signed the user out) is noticed by the next heartbeat: the
// banner shows, with a way to sign in again.
func TestBrowserEndedSessionShowsNotConnected(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	s.Live(t)
	b := newTab(t, s, 1024, 768)
	b.signIn(apptest.Officer)
	b.open("/board")
	b.waitTrue(`window.Sitroom && Sitroom.connection().connected`, 10*time.Second)
	u, err := s.App.Users.UserByLogin(s.System(), apptest.Officer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Users.RevokeUserSessions(s.System(), u.ID); err != nil {
		t.Fatal(err)
	}
	b.waitFor("#conn-banner", 20*time.Second)
	b.waitFor("#conn-signin", 2*time.Second)
	if got := b.text("#conn-detail"); !strings.Contains(got, "session has ended") {
		t.Errorf("banner detail: %q", got)
	}
}
