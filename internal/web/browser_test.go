package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"sitroom/demo"
	"sitroom/internal/apptest"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// These tests drive Debian's Chromium, headless, against the whole app
// (apptest: the real routes and middleware over the demo organisation).
// Without chromium they skip locally and fail in CI. Screenshots go to
// $SITROOM_SCREENSHOTS (a temporary directory by default); with
// SITROOM_UPDATE_SCREENSHOTS=1 they are also copied to docs/screenshots/
// for the README.

type tab struct {
	t    *testing.T
	ctx  context.Context
	srv  *apptest.Server
	base string // where the browser goes: srv.URL, or another front of the same app
}

func newTab(t *testing.T, srv *apptest.Server, width, height int) *tab {
	t.Helper()
	return newTabAt(t, srv, srv.URL, width, height)
}

// newTabAt opens a browser of its own (its own profile: cookies, storage)
// on base, an address serving srv's app.
func newTabAt(t *testing.T, srv *apptest.Server, base string, width, height int) *tab {
	t.Helper()
	exe := testutil.RequireProgram(t, "chromium", "chromium-browser")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("lang", "en-GB"),
		// As a desktop browser: no sound before the page is clicked
		// (headless Chromium would otherwise allow it).
		chromedp.Flag("autoplay-policy", "user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	b := &tab{t: t, ctx: ctx, srv: srv, base: base}
	b.do(chromedp.EmulateViewport(int64(width), int64(height)))
	return b
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v", err)
	}
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		b.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("browser: %s: %v", js, err)
	}
	return s
}

func (b *tab) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(u, b.base)
}

