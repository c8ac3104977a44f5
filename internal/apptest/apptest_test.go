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

// With the network live, an alert sent through the API is acknowledged
// through group commit, and silence escalates when the test clock passes the
// deadline — on both engines.
func TestLiveAcknowledgesAndEscalates(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			centre := s.Token(t, "officer@demo.sitroom.example", "")
			res, body := s.Do(t, "POST", "/api/v1/alerts", centre, map[string]any{
				"title": "Check", "priority": "urgent", "ack_within_seconds": 300,
				"targets": map[string]any{"posts": []string{"KZ-MOD-CP", "BY-MOD-CP"}},
			})
			if res.StatusCode != http.StatusCreated {
				t.Fatalf("send: %d %s", res.StatusCode, body)
			}
			var al struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(body, &al)
			bound := s.Token(t, "kz.head@demo.sitroom.example", "KZ-MOD-CP")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/ack", bound, map[string]string{"post_id": "KZ-MOD-CP"})
			if res.StatusCode != http.StatusOK {
				t.Fatalf("ack: %d %s", res.StatusCode, body)
			}
			s.Clock.Advance(301 * time.Second)
			deadline := time.Now().Add(10 * time.Second)
			for {
				res, body = s.Do(t, "GET", "/api/v1/alerts/"+al.ID, centre, nil)
				var got struct {
					Deliveries []struct {
						PostID          string `json:"post_id"`
						State           string `json:"state"`
						EscalationLevel int    `json:"escalation_level"`
					} `json:"deliveries"`
				}
				_ = json.Unmarshal(body, &got)
				escalated, acked := 0, 0
				for _, d := range got.Deliveries {
					switch {
					case d.State == "acknowledged":
						acked++
					case d.EscalationLevel >= 1:
						escalated++
					}
				}
				if acked == 1 && escalated == 1 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("after the deadline: %s", body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}
