package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sitroom/demo"
	"sitroom/internal/apptest"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/directory"
)

// demoUsers returns one demo login per role (the first the file lists).
func demoUsers(t *testing.T) map[string]string {
	t.Helper()
	f, err := directory.ParseFile(bytes.NewReader(demo.OrgYAML()), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, u := range f.Users {
		for _, r := range u.Roles {
			role, _, _ := strings.Cut(r, ":")
			if _, ok := out[role]; !ok {
				out[role] = u.Login
			}
		}
	}
	for _, r := range auth.Roles {
		if _, ok := out[string(r)]; !ok {
			t.Fatalf("the demo has no user with role %s", r)
		}
	}
	return out
}

func get(t *testing.T, c *http.Client, u string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var (
	tagRE      = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<[^>]*>`)
	rawKeyRE   = regexp.MustCompile(`!\([a-z_]+\.[a-z_.0-9]+\)`)
	catalogues = func() map[string]string {
		b, err := os.ReadFile("i18n/en.json")
		if err != nil {
			panic(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			panic(err)
		}
		return m
	}()
)

// checkNoRawKeys fails when the page shows a key instead of a text: the
// mark of a missing text, or a catalogue key standing alone as text.
func checkNoRawKeys(t *testing.T, what, body string) {
	t.Helper()
	if m := rawKeyRE.FindString(body); m != "" {
		t.Errorf("%s shows a raw key: %s", what, m)
	}
	if i := strings.Index(body, "%!"); i >= 0 {
		t.Errorf("%s shows a formatting error: %.60s", what, body[i:])
	}
	for _, word := range strings.Fields(tagRE.ReplaceAllString(body, " ")) {
		if _, ok := catalogues[word]; ok && strings.Contains(word, ".") {
			t.Errorf("%s shows the key %q as text", what, word)
		}
	}
}

// TestEveryPageRendersForEveryRole signs in as one demo user of each role
// and opens every page of the interface: none may fail with a 500 or show
// a raw key, and what a role may not use answers 403 or 404 as a page.
func TestEveryPageRendersForEveryRole(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	ctx := auth.With(context.Background(), auth.System("test"))
	admin, err := s.App.Users.UserByLogin(ctx, "admin@demo.sitroom.example")
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"/", "/profile", "/directory", "/login",
		"/directory/posts", "/directory/posts?q=defence&state=KZ&kind=ministry&ministry=defence&archived=1",
		"/directory/posts/KZ-MOD-CP", "/directory/posts/BY-MES-CP", "/directory/posts/CRC-DESK",
		"/directory/posts/new", "/directory/posts/KZ-MOD-CP/edit",
		"/directory/people", "/directory/people?state=BY", "/directory/people/p-grishkevich", "/directory/people/p-kenzhebayev",
		"/directory/people/new", "/directory/people/p-kenzhebayev/edit",
		"/directory/bodies", "/directory/bodies?kind=council", "/directory/bodies/new",
		"/directory/states", "/directory/states/AM", "/directory/states/KZ/edit", "/directory/states/new",
		"/admin/users", "/admin/users/new", "/admin/users/" + admin.ID,
		"/no/such/page", "/directory/posts/NO-SUCH-POST",
	}
	fx := newOpsFixture(t, s)
	paths = append(paths,
		"/board",
		"/alerts", "/alerts?state=open&exercise=1", "/alerts?state=closed", "/alerts/new", "/alerts/new?post=KZ-MOD-CP&corrects="+fx.Alert,
		"/alerts/"+fx.Alert, "/alerts/"+fx.Exercise, "/alerts/no-such-alert", "/alerts/templates",
		"/duty",
		"/rosters", "/rosters/gaps", "/rosters/gaps?days=30", "/rosters/KZ-MOD-CP", "/rosters/KZ-MOD-CP?week=2026-01-19",
		"/rosters/BY-MES-CP", "/rosters/CRC-DESK", "/rosters/KZ-MOD-CP/rotations/new", "/rosters/KZ-MOD-CP/rotations/"+fx.Rotation,
		"/rosters/KZ-MOD-CP/escalation",
		"/readiness", "/readiness/new", "/readiness/"+fx.Check, "/readiness/"+fx.Scheduled, "/readiness/series/"+fx.Series,
		"/ack/not-a-valid-token",
	)
	// Each operational section is for the roles of its navigation entry;
	// anyone else gets a 403 or 404 page.
	sections := map[string][]auth.Role{
		"/board":     {auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer, auth.Admin},
		"/alerts":    {auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer},
		"/duty":      {auth.PostHead, auth.PostOfficer, auth.CentreSupervisor, auth.CentreOfficer},
		"/rosters":   {auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.PostOfficer, auth.Admin},
		"/readiness": {auth.CentreSupervisor, auth.CentreOfficer, auth.PostHead, auth.Admin},
	}
	// Pages every centre officer must get (not merely "no 500").
	centreOK := regexp.MustCompile(`^/(board|alerts(\?|$|/new|/0)|duty|rosters(\?|$|/gaps|/[A-Z-]+($|\?))|readiness)`)
	adminOnly := regexp.MustCompile(`^/(admin/|directory/[a-z]+/(new|[^/]+/edit))`)
	for role, login := range demoUsers(t) {
		t.Run(role, func(t *testing.T) {
			c := s.Session(t, login)
			isAdmin := role == string(auth.Admin)
			for _, p := range paths {
				for _, lang := range []string{"en", "ru"} {
					req, _ := http.NewRequest("GET", s.URL+p, nil)
					req.Header.Set("Accept-Language", lang)
					resp, err := c.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					body := string(b)
					what := role + " " + p
					switch {
					case resp.StatusCode >= 500:
						t.Errorf("%s: %d\n%s", what, resp.StatusCode, body)
					case resp.StatusCode == http.StatusSeeOther:
						if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "/login") {
							t.Errorf("%s: sent to sign in although signed in", what)
						}
						continue
					}
					if adminOnly.MatchString(p) && !isAdmin && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
						t.Errorf("%s: status %d for a page only administrators use", what, resp.StatusCode)
					}
					for prefix, roles := range sections {
						if !strings.HasPrefix(p, prefix) || slices.Contains(roles, auth.Role(role)) {
							continue
						}
						if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
							t.Errorf("%s: status %d, want 403 or 404 (the section is not for this role)", what, resp.StatusCode)
						}
					}
					if role == string(auth.CentreOfficer) && centreOK.MatchString(p) && !strings.Contains(p, "no-such") && resp.StatusCode != http.StatusOK {
						t.Errorf("%s: status %d for the centre", what, resp.StatusCode)
					}
					if !strings.Contains(body, "<html lang=") {
						t.Errorf("%s: not a page (%d): %.200s", what, resp.StatusCode, body)
					}
					checkNoRawKeys(t, what, body)
				}
			}
		})
	}
}

// TestAnonymousVisitsAreSentToSignIn: every page but the sign-in page
// redirects to it, with the page to come back to.
func TestAnonymousVisitsAreSentToSignIn(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/profile", "/directory/posts?state=KZ", "/directory/people/p-grishkevich", "/admin/users"} {
		resp, err := c.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "/login?next=" + url.QueryEscape(p)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("%s: %d to %q, want 303 to %q", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	st, body, _ := get(t, c, s.URL+"/login")
	if st != 200 || !strings.Contains(body, `name="csrf_token"`) {
		t.Fatalf("sign-in page: %d", st)
	}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// TestSignInFlow covers the sign-in form: the anonymous CSRF token, a wrong
// password's message, the way back to the page asked for, and sign-out.
func TestSignInFlow(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := browser()
	_, body, _ := get(t, c, s.URL+"/login?next=/directory/people")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the sign-in form")
	}
	tok := m[1]
	login := "kz.officer@demo.sitroom.example"

	// A form without the token (or from a client without the cookie) is refused.
	if st, _, _ := postForm(t, browser(), s.URL+"/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {demo.Password}}); st != http.StatusForbidden {
		t.Errorf("sign-in without the CSRF cookie: %d, want 403", st)
	}
	if st, _, _ := postForm(t, c, s.URL+"/login", url.Values{"login": {login}, "password": {demo.Password}}); st != http.StatusForbidden {
		t.Errorf("sign-in without the CSRF field: %d, want 403", st)
	}

	st, body, _ := postForm(t, c, s.URL+"/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {"wrong-password"}, "next": {"/directory/people"}})
	if st != http.StatusUnauthorized || !strings.Contains(body, "The e-mail or the password is wrong") {
		t.Errorf("wrong password: %d, message missing", st)
	}
	if !strings.Contains(body, `value="`+login+`"`) {
		t.Error("the login typed is not kept in the form")
	}

	st, _, h := postForm(t, c, s.URL+"/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {demo.Password}, "next": {"/directory/people"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/directory/people" {
		t.Fatalf("sign-in: %d to %q", st, h.Get("Location"))
	}
	// The demo user's saved language is Russian: the page speaks it.
	_, body, _ = get(t, c, s.URL+"/directory/people")
	if !strings.Contains(body, `<html lang="ru">`) || !strings.Contains(body, "Люди") {
		t.Errorf("the saved locale (ru) is not used: %.300s", body)
	}
	// A foreign return URL is ignored.
	_, body, _ = get(t, c, s.URL+"/profile")
	tok = csrfRE.FindStringSubmatch(body)[1]
	st, _, h = postForm(t, c, s.URL+"/logout", url.Values{"csrf_token": {tok}})
	if st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("sign-out: %d to %q", st, h.Get("Location"))
	}
	if st, _, h := get(t, c, s.URL+"/profile"); st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login") {
		t.Errorf("after sign-out the profile answers %d", st)
	}
	_, body, _ = get(t, c, s.URL+"/login")
	tok = csrfRE.FindStringSubmatch(body)[1]
	_, _, h = postForm(t, c, s.URL+"/login", url.Values{"csrf_token": {tok}, "login": {login}, "password": {demo.Password}, "next": {"//evil.example/"}})
	if h.Get("Location") != "/" {
		t.Errorf("a foreign return URL was followed: %q", h.Get("Location"))
	}
}

// TestThrottledSignInSaysHowLongToWait: after repeated failures the form
// says how long to wait, in seconds.
func TestThrottledSignInSaysHowLongToWait(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := browser()
	_, body, _ := get(t, c, s.URL+"/login")
	tok := csrfRE.FindStringSubmatch(body)[1]
	for i := 0; i < 30; i++ {
		st, body, h := postForm(t, c, s.URL+"/login", url.Values{"csrf_token": {tok}, "login": {"viewer@demo.sitroom.example"}, "password": {"wrong-password"}})
		if st == http.StatusTooManyRequests {
			if h.Get("Retry-After") == "" || !regexp.MustCompile(`Wait \d+ seconds?`).MatchString(body) || !strings.Contains(body, "data-countdown") {
				t.Fatalf("throttled answer lacks the wait: %s", body)
			}
			return
		}
		if st != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, st)
		}
	}
	t.Fatal("30 wrong passwords in a row were never slowed down")
}

// TestLanguageSwitchIsRemembered: before sign-in in a cookie, after sign-in
// on the account.
func TestLanguageSwitchIsRemembered(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := browser()
	req, _ := http.NewRequest("GET", s.URL+"/login", nil)
	req.Header.Set("Accept-Language", "ru-RU,ru;q=0.9")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "Вход в sitroom") {
		t.Fatal("Accept-Language: ru is not the first guess")
	}
	tok := csrfRE.FindStringSubmatch(string(b))[1]
	st, _, h := postForm(t, c, s.URL+"/lang", url.Values{"csrf_token": {tok}, "lang": {"en"}, "next": {"/login"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("switch: %d %q", st, h.Get("Location"))
	}
	_, body, _ := get(t, c, s.URL+"/login")
	if !strings.Contains(body, "Sign in to sitroom") {
		t.Fatal("the cookie does not override Accept-Language")
	}
	// Signed in as an English-speaking user, switch to Russian: saved.
	sess := s.Session(t, "planner@demo.sitroom.example")
	_, body, _ = get(t, sess, s.URL+"/profile")
	if !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("the planner's saved language is English")
	}
	tok = csrfRE.FindStringSubmatch(body)[1]
	if st, _, _ := postForm(t, sess, s.URL+"/lang", url.Values{"csrf_token": {tok}, "lang": {"ru"}, "next": {"/profile"}}); st != http.StatusSeeOther {
		t.Fatalf("switch: %d", st)
	}
	ctx := auth.With(context.Background(), auth.System("test"))
	u, err := s.App.Users.UserByLogin(ctx, "planner@demo.sitroom.example")
	if err != nil || u.Locale != "ru" {
		t.Fatalf("locale not saved: %v %+v", err, u)
	}
}

// TestStaticAssetsAreHashedAndCachedForAYear: the layout links the
// stylesheet by a content-hashed URL that is cached for a year.
func TestStaticAssetsAreHashedAndCachedForAYear(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	_, body, _ := get(t, browser(), s.URL+"/login")
	m := regexp.MustCompile(`href="(/static/app\.[0-9a-f]{12}\.css)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no hashed stylesheet link")
	}
	st, css, h := get(t, browser(), s.URL+m[1])
	if st != 200 || !strings.Contains(h.Get("Cache-Control"), "max-age=31536000") || !strings.HasPrefix(h.Get("Content-Type"), "text/css") || len(css) < 1000 {
		t.Fatalf("asset: %d %q %q", st, h.Get("Cache-Control"), h.Get("Content-Type"))
	}
	if st, _, _ := get(t, browser(), s.URL+"/static/app.000000000000.css"); st != 404 {
		t.Errorf("an unknown asset answers %d", st)
	}
}