// signIn fills the sign-in form as a person would.
func (b *tab) signIn(login string) {
	b.t.Helper()
	b.open("/login")
	b.do(chromedp.SendKeys(chromedp.CSS("#f-login"), login), chromedp.SendKeys(chromedp.CSS("#f-password"), demo.Password),
		chromedp.Click(chromedp.CSS(".login-card button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".main-nav")))
}

// shot saves a screenshot of the page (the whole page, or the viewport when
// viewport is set) as name.png.
func (b *tab) shot(name string, viewport bool) {
	b.t.Helper()
	// The test server's TEST MODE band is left out of the pictures: they
	// show the pages as an operations room sees them.
	b.eval(`(function(){var x=document.querySelector(".test-mode"); if (x) x.style.display="none"; return ""})()`)
	if !viewport {
		// A full-page picture from the top (a click may have scrolled,
		// and sticky parts would be drawn where the scroll left them).
		b.eval(`(function(){ window.scrollTo(0, 0); return ""; })()`)
	}
	act := chromedp.FullScreenshot(100)
	if viewport {
		act = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, act)
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("SITROOM_SCREENSHOTS")
	if dir == "" {
		dir = shotDir(b.t)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	if os.Getenv("SITROOM_UPDATE_SCREENSHOTS") == "1" {
		docs := filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(docs, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

var shotDirs = map[*testing.T]string{}

func shotDir(t *testing.T) string {
	if d, ok := shotDirs[t]; ok {
		return d
	}
	d := t.TempDir()
	shotDirs[t] = d
	return d
}

// TestBrowserAdminCreatesAPost: an administrator signs in, submits the new
// post form once with a field missing (the message shows next to that
// field), completes it, and finds the post in the list.
func TestBrowserAdminCreatesAPost(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	b := newTab(t, srv, 1280, 900)
	b.open("/login")
	b.shot("login", true)
	b.signIn("admin@demo.sitroom.example")

	// The header clocks: local time in the organisation's zone and UTC.
	if got := b.text("[data-clock-utc]"); got != "09:00" {
		t.Errorf("UTC clock shows %q; the test clock is at 09:00 UTC", got)
	}
	if got := b.text(".clock-zone"); !strings.Contains(got, "Europe/Moscow") {
		t.Errorf("local clock zone %q", got)
	}

	b.open("/directory/posts/new")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-code"), "KZ-BORDER-CP"),
		chromedp.SetValue(chromedp.CSS("#f-kind"), "ministry"),
		chromedp.SendKeys(chromedp.CSS("#f-name_en"), "Duty unit of the Border Service of Kazakhstan"),
		chromedp.SetValue(chromedp.CSS("#f-state"), "KZ"),
		chromedp.SetValue(chromedp.CSS("#f-ministry_kind"), "border"),
		chromedp.SetValue(chromedp.CSS("#ck0"), "phone"),
		chromedp.SendKeys(chromedp.CSS("#cv0"), "+7 000 099-00-00"),
		chromedp.Click(chromedp.CSS("form.panel button.btn-primary")),
		chromedp.WaitVisible(chromedp.CSS("#e-name_ru")),
	)
	if got := b.text("#e-name_ru"); !strings.Contains(got, "Required") {
		t.Errorf("error next to the Russian name: %q", got)
	}
	// The message sits inside the field's own block, and what was typed is kept.
	if got := b.eval(`document.querySelector("#e-name_ru").closest(".field").querySelector("input").name`); got != "name_ru" {
		t.Errorf("the error is next to %q", got)
	}
	if got := b.eval(`document.querySelector("#f-name_en").value`); got != "Duty unit of the Border Service of Kazakhstan" {
		t.Errorf("the English name typed was lost: %q", got)
	}
	if got := b.eval(`document.querySelector("#cv0").value`); got != "+7 000 099-00-00" {
		t.Errorf("the contact typed was lost: %q", got)
	}
	b.shot("post_form_invalid", false)

	b.do(
		chromedp.SendKeys(chromedp.CSS("#f-name_ru"), "Дежурная часть Пограничной службы Казахстана"),
		chromedp.Click(chromedp.CSS("form.panel button.btn-primary")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if loc := b.location(); loc != "/directory/posts/KZ-BORDER-CP" {
		t.Fatalf("after creating: %s", loc)
	}
	if got := b.text(".localtime"); len(got) < 5 || !strings.Contains(b.text(".cols"), "Asia/Almaty") {
		t.Errorf("the post's local time and zone are not shown: %q", got)
	}

	b.open("/directory/posts?state=KZ")
	if list := b.text("table.list"); !strings.Contains(list, "Duty unit of the Border Service of Kazakhstan") || !strings.Contains(list, "KZ-BORDER-CP") {
		t.Errorf("the new post is not listed: %s", list)
	}
	b.open("/directory/posts")
	b.shot("posts", false)
	b.open("/directory/posts/KZ-MOD-CP")
	b.shot("post", false)
	b.open("/directory/people/p-kenzhebayev")
	b.shot("person", false)
	b.open("/profile")
	b.shot("profile", false)
	b.open("/admin/users")
	b.shot("users", false)
	b.do(chromedp.Click(chromedp.CSS(`table.list a.primary`)), chromedp.WaitVisible(chromedp.CSS(".grant-row")))
	b.shot("user", false)
	b.open("/directory/states")
	b.shot("states", false)

	// The dark scheme, as a duty desk at night would set it.
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	b.open("/directory/posts/KZ-MOD-CP")
	if bg := b.eval(`getComputedStyle(document.body).backgroundColor`); bg != "rgb(11, 17, 23)" {
		t.Errorf("dark scheme background %s", bg)
	}
	b.shot("post_dark", false)
}

// TestBrowserSwitchesToRussian: the language switch turns every text of the
// page into Russian and keeps the page.
func TestBrowserSwitchesToRussian(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	b := newTab(t, srv, 1280, 900)
	b.signIn("admin@demo.sitroom.example")
	b.open("/directory/posts?state=KZ")
	if got := b.text("main h1"); got != "Posts" {
		t.Fatalf("heading before the switch: %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`.lang-switch button[value="ru"]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang="ru"]`)))
	if loc := b.location(); loc != "/directory/posts?state=KZ" {
		t.Errorf("the switch left the page: %s", loc)
	}
	for sel, want := range map[string]string{
		"main h1":                            "Посты",
		".main-nav a[aria-current]":          "Справочник",
		".clock-label":                       "МЕСТНОЕ", // set in capitals by the stylesheet
		"label[for=q]":                       "Поиск",
		".logout button":                     "Выйти",
		"table.list tbody tr:first-child td": "Министерства обороны",
	} {
		if got := b.text(sel); !strings.Contains(got, want) {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	b.shot("posts_ru", false)
	// The choice is remembered: a new page, and the sign-in page after
	// signing out, are in Russian too.
	b.open("/profile")
	if got := b.text("main h1"); got != "Профиль" {
		t.Errorf("profile heading %q", got)
	}
	b.do(chromedp.Click(chromedp.CSS(`.who .logout button`)), chromedp.WaitVisible(chromedp.CSS(".login-card")))
	if got := b.text(".login-card h1"); got != "Вход в sitroom" {
		t.Errorf("sign-in page after sign-out: %q", got)
	}
}

// TestBrowserPostOfficerSeesOnlyTheirState: a duty officer of Kazakhstan
// sees no people of Belarus, and a Belarusian's page is "not found" (its
// existence is not disclosed), in the officer's language (Russian).
func TestBrowserPostOfficerSeesOnlyTheirState(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	b := newTab(t, srv, 1280, 900)
	b.signIn("kz.officer@demo.sitroom.example")
	b.open("/directory/people")
	list := b.text("table.list")
	if strings.Contains(list, "Гришкевич") || strings.Contains(list, "Grishkevich") || strings.Contains(list, "Беларусь") {
		t.Errorf("a Belarusian person is listed to a Kazakh officer")
	}
	if !strings.Contains(list, "Кенжебаев") {
		t.Errorf("the officer does not see himself: %s", list)
	}
	// No admin section, no "new" buttons.
	if n := b.eval(`String(document.querySelectorAll(".main-nav a[href^='/admin'], a[href$='/new']").length)`); n != "0" {
		t.Errorf("%s admin links offered to a post officer", n)
	}
	b.open("/directory/people/p-grishkevich")
	if got := b.text("main h1"); got != "Не найдено" {
		t.Errorf("a Belarusian's page shows %q", got)
	}
	b.shot("not_found_ru", true)
	// The Belarusian post's name is visible, its contacts are not.
	b.open("/directory/posts/BY-MES-CP")
	if got := b.text("main"); !strings.Contains(got, "видна только") || strings.Contains(got, "+375") {
		t.Errorf("contacts of a Belarusian post: %s", got)
	}
}

// TestBrowserPhoneWidth: the posts list fits a 390×844 phone screen
// without sideways scrolling.
func TestBrowserPhoneWidth(t *testing.T) {
	srv := apptest.Start(t, db.SQLite)
	b := newTab(t, srv, 390, 844)
	b.signIn("officer@demo.sitroom.example")
	b.open("/directory/posts")
	if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the page is %s px wide on a 390 px screen", w)
	}
	// Touch targets: links and buttons in the list and the header are at least 44 px high.
	small := b.eval(`(function(){var out=[];var els=document.querySelectorAll(".main-nav a, .tabs a, .filters .btn, .lang-switch button, table.list a.primary, .btn");
		for (var i=0;i<els.length;i++){var r=els[i].getBoundingClientRect(); if (r.height>0 && r.height<40) out.push(els[i].textContent.trim()+":"+r.height);}
		return out.join(", ");})()`)
	if small != "" {
		t.Errorf("touch targets under 40 px: %s", small)
	}
	b.shot("posts_phone", true)
	b.open("/directory/posts/KZ-MOD-CP")
	b.shot("post_phone", true)
}
