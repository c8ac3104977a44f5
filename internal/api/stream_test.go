package api_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

// Each user's stream carries exactly the events their roles and scopes may
// see: an alert reaches the people of the posts it addresses (and the
// centre), not another state's officers; delivery.updated reaches the
// centre and that post's people only. Absence is shown by order: a later
// event that the stream must carry arrives first.
func TestStreamCarriesEachEventToThoseWhoMaySeeIt(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			onDuty(t, s, byOfficerPerson, "BY-MES-CP")
			kz := s.Token(t, apptest.KZOfficer, "")
			by := s.Token(t, apptest.BYOfficer, "")
			kzStream := openStream(t, s, kz, "", -1)
			byStream := openStream(t, s, by, "", -1)
			centre := openStream(t, s, s.Token(t, apptest.Officer, ""), "", -1)

			toBY := sendAlert(t, s, "To Belarus", 300, "BY-MES-CP")
			toKZ := sendAlert(t, s, "To Kazakhstan", 300, "KZ-MOD-CP")

			for _, c := range []struct {
				who  string
				st   *stream
				want []string
			}{
				{"the KZ officer", kzStream, []string{toKZ.ID}},
				{"the BY officer", byStream, []string{toBY.ID}},
				{"the centre", centre, []string{toBY.ID, toKZ.ID}},
			} {
				for _, id := range c.want {
					ev := c.st.next("alert.created")
					if got := ev.field("id"); got != id {
						t.Fatalf("%s: alert.created for %s, want %s", c.who, got, id)
					}
					if ev.has("deliveries") {
						t.Errorf("%s: an alert event carries deliveries: %s", c.who, ev.Data)
					}
					if ev.ID <= 0 {
						t.Errorf("%s: event without a position: %+v", c.who, ev)
					}
				}
			}

			// The KZ officer acknowledges: the centre and the KZ officer
			// hear of it; the BY officer hears only of their own post's
			// delivery, which comes after.
			// (An unbound token never acknowledges: a token bound to the
			// post does, as a national system would.)
			res, body := s.Do(t, "POST", "/api/v1/alerts/"+toKZ.ID+"/ack", s.Token(t, apptest.KZOfficer, "KZ-MOD-CP"), map[string]string{"post_id": "KZ-MOD-CP"})
			if res.StatusCode != 200 {
				t.Fatalf("KZ ack: %d %s", res.StatusCode, body)
			}
			res, body = s.Do(t, "POST", "/api/v1/alerts/"+toBY.ID+"/ack", s.Token(t, apptest.BYOfficer, "BY-MES-CP"), map[string]string{"post_id": "BY-MES-CP"})
			if res.StatusCode != 200 {
				t.Fatalf("BY ack: %d %s", res.StatusCode, body)
			}
			kzPost, byPost := postID(t, s, "KZ-MOD-CP"), postID(t, s, "BY-MES-CP")
			for _, c := range []struct {
				who   string
				st    *stream
				posts []string
			}{
				{"the KZ officer", kzStream, []string{kzPost}},
				{"the BY officer", byStream, []string{byPost}},
				{"the centre", centre, []string{kzPost, byPost}},
			} {
				for _, p := range c.posts {
					ev := c.st.next("delivery.updated")
					if got := ev.field("post_id"); got != p || ev.field("state") != "acknowledged" {
						t.Fatalf("%s: delivery.updated %s, want post %s acknowledged", c.who, ev.Data, p)
					}
				}
			}

		})
	}
}

// A stream outlives the server's read and write timeouts (which bound
// ordinary requests): the hub clears the connection's deadlines when it
// takes the stream over. Here the timeouts are 100 ms and an alert sent
// well after them still arrives.
func TestStreamOutlivesTheServerTimeouts(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	s.Live(t)
	strict := httptest.NewUnstartedServer(s.App.Handler())
	strict.Config.ReadTimeout, strict.Config.WriteTimeout = 100*time.Millisecond, 100*time.Millisecond
	strict.Start()
	t.Cleanup(strict.Close)
	st := openStreamAt(t, strict.URL, s.Token(t, apptest.KZOfficer, ""), "", -1)
	time.Sleep(400 * time.Millisecond) // four times both timeouts
	al := sendAlert(t, s, "After the timeouts", 300, "KZ-MOD-CP")
	if ev := st.next("alert.created"); ev.field("id") != al.ID {
		t.Fatalf("after the timeouts: %s", ev.Data)
	}
}