// formPage opens path with the signed-in client and returns its CSRF token.
func formToken(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	_, body, _ := get(t, c, u)
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form on %s", u)
	}
	return m[1]
}

// TestAdminManagesUsersAndArchives: an administrator creates a user with a
// scoped role (a bad role row is reported next to that row), and archives
// and restores a post; a viewer is refused the same forms with a page.
func TestAdminManagesUsersAndArchives(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, "admin@demo.sitroom.example")
	tok := formToken(t, c, s.URL+"/admin/users/new")
	v := url.Values{"csrf_token": {tok}, "login": {"new.officer@demo.sitroom.example"}, "name_en": {"New Officer"}, "name_ru": {"Новый дежурный"},
		"locale": {"ru"}, "grant_role": {"post_officer", "post_head"}, "grant_scope": {"KZ", ""}}
	st, body, _ := postForm(t, c, s.URL+"/admin/users", v)
	if st != http.StatusUnprocessableEntity {
		t.Fatalf("a head of post without a post: %d", st)
	}
	if !strings.Contains(body, "This role needs a scope") || !strings.Contains(body, `value="new.officer@demo.sitroom.example"`) {
		t.Errorf("the role row's error or the typed login is missing:\n%s", body)
	}
	v["grant_scope"] = []string{"KZ", "KZ-MOD-CP"}
	st, _, h := postForm(t, c, s.URL+"/admin/users", v)
	if st != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/admin/users/") {
		t.Fatalf("create: %d %q", st, h.Get("Location"))
	}
	_, body, _ = get(t, c, s.URL+h.Get("Location"))
	if !strings.Contains(body, `value="KZ-MOD-CP" selected`) || !strings.Contains(body, `value="post_head" selected`) {
		t.Errorf("the new user's roles are not shown")
	}
	// The same login again is a conflict shown above the form.
	st, body, _ = postForm(t, c, s.URL+"/admin/users", v)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "already exists") {
		t.Errorf("duplicate login: %d", st)
	}

	tok = formToken(t, c, s.URL+"/directory/posts/KZ-MVD-CP")
	st, _, h = postForm(t, c, s.URL+"/directory/posts/KZ-MVD-CP/archive", url.Values{"csrf_token": {tok}, "archived": {"1"}})
	if st != http.StatusSeeOther || h.Get("Location") != "/directory/posts/KZ-MVD-CP" {
		t.Fatalf("archive: %d %q", st, h.Get("Location"))
	}
	_, body, _ = get(t, c, s.URL+"/directory/posts/KZ-MVD-CP")
	if !strings.Contains(body, "Archived.") || !strings.Contains(body, ">Restore<") {
		t.Error("the archived post's page has no flash or restore button")
	}
	_, body, _ = get(t, c, s.URL+"/directory/posts")
	if strings.Contains(body, "KZ-MVD-CP") {
		t.Error("an archived post is listed without the archived filter")
	}
	_, body, _ = get(t, c, s.URL+"/directory/posts?archived=1")
	if !strings.Contains(body, "KZ-MVD-CP") {
		t.Error("an archived post is missing from the archived list")
	}
	if st, _, _ := postForm(t, c, s.URL+"/directory/posts/KZ-MVD-CP/archive", url.Values{"csrf_token": {tok}, "archived": {"0"}}); st != http.StatusSeeOther {
		t.Fatalf("restore: %d", st)
	}
	// A member state's dated status, with a bad date first.
	st, body, _ = postForm(t, c, s.URL+"/directory/states/KG/status", url.Values{"csrf_token": {tok}, "status": {"suspended"}, "valid_from": {"2026-13-40"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Write the date as YYYY-MM-DD") {
		t.Errorf("bad status date: %d", st)
	}

	viewer := s.Session(t, "viewer@demo.sitroom.example")
	vt := formToken(t, viewer, s.URL+"/directory/posts/KZ-MOD-CP")
	st, body, _ = postForm(t, viewer, s.URL+"/directory/posts/KZ-MOD-CP/archive", url.Values{"csrf_token": {vt}, "archived": {"1"}})
	if st != http.StatusForbidden || !strings.Contains(body, "<html lang=") {
		t.Errorf("a viewer archiving: %d, want a 403 page", st)
	}
	if strings.Contains(body, ">Archive<") {
		t.Error("the archive button is offered to a viewer")
	}
}

// TestProfileChangesZoneAndPassword: the header clock follows the zone
// chosen in the profile; a password change checks the current one and the
// repetition.
func TestProfileChangesZoneAndPassword(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, "kz.head@demo.sitroom.example")
	tok := formToken(t, c, s.URL+"/profile")
	if st, _, _ := postForm(t, c, s.URL+"/profile", url.Values{"csrf_token": {tok}, "locale": {"en"}, "tz": {"Asia/Almaty"}}); st != http.StatusSeeOther {
		t.Fatalf("save: %d", st)
	}
	_, body, _ := get(t, c, s.URL+"/profile")
	// 09:00 UTC is 14:00 in Almaty (UTC+5 since 2024-03-01).
	if !strings.Contains(body, `data-clock-local>14:00<`) || !strings.Contains(body, "Asia/Almaty") {
		t.Errorf("the header clock does not follow the chosen zone")
	}
	st, body, _ := postForm(t, c, s.URL+"/profile", url.Values{"csrf_token": {tok}, "locale": {"en"}, "tz": {"Mars/Olympus"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "Unknown time zone") {
		t.Errorf("unknown zone: %d", st)
	}
	st, body, _ = postForm(t, c, s.URL+"/profile/password", url.Values{"csrf_token": {tok}, "old_password": {demo.Password},
		"new_password": {"a-long-new-password"}, "new_password_again": {"another-password"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "The two new passwords differ") {
		t.Errorf("mismatch: %d", st)
	}
	st, body, _ = postForm(t, c, s.URL+"/profile/password", url.Values{"csrf_token": {tok}, "old_password": {"not-the-password"},
		"new_password": {"a-long-new-password"}, "new_password_again": {"a-long-new-password"}})
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "The current password is wrong") {
		t.Errorf("wrong current password: %d", st)
	}
	st, _, _ = postForm(t, c, s.URL+"/profile/password", url.Values{"csrf_token": {tok}, "old_password": {demo.Password},
		"new_password": {"a-long-new-password"}, "new_password_again": {"a-long-new-password"}})
	if st != http.StatusSeeOther {
		t.Fatalf("change: %d", st)
	}
	// Sign out everywhere ends this session too.
	if st, _, h := postForm(t, c, s.URL+"/profile/sessions/revoke", url.Values{"csrf_token": {tok}}); st != http.StatusSeeOther || h.Get("Location") != "/login" {
		t.Fatalf("sign out everywhere: %d %q", st, h.Get("Location"))
	}
	if st, _, _ := get(t, c, s.URL+"/profile"); st != http.StatusSeeOther {
		t.Errorf("still signed in after signing out everywhere: %d", st)
	}
}
