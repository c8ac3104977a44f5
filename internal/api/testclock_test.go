package api_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"sitroom/internal/app"
	"sitroom/internal/apptest"
	"sitroom/internal/config"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestTestClockRouteDoesNotExistOutsideTestMode(t *testing.T) {
	env := map[string]string{"SITROOM_DB": testutil.SQLiteDSN(t), "SITROOM_LOG_LEVEL": "error"}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	resolve := config.Bind(fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := resolve()
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.NewLogger(cfg, io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.Fake != nil {
		t.Fatal("a fake clock without test mode")
	}
	for _, method := range []string{"GET", "POST"} {
		r := httptest.NewRequest(method, "/api/v1/test/clock", nil)
		w := httptest.NewRecorder()
		a.Handler().ServeHTTP(w, r)
		checkProblem(t, method+" /api/v1/test/clock", w.Result(), w.Body.Bytes(), 404, "no-such-route")
	}
	var doc struct {
		Paths map[string]any `json:"paths"`
	}
	w := httptest.NewRecorder()
	a.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil || len(doc.Paths) < 20 {
		t.Fatalf("openapi.json: %v, %d paths", err, len(doc.Paths))
	}
	if _, ok := doc.Paths["/api/v1/test/clock"]; ok {
		t.Error("the document describes the test clock outside test mode")
	}
}

func TestTestClockMovesTimeForAdministratorsOnly(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	admin, viewer := s.Token(t, apptest.Admin, ""), s.Token(t, apptest.Viewer, "")
	now := func() time.Time {
		t.Helper()
		res, body := s.Do(t, "GET", "/api/v1/test/clock", viewer, nil)
		var c struct {
			Now time.Time `json:"now"`
		}
		if res.StatusCode != 200 || json.Unmarshal(body, &c) != nil {
			t.Fatalf("GET clock: %d %s", res.StatusCode, body)
		}
		return c.Now
	}
	if got := now(); !got.Equal(apptest.Epoch) {
		t.Fatalf("clock starts at %v, want %v", got, apptest.Epoch)
	}

	res, body := s.Do(t, "POST", "/api/v1/test/clock", viewer, map[string]string{"advance": "1h"})
	checkProblem(t, "viewer moves the clock", res, body, 403, "admin-only")
	res, body = s.Do(t, "POST", "/api/v1/test/clock", "", map[string]string{"advance": "1h"})
	checkProblem(t, "anonymous moves the clock", res, body, 401, "unauthorized")
	if got := now(); !got.Equal(apptest.Epoch) {
		t.Fatalf("refused moves moved the clock to %v", got)
	}

	res, body = s.Do(t, "POST", "/api/v1/test/clock", admin, map[string]string{"advance": "90s"})
	if res.StatusCode != 200 || string(body) != `{"now":"2026-01-15T09:01:30Z"}`+"\n" {
		t.Fatalf("advance: %d %s", res.StatusCode, body)
	}
	res, body = s.Do(t, "POST", "/api/v1/test/clock", admin, map[string]string{"set": "2026-03-01T12:00:00+05:00"})
	if res.StatusCode != 200 || string(body) != `{"now":"2026-03-01T07:00:00Z"}`+"\n" {
		t.Fatalf("set: %d %s", res.StatusCode, body)
	}
	want := time.Date(2026, 3, 1, 7, 0, 0, 0, time.UTC)
	if !s.Clock.Now().Equal(want) || !now().Equal(want) {
		t.Fatalf("clock at %v", s.Clock.Now())
	}

	// The stores read the same clock: a record archived now carries the
	// moved time, and so does the audit entry of the move.
	res, body = s.Do(t, "POST", "/api/v1/posts/CRC-DESK/archive", admin, nil)
	var p struct {
		ActiveTo *time.Time `json:"active_to"`
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &p) != nil || p.ActiveTo == nil || !p.ActiveTo.Equal(want) {
		t.Fatalf("archive after the move: %d %s", res.StatusCode, body)
	}
	entries, _, err := s.App.Audit.List(s.System(), auditFilter("test.clock"))
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit of clock moves: %v, %d entries", err, len(entries))
	}
}
