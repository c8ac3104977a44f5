package api_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

type ackOut struct {
	DeliveryID string `json:"delivery_id"`
	PostID     string `json:"post_id"`
	AckedAt    string `json:"acked_at"`
	AckedBy    *struct {
		Login *string `json:"login"`
	} `json:"acked_by"`
	Channel  string `json:"ack_channel"`
	Late     bool   `json:"late"`
	Repeated bool   `json:"repeated"`
}

// warm makes the tokens of these (login, post) pairs and uses each once.
func warm(t *testing.T, s *apptest.Server, who [][2]string) {
	t.Helper()
	for _, w := range who {
		if res, body := s.Do(t, "GET", "/api/v1/me", s.Token(t, w[0], w[1]), nil); res.StatusCode != 200 {
			t.Fatalf("warm-up of %v: %d %s", w, res.StatusCode, body)
		}
	}
}

// sessionDo sends a request with a signed-in session client.
func sessionDo(t *testing.T, s *apptest.Server, c *http.Client, method, path string, body any) (*http.Response, []byte) {
	t.Helper()
	return s.Send(t, c, s.NewRequest(t, method, path, body))
}

// The acknowledgement rules, through HTTP: only someone on duty at the post
// (or a token bound to it) acknowledges; administrators and the centre get
// 403 not-on-duty and change nothing; another state's officer does not see
// the delivery at all; receipt then acknowledgement; a repeat answers the
// first; after cancellation, 409.
func TestAcknowledgementRulesThroughHTTP(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			onDuty(t, s, byOfficerPerson, "BY-MES-CP")
			centreTok := s.Token(t, apptest.Officer, "")
			kzSession := s.Session(t, apptest.KZOfficer)
			// Every token is made and used once now: a token's creation and
			// first use are written, and would blur the snapshots below.
			warm(t, s, [][2]string{{apptest.Admin, ""}, {apptest.Officer, ""}, {apptest.Supervisor, ""}, {apptest.KZHead, ""},
				{apptest.KZOfficer, ""}, {apptest.KZOfficer, "KZ-MOD-CP"}, {apptest.BYOfficer, ""}, {apptest.BYOfficer, "BY-MES-CP"},
				{apptest.Viewer, ""}})

			res, body := s.Do(t, "POST", "/api/v1/alerts", centreTok, map[string]any{
				"title": "Earthquake, magnitude 6.1", "body": "Report damage within the hour.", "priority": "flash",
				"ack_within_seconds": 600, "exercise": false, "targets": map[string]any{"posts": []string{"KZ-MOD-CP", "BY-MES-CP"}}})
			al := jsonOf[alertOut](t, "send", res, body, 201)
			if al.State != "open" || len(al.Deliveries) != 2 || res.Header.Get("Location") != "/api/v1/alerts/"+al.ID {
				t.Fatalf("sent: %s", body)
			}
			// The engine records who was on duty right after the send (and
			// escalates BY-MES-CP, where nobody is): wait for that, so the
			// snapshots below compare only what the requests could change.
			eventually(t, "who was on duty is recorded", func() bool {
				res, b := s.Do(t, "GET", "/api/v1/alerts/"+al.ID, centreTok, nil)
				got := jsonOf[alertOut](t, "get", res, b, 200)
				for _, d := range got.Deliveries {
					if !d.OnDutyRecorded {
						return false
					}
				}
				return true
			})
			var shape map[string]json.RawMessage
			_ = json.Unmarshal(body, &shape)
			for _, f := range []string{"id", "title", "body", "priority", "exercise", "ack_within_seconds", "deadline_at", "case_id",
				"state", "created_at", "created_by", "deliveries"} {
				if _, ok := shape[f]; !ok {
					t.Errorf("the alert lacks %q", f)
				}
			}
			var ds []map[string]json.RawMessage
			_ = json.Unmarshal(shape["deliveries"], &ds)
			for _, f := range []string{"id", "post_id", "state", "delivered_at", "delivered_via", "acked_at", "acked_by", "ack_channel",
				"escalation_level", "late"} {
				if _, ok := ds[0][f]; !ok {
					t.Errorf("a delivery lacks %q", f)
				}
			}
			ack := "/api/v1/alerts/" + al.ID + "/ack"
			kzBody := map[string]string{"post_id": "KZ-MOD-CP"}

			before := snapshot(t, s)
			for _, c := range []struct {
				who    string
				token  string
				status int
				typ    string
			}{
				{"an administrator", s.Token(t, apptest.Admin, ""), 403, "not-on-duty"},
				{"a centre officer", centreTok, 403, "not-on-duty"},
				{"a centre supervisor", s.Token(t, apptest.Supervisor, ""), 403, "not-on-duty"},
				{"the post's head, not on duty", s.Token(t, apptest.KZHead, ""), 403, "not-on-duty"},
				{"the officer on duty, with an unbound token", s.Token(t, apptest.KZOfficer, ""), 403, "not-on-duty"},
				{"another state's officer", s.Token(t, apptest.BYOfficer, ""), 404, "not-found"},
				{"a viewer", s.Token(t, apptest.Viewer, ""), 404, "not-found"},
				{"nobody", "", 401, "unauthorized"},
			} {
				res, body := s.Do(t, "POST", ack, c.token, kzBody)
				checkProblem(t, c.who, res, body, c.status, c.typ)
				res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/receipt", c.token, kzBody)
				checkProblem(t, c.who+" (receipt)", res, body, c.status, c.typ)
			}
			sameStore(t, "refused acknowledgements and receipts", before, snapshot(t, s))

			// Receipt, then acknowledgement, by the officer on duty.
			res, body = sessionDo(t, s, kzSession, "POST", "/api/v1/alerts/"+al.ID+"/receipt", kzBody)
			var d struct {
				State        string  `json:"state"`
				DeliveredAt  *string `json:"delivered_at"`
				DeliveredVia string  `json:"delivered_via"`
			}
			d = jsonOf[struct {
				State        string  `json:"state"`
				DeliveredAt  *string `json:"delivered_at"`
				DeliveredVia string  `json:"delivered_via"`
			}](t, "receipt", res, body, 200)
			if d.State != "delivered" || d.DeliveredAt == nil || d.DeliveredVia != "web" {
				t.Fatalf("after the receipt: %s", body)
			}
			res, body = sessionDo(t, s, kzSession, "POST", ack, kzBody)
			first := jsonOf[ackOut](t, "ack", res, body, 200)
			if first.Repeated || first.Late || first.Channel != "web" || first.AckedBy == nil || first.AckedBy.Login == nil ||
				*first.AckedBy.Login != apptest.KZOfficer {
				t.Fatalf("first acknowledgement: %s", body)
			}
			before = snapshot(t, s)
			for _, c := range []struct {
				who string
				do  func() (*http.Response, []byte)
			}{
				{"the same officer", func() (*http.Response, []byte) { return sessionDo(t, s, kzSession, "POST", ack, kzBody) }},
				{"a token bound to the post", func() (*http.Response, []byte) {
					return s.Do(t, "POST", ack, s.Token(t, apptest.KZOfficer, "KZ-MOD-CP"), kzBody)
				}},
			} {
				res, body := c.do()
				again := jsonOf[ackOut](t, "repeat by "+c.who, res, body, 200)
				if !again.Repeated || again.AckedAt != first.AckedAt || again.Channel != "web" {
					t.Errorf("repeat by %s: %s", c.who, body)
				}
			}
			sameStore(t, "repeated acknowledgements", before, snapshot(t, s))

			// The delivery by its own id: the post's people and the centre
			// see it; another state's officer does not.
			res, body = s.Do(t, "GET", "/api/v1/alerts/"+al.ID, s.Token(t, apptest.KZOfficer, ""), nil)
			mine := jsonOf[alertOut](t, "the KZ officer's view", res, body, 200)
			if len(mine.Deliveries) != 1 || mine.Deliveries[0].PostCode != "KZ-MOD-CP" || mine.Deliveries[0].State != "acknowledged" {
				t.Fatalf("the KZ officer sees %s", body)
			}
			kzDelivery := mine.Deliveries[0].ID
			for tok, want := range map[string]int{
				s.Token(t, apptest.KZOfficer, ""): 200, centreTok: 200, s.Token(t, apptest.Admin, ""): 200,
				s.Token(t, apptest.BYOfficer, ""): 404, s.Token(t, apptest.Viewer, ""): 404,
			} {
				if res, body := s.Do(t, "GET", "/api/v1/deliveries/"+kzDelivery, tok, nil); res.StatusCode != want {
					t.Errorf("GET delivery: %d, want %d: %s", res.StatusCode, want, body)
				}
			}

			// The centre records a phone confirmation for the silent post;
			// an administrator may not.
			phone := map[string]string{"post_id": "BY-MES-CP", "note": "spoke to the duty officer"}
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/phone", s.Token(t, apptest.Admin, ""), phone)
			checkProblem(t, "an administrator records a phone call", res, body, 403, "")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/phone", centreTok, map[string]string{"post_id": "BY-MES-CP"})
			checkProblem(t, "a phone call without a note", res, body, 422, "invalid")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/phone", centreTok, phone)
			if res.StatusCode != 200 {
				t.Fatalf("phone: %d %s", res.StatusCode, body)
			}

			// Close needs a comment; cancel stops everything; later
			// acknowledgements are 409 and change nothing.
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/close", centreTok, map[string]string{"comment": ""})
			checkProblem(t, "close without a comment", res, body, 422, "invalid")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/cancel", s.Token(t, apptest.KZHead, ""), map[string]string{"comment": "x"})
			checkProblem(t, "a post head cancels", res, body, 403, "")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/cancel", centreTok, map[string]string{"comment": "sent in error"})
			if res.StatusCode != 200 || !json.Valid(body) {
				t.Fatalf("cancel: %d %s", res.StatusCode, body)
			}
			before = snapshot(t, s)
			res, body = s.Do(t, "POST", ack, s.Token(t, apptest.BYOfficer, "BY-MES-CP"), map[string]string{"post_id": "BY-MES-CP"})
			checkProblem(t, "acknowledgement after cancellation", res, body, 409, "alert-cancelled")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/cancel", centreTok, map[string]string{"comment": "again"})
			checkProblem(t, "a second cancellation", res, body, 409, "alert-cancelled")
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+al.ID+"/close", centreTok, map[string]string{"comment": "too late"})
			checkProblem(t, "closing a cancelled alert", res, body, 409, "alert-cancelled")
			sameStore(t, "refused changes to a cancelled alert", before, snapshot(t, s))
			// The acknowledged delivery keeps its acknowledgement.
			res, body = s.Do(t, "GET", "/api/v1/alerts/"+al.ID, centreTok, nil)
			final := jsonOf[alertOut](t, "the cancelled alert", res, body, 200)
			states := map[string]string{}
			for _, d := range final.Deliveries {
				states[d.PostCode] = d.State
			}
			if final.State != "cancelled" || states["KZ-MOD-CP"] != "acknowledged" || states["BY-MES-CP"] != "cancelled" {
				t.Fatalf("after cancellation: %s %v", final.State, states)
			}
		})
	}
}

