package api_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

// A readiness check created through the API fires at its time on the test
// clock, is invisible outside the centre until then, and its report comes
// as JSON, CSV and (the trend) SVG with the right content types.
func TestCheckCreatedThroughTheAPIFiresAtItsTime(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			centre, admin := s.Token(t, apptest.Officer, ""), s.Token(t, apptest.Admin, "")
			kz := s.Token(t, apptest.KZOfficer, "")
			at := apptest.Epoch.Add(10 * time.Minute)
			res, body := s.Do(t, "POST", "/api/v1/checks", centre, map[string]any{
				"title": "Joint training session", "body": "Acknowledge.", "priority": "routine", "ack_within_seconds": 120,
				"targets": map[string]any{"posts": []string{"KZ-MOD-CP", "KZ-MES-CP"}}, "kind": "at", "at": at})
			type check struct {
				ID       string  `json:"id"`
				State    string  `json:"state"`
				AlertID  *string `json:"alert_id"`
				Exercise bool    `json:"exercise"`
			}
			c := jsonOf[check](t, "create check", res, body, 201)
			if c.State != "scheduled" || !c.Exercise || res.Header.Get("Location") != "/api/v1/checks/"+c.ID {
				t.Fatalf("created: %s", body)
			}
			// Until it fires, the check does not exist outside the centre.
			res, body = s.Do(t, "GET", "/api/v1/checks/"+c.ID, kz, nil)
			checkProblem(t, "a post officer reads an unfired check", res, body, 404, "not-found")
			res, body = s.Do(t, "GET", "/api/v1/checks/"+c.ID+"/report", centre, nil)
			checkProblem(t, "the report of an unfired check", res, body, 409, "check-not-fired")

			res, body = s.Do(t, "POST", "/api/v1/test/clock", admin, map[string]string{"advance": "10m"})
			if res.StatusCode != 200 {
				t.Fatalf("clock: %d %s", res.StatusCode, body)
			}
			var fired check
			eventually(t, "the check fires", func() bool {
				res, body := s.Do(t, "GET", "/api/v1/checks/"+c.ID, centre, nil)
				fired = jsonOf[check](t, "get check", res, body, 200)
				return fired.State == "fired"
			})
			res, body = s.Do(t, "GET", "/api/v1/alerts/"+*fired.AlertID, kz, nil)
			sent := jsonOf[struct {
				Exercise  bool      `json:"exercise"`
				CreatedAt time.Time `json:"created_at"`
			}](t, "the check's alert", res, body, 200)
			if !sent.Exercise || !sent.CreatedAt.Equal(at) {
				t.Fatalf("the check's alert: %s", body)
			}
			// The officer on duty answers (a session: the person on duty).
			res, body = sessionDo(t, s, s.Session(t, apptest.KZOfficer), "POST", "/api/v1/alerts/"+*fired.AlertID+"/ack",
				map[string]string{"post_id": "KZ-MOD-CP"})
			if res.StatusCode != 200 {
				t.Fatalf("ack: %d %s", res.StatusCode, body)
			}
			// Now the post officer sees the fired check.
			if res, body := s.Do(t, "GET", "/api/v1/checks/"+c.ID, kz, nil); res.StatusCode != 200 {
				t.Errorf("a post officer reads the fired check: %d %s", res.StatusCode, body)
			}

			res, body = s.Do(t, "GET", "/api/v1/checks/"+c.ID+"/report", centre, nil)
			rep := jsonOf[struct {
				Summary struct {
					Addressed int `json:"addressed"`
					OnTime    int `json:"on_time"`
				} `json:"summary"`
				Rows []struct {
					Code string `json:"code"`
				} `json:"rows"`
			}](t, "report", res, body, 200)
			if rep.Summary.Addressed != 2 || rep.Summary.OnTime != 1 || len(rep.Rows) != 2 || rep.Rows[0].Code != "KZ-MOD-CP" {
				t.Fatalf("report: %s", body)
			}

			res, body = s.Do(t, "GET", "/api/v1/checks/"+c.ID+"/report.csv", centre, nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
				t.Fatalf("CSV: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			if cd := res.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) || !strings.HasSuffix(cd, `.csv"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
			if err != nil || len(recs) != 3 || recs[0][1] != "code" || recs[1][1] != "KZ-MOD-CP" {
				t.Fatalf("CSV: %v %q", err, body)
			}

			res, body = s.Do(t, "GET", "/api/v1/readiness/trend?months=3&post=KZ-MOD-CP", centre, nil)
			if res.StatusCode != 200 || !strings.Contains(string(body), `"KZ-MOD-CP"`) {
				t.Fatalf("trend: %d %s", res.StatusCode, body)
			}
			res, body = s.Do(t, "GET", "/api/v1/readiness/trend.svg?months=3&lang=ru", centre, nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" || res.Header.Get("Cache-Control") != "private" ||
				!bytes.Contains(body, []byte("<svg")) {
				t.Fatalf("SVG: %d %q %q %.200s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"), body)
			}
			res, body = s.Do(t, "GET", "/api/v1/readiness/trend.svg", kz, nil)
			checkProblem(t, "a post officer's trend", res, body, 403, "")
		})
	}
}
