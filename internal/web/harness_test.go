package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/httpx"
	"sitroom/internal/testutil"
	"sitroom/internal/users"
)

// testSite is the web interface alone over a fresh SQLite store holding the
// demo organisation, with the middleware the app puts around it. It lets
// the handler tests run without the rest of the server.
type testSite struct {
	*httptest.Server
	web   *Web
	users *users.Store
	clock *clock.Fake
}

func startSite(t *testing.T) *testSite {
	t.Helper()
	d := testutil.Open(t, db.SQLite)
	clk := clock.NewFake(time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC), true)
	al := audit.New(d, clk)
	dir := directory.New(d, clk, al)
	us := users.New(d, clk, al, users.Options{})
	ctx := auth.With(context.Background(), auth.System("test"))
	f, err := directory.ParseFile(bytes.NewReader(demo.OrgYAML()), "org.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Import(ctx, f, directory.ImportOptions{Users: us.ImportFileUsers}); err != nil {
		t.Fatal(err)
	}
	list, _, err := us.ListUsers(ctx, users.UserQuery{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range list {
		if err := us.SetPassword(ctx, u.ID, "", demo.Password); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	w, err := New(Deps{DB: d, Clock: clk, Audit: al, Directory: dir, Users: us, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.Routes(mux)
	res := httpx.Resolver{
		Session: func(ctx context.Context, cookie, ip string) (*auth.Actor, string, error) {
			a, s, err := us.SessionActor(ctx, cookie, ip)
			if err != nil {
				return nil, "", err
			}
			return a, s.CSRF, nil
		},
		Token: us.TokenActor,
	}
	h := httpx.Chain(httpx.Routed(mux), httpx.Observe(log, nil), httpx.SecurityHeaders(false),
		httpx.Authenticate(res, false), httpx.ProtectCSRF())
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testSite{Server: srv, web: w, users: us, clock: clk}
}

// client is a browser-like client: a cookie jar, no automatic redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (s *testSite) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type response struct {
	status int
	body   string
	header http.Header
}

func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	return c.do(req)
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: string(b), header: resp.Header}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf reads the form token from a page.
func (p response) csrf() string {
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// login signs the client in as login with the demo password.
func (c *client) login(login string) {
	c.t.Helper()
	p := c.get("/login")
	r := c.post("/login", url.Values{"csrf_token": {p.csrf()}, "login": {login}, "password": {demo.Password}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("login %s: status %d\n%s", login, r.status, r.body)
	}
}
