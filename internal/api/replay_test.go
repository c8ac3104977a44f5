package api_test

import (
	"strconv"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

// A client that reconnects with Last-Event-ID receives exactly what it
// missed, in order, once; a client that first read a GET answer and then
// connects with ?after= its Sitroom-Stream-Position receives what was sent
// in between.
func TestStreamReplaysExactlyWhatWasMissed(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			s.Live(t)
			kz := s.Token(t, apptest.KZOfficer, "")

			first := openStream(t, s, kz, "", -1)
			a1 := sendAlert(t, s, "First", 300, "KZ-MOD-CP")
			ev := first.next("alert.created")
			if ev.field("id") != a1.ID {
				t.Fatalf("first event: %s", ev.Data)
			}
			first.close()

			// Missed while disconnected: two alerts to KZ, one elsewhere.
			a2 := sendAlert(t, s, "Second", 300, "KZ-MES-CP")
			sendAlert(t, s, "Not for KZ", 300, "BY-MES-CP")
			a3 := sendAlert(t, s, "Third", 300, "KZ-MOD-CP", "KZ-MVD-CP")

			// (Nobody is on duty at these posts, so each delivery also
			// escalates at once: those delivery.updated events are
			// replayed too, in their place.)
			again := openStream(t, s, kz, "", ev.ID)
			last := ev.ID
			var created []string
			for len(created) < 2 {
				got := again.next()
				if got.ID <= last {
					t.Fatalf("position %d after %d: out of order or repeated", got.ID, last)
				}
				last = got.ID
				if got.Type == "alert.created" {
					created = append(created, got.field("id"))
				}
			}
			if created[0] != a2.ID || created[1] != a3.ID {
				t.Fatalf("replayed alerts %v, want %v", created, []string{a2.ID, a3.ID})
			}
			// Then live, with nothing repeated in between.
			beforeA4 := last
			a4 := sendAlert(t, s, "Live", 300, "KZ-MOD-CP")
			for {
				got := again.next()
				if got.ID <= last {
					t.Fatalf("position %d after %d: repeated", got.ID, last)
				}
				last = got.ID
				if got.Type == "alert.created" {
					if got.field("id") != a4.ID {
						t.Fatalf("after the replay: %s", got.Data)
					}
					break
				}
			}

			// A page's GET, an alert, then the stream from the GET's
			// position: the alert is not missed.
			res, body := s.Do(t, "GET", "/api/v1/alerts?state=open", kz, nil)
			if res.StatusCode != 200 {
				t.Fatalf("list: %d %s", res.StatusCode, body)
			}
			pos := position(t, res)
			between := sendAlert(t, s, "Between the page and its stream", 300, "KZ-MOD-CP")
			late := openStream(t, s, kz, "after="+strconv.FormatInt(pos, 10), -1)
			if got := late.next("alert.created"); got.field("id") != between.ID {
				t.Fatalf("?after=%d: %s", pos, got.Data)
			}
			// Last-Event-ID wins over ?after=: nothing before it again.
			both := openStream(t, s, kz, "after=0", beforeA4)
			if got := both.next("alert.created"); got.field("id") != a4.ID {
				t.Fatalf("Last-Event-ID %d with after=0: %s", beforeA4, got.Data)
			}
		})
	}
}

// Every GET under /api/v1 carries the stream position, read before the
// data; a position from the future or garbage is refused or resynced, not
// waited for.
func TestEveryAPIGetCarriesTheStreamPosition(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	s.Live(t)
	tok := s.Token(t, apptest.Officer, "")
	sendAlert(t, s, "Something happened", 300, "KZ-MOD-CP")
	eventually(t, "the hub dispatches the alert", func() bool { return s.App.Hub.Position() > 0 })
	for _, path := range []string{"/api/v1/me", "/api/v1/alerts", "/api/v1/posts", "/api/v1/duty/now", "/api/v1/board", "/api/v1/no-such-thing"} {
		res, _ := s.Do(t, "GET", path, tok, nil)
		if p := position(t, res); p < 1 {
			t.Errorf("GET %s: position %d", path, p)
		}
	}
	res, body := s.Do(t, "GET", "/api/v1/stream?after=banana", tok, nil)
	checkProblem(t, "?after=banana", res, body, 400, "invalid-parameter")
	res, _ = s.Do(t, "GET", "/api/v1/stream", "", nil)
	if res.StatusCode != 401 {
		t.Errorf("anonymous stream: %d", res.StatusCode)
	}
	future := openStream(t, s, tok, "after=999999", -1)
	if ev := future.next(); ev.Type != "resync" {
		t.Errorf("a position from the future: %s %s", ev.Type, ev.Data)
	}
}
