// Package apptest starts a whole sitroom for black-box tests: the real app
// (app.New, every middleware and route) in test mode, with the fake clock at
// 2026-01-15T09:00:00Z, on a fresh store of either engine holding the demo
// organisation (every demo user's password is demo.Password), served by
// httptest. Tests drive it over HTTP with API tokens or signed-in sessions,
// and may reach the stores through Server.App.
//
// It is for tests only: it must never be imported by non-test code, and it
// holds no rules of its own.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"sitroom/demo"
	"sitroom/internal/app"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
	"sitroom/internal/httpx"
	"sitroom/internal/testutil"
	"sitroom/internal/users"
)

// Epoch is where the test clock starts.
var Epoch = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

// Server is a running sitroom.
type Server struct {
	App   *app.App
	URL   string      // e.g. http://127.0.0.1:41234, no trailing slash
	Clock *clock.Fake // the server's clock; Advance/Set move it
	// DSN is the store's: an SQLite file path or a postgres:// URL, for
	// running CLI commands against the same database.
	DSN string

	mu     sync.Mutex
	tokens map[string]string // "login|post" → token
}

// Start starts a server on a fresh store of engine (db.SQLite or
// db.Postgres; PostgreSQL skips or fails as testutil decides when none
// answers) and stops it when the test ends.
func Start(t testing.TB, engine db.Dialect) *Server {
	t.Helper()
	ctx := context.Background()
	var dsn string
	switch engine {
	case db.SQLite:
		dsn = testutil.SQLiteDSN(t)
	case db.Postgres:
		dsn = testutil.PostgresDSN(t)
	default:
		t.Fatalf("apptest: unknown engine %q", engine)
	}
	lw := &testLog{t: t}
	a, err := newApp(ctx, dsn, lw)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	if err := seed(ctx, a); err != nil {
		a.Close()
		t.Fatalf("apptest: demo organisation on %s: %v", engine, err)
	}
	sealCtx, stopSealer := context.WithCancel(context.Background())
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		a.Audit.RunSealer(sealCtx, a.Log)
	}()
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		hs.Close()
		stopSealer()
		<-sealed
		a.Close()
		lw.stop()
	})
	return &Server{App: a, URL: hs.URL, Clock: a.Fake, DSN: dsn, tokens: map[string]string{}}
}