// Silence escalates on the test clock: at the deadline the delivery goes to
// level 1, the centre's stream hears of it, and a later acknowledgement is
// marked late.
func TestEscalationThroughHTTPWithTheTestClock(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			admin, centreTok := s.Token(t, apptest.Admin, ""), s.Token(t, apptest.Officer, "")
			centre := openStream(t, s, centreTok, "", -1)
			al := sendAlert(t, s, "Flood warning", 60, "KZ-MOD-CP")
			d := al.Deliveries[0]
			if d.State != "pending" || d.EscalationLevel != 0 {
				t.Fatalf("at send: %+v", d)
			}
			if ev := centre.next("alert.created"); ev.field("id") != al.ID {
				t.Fatalf("centre: %s", ev.Data)
			}

			// Before the deadline nothing moves.
			res, body := s.Do(t, "POST", "/api/v1/test/clock", admin, map[string]string{"advance": "59s"})
			if res.StatusCode != 200 {
				t.Fatalf("clock: %d %s", res.StatusCode, body)
			}
			res, body = s.Do(t, "POST", "/api/v1/test/clock", admin, map[string]string{"advance": "2s"})
			if res.StatusCode != 200 {
				t.Fatalf("clock: %d %s", res.StatusCode, body)
			}
			ev := centre.next("delivery.updated")
			var upd struct {
				ID    string `json:"id"`
				State string `json:"state"`
				Level int    `json:"escalation_level"`
			}
			if err := json.Unmarshal(ev.Data, &upd); err != nil || upd.ID != d.ID || upd.Level != 1 || upd.State != "escalated" {
				t.Fatalf("the first delivery.updated after the deadline: %s", ev.Data)
			}
			res, body = s.Do(t, "GET", "/api/v1/deliveries/"+d.ID, centreTok, nil)
			var got struct {
				State string `json:"state"`
				Level int    `json:"escalation_level"`
				Steps []struct {
					Kind  string `json:"kind"`
					Level int    `json:"level"`
				} `json:"steps"`
			}
			got = jsonOf[struct {
				State string `json:"state"`
				Level int    `json:"escalation_level"`
				Steps []struct {
					Kind  string `json:"kind"`
					Level int    `json:"level"`
				} `json:"steps"`
			}](t, "the delivery", res, body, 200)
			if got.State != "escalated" || got.Level != 1 {
				t.Fatalf("after the deadline: %s", body)
			}
			escalated := false
			for _, st := range got.Steps {
				escalated = escalated || (st.Kind == "escalated" && st.Level == 1)
			}
			if !escalated {
				t.Errorf("no level-1 step in the timeline: %s", body)
			}

			res, body = sessionDo(t, s, s.Session(t, apptest.KZOfficer), "POST", "/api/v1/alerts/"+al.ID+"/ack", map[string]string{"post_id": "KZ-MOD-CP"})
			if a := jsonOf[ackOut](t, "late ack", res, body, 200); !a.Late {
				t.Errorf("an acknowledgement after escalation is not late: %s", body)
			}
			if ev := centre.next("delivery.updated"); ev.field("state") != "acknowledged" {
				t.Errorf("after the acknowledgement: %s", ev.Data)
			}
		})
	}
}
