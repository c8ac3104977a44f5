package apptest_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"sitroom/internal/apptest"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestStartServesTheDemoOrganisation(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			if !s.Clock.Now().Equal(apptest.Epoch) {
				t.Fatalf("clock at %v", s.Clock.Now())
			}
			res, body := s.Do(t, "GET", "/api/v1/posts?limit=500", s.Token(t, "admin@demo.sitroom.example", ""), nil)
			if res.StatusCode != 200 {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			var page struct {
				Items []struct {
					Code string `json:"code"`
				} `json:"items"`
			}
			if err := json.Unmarshal(body, &page); err != nil || len(page.Items) < 10 {
				t.Fatalf("posts: %v %s", err, body)
			}
		})
	}
}

func TestSessionClientSendsCSRFAndTokenIsReused(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	c := s.Session(t, "admin@demo.sitroom.example")
	res, body := s.Send(t, c, s.NewRequest(t, "POST", "/api/v1/test/clock", map[string]string{"advance": "90s"}))
	if res.StatusCode != http.StatusOK {
		t.Fatalf("move clock with a session: %d %s", res.StatusCode, body)
	}
	if want := apptest.Epoch.Add(90 * time.Second); !s.Clock.Now().Equal(want) {
		t.Fatalf("clock at %v, want %v", s.Clock.Now(), want)
	}
	// Without the CSRF header the same session is refused.
	req := s.NewRequest(t, "POST", "/api/v1/test/clock", map[string]string{"advance": "90s"})
	req.Header.Set("X-CSRF-Token", "wrong")
	if res, _ := s.Send(t, c, req); res.StatusCode != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d", res.StatusCode)
	}
	if a, b := s.Token(t, "viewer@demo.sitroom.example", ""), s.Token(t, "viewer@demo.sitroom.example", ""); a != b {
		t.Fatal("token made twice")
	}
}