// Live runs, until the test ends, the loops of the readiness network: the
// event hub (streams), the group committer (acknowledgements, receipts,
// heartbeats), and the escalation engine and readiness scheduler, which are
// ticked here whenever the test clock moves (and every 20 ms) rather than
// through their Run, so a test that moves the clock sees their work at once.
// The real server's loops (app.StartLoops) are exercised by the e2e tests.
func (s *Server) Live(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(f func(context.Context)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(ctx)
		}()
	}
	run(s.App.Hub.Run)
	run(s.App.Group.Run)
	run(func(ctx context.Context) {
		sys := auth.With(ctx, auth.System("test-loops"))
		for {
			changed := s.Clock.Changed()
			if _, err := s.App.Engine.Tick(sys); err != nil && ctx.Err() == nil {
				t.Logf("engine tick: %v", err)
			}
			if _, err := s.App.Scheduler.Tick(sys); err != nil && ctx.Err() == nil {
				t.Logf("scheduler tick: %v", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-changed:
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}

// newApp builds the app on dsn in test mode, logging warnings and errors to w.
func newApp(ctx context.Context, dsn string, w io.Writer) (*app.App, error) {
	env := map[string]string{
		"SITROOM_DB": dsn, "SITROOM_TEST_MODE": "1", "SITROOM_TEST_CLOCK": Epoch.Format(time.RFC3339),
		"SITROOM_DB_MAX_CONNS": "4", "SITROOM_LOG_LEVEL": "warn", "SITROOM_ADDR": "127.0.0.1:0",
	}
	fs := flag.NewFlagSet("apptest", flag.ContinueOnError)
	resolve := config.Bind(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		return nil, err
	}
	cfg, err := resolve()
	if err != nil {
		return nil, err
	}
	return app.New(ctx, cfg, app.NewLogger(cfg, w))
}

// seed fills the store with the demo organisation exactly as `sitroom demo`
// does, and seals the audit entries that wrote.
func seed(ctx context.Context, a *app.App) error {
	res, err := demo.Seed(ctx, a.Directory, a.Users)
	if err != nil {
		return err
	}
	if !res.Fresh {
		return fmt.Errorf("the new store already held a directory")
	}
	_, err = a.Audit.SealPending(ctx)
	return err
}

// System is a context acting as the system (every permission), for
// arranging what a test needs through the stores.
func (s *Server) System() context.Context {
	return auth.With(context.Background(), auth.System("apptest"))
}

// As is a context acting as the user with this login, with their grants,
// for calling the stores directly as that user.
func (s *Server) As(t testing.TB, login string) context.Context {
	t.Helper()
	u, err := s.App.Users.UserByLogin(s.System(), login)
	if err != nil {
		t.Fatalf("apptest: user %s: %v", login, err)
	}
	a, err := s.App.Users.ActorForUser(context.Background(), u.ID)
	if err != nil {
		t.Fatalf("apptest: actor %s: %v", login, err)
	}
	return auth.With(context.Background(), a)
}

// Token returns an API token of the user with this login, bound to the post
// with postCode unless it is empty. Tokens are made once per server and
// reused, so asking again adds nothing to the audit log.
func (s *Server) Token(t testing.TB, login, postCode string) string {
	t.Helper()
	key := users.NormLogin(login) + "|" + postCode
	s.mu.Lock()
	defer s.mu.Unlock()
	if tok, ok := s.tokens[key]; ok {
		return tok
	}
	tok, _, err := s.App.Users.CreateToken(s.System(), login, postCode, "apptest")
	if err != nil {
		t.Fatalf("apptest: token for %s (post %q): %v", login, postCode, err)
	}
	s.tokens[key] = tok
	return tok
}

// NewRequest builds a request to path (e.g. /api/v1/posts). A body that is
// []byte or string is sent as is; anything else (but nil) as JSON. A body
// is labelled application/json.
func (s *Server) NewRequest(t testing.TB, method, path string, body any) *http.Request {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("apptest: body: %v", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// Send sends req with client c (nil: a plain client without cookies) and
// returns the response with its body read (and closed).
func (s *Server) Send(t testing.TB, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	if c == nil {
		c = noRedirects
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("apptest: %s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("apptest: read %s %s: %v", req.Method, req.URL.Path, err)
	}
	return res, b
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Do sends a request with the bearer token (none when empty); see
// NewRequest for the body.
func (s *Server) Do(t testing.TB, method, path, token string, body any) (*http.Response, []byte) {
	t.Helper()
	req := s.NewRequest(t, method, path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return s.Send(t, nil, req)
}

// Login signs in as login with the demo password, as a browser would, and
// returns the session cookie's value and the session's CSRF token.
func (s *Server) Login(t testing.TB, login string) (cookie, csrf string) {
	t.Helper()
	sess, cookie, err := s.App.Users.Login(context.Background(), login, demo.Password, "127.0.0.1", "apptest")
	if err != nil {
		t.Fatalf("apptest: sign in as %s: %v", login, err)
	}
	return cookie, sess.CSRF
}

// Session returns a client signed in as login: its cookie jar holds the
// session cookie, and it adds the session's CSRF token (X-CSRF-Token) to
// every request but GET, HEAD and OPTIONS. It does not follow redirects, so
// tests see them.
func (s *Server) Session(t testing.TB, login string) *http.Client {
	t.Helper()
	cookie, csrf := s.Login(t, login)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(s.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: httpx.SessionCookie, Value: cookie, Path: "/"}})
	return &http.Client{
		Jar:           jar,
		Transport:     csrfTransport{csrf: csrf, next: http.DefaultTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type csrfTransport struct {
	csrf string
	next http.RoundTripper
}

func (c csrfTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if r.Header.Get(httpx.CSRFHeader) == "" {
			r = r.Clone(r.Context())
			r.Header.Set(httpx.CSRFHeader, c.csrf)
		}
	}
	return c.next.RoundTrip(r)
}

// testLog passes the server's warnings and errors to the test's log until
// the test ends.
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) stop() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}
