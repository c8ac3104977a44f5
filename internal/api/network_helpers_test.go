package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apptest"
	"sitroom/internal/duty"
)

// onDuty puts the person with this code on duty at the post (a manual
// primary shift from now for 12 hours), as the system.
func onDuty(t testing.TB, s *apptest.Server, personCode, postCode string) duty.Shift {
	t.Helper()
	sys := s.System()
	p, err := s.App.Directory.GetPerson(sys, personCode)
	if err != nil {
		t.Fatal(err)
	}
	post, err := s.App.Directory.GetPost(sys, postCode)
	if err != nil {
		t.Fatal(err)
	}
	now := s.Clock.Now()
	sh, err := s.App.Duty.CreateShift(sys, duty.ShiftInput{PostID: post.ID, PersonID: p.ID, Slot: duty.Primary,
		Start: now, End: now.Add(12 * time.Hour)})
	if err != nil {
		t.Fatalf("put %s on duty at %s: %v", personCode, postCode, err)
	}
	return sh
}

// The demo people behind the demo logins.
const (
	kzOfficerPerson = "p-kenzhebayev" // kz.officer: post_officer of KZ
	byOfficerPerson = "p-klimovich"   // by.officer: post_officer of BY-MES-CP
)

// postID returns the id of the post with this code.
func postID(t testing.TB, s *apptest.Server, code string) string {
	t.Helper()
	p, err := s.App.Directory.GetPost(s.System(), code)
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

// jsonOf decodes an answer that must have the status want.
func jsonOf[T any](t testing.TB, what string, res *http.Response, body []byte, want int) T {
	t.Helper()
	var v T
	if res.StatusCode != want {
		t.Fatalf("%s: status %d, want %d: %s", what, res.StatusCode, want, body)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v: %s", what, err, body)
	}
	return v
}

type alertOut struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	Deliveries []struct {
		ID             string  `json:"id"`
		PostID         string  `json:"post_id"`
		PostCode       string  `json:"post_code"`
		State          string  `json:"state"`
		OnDutyRecorded bool    `json:"on_duty_recorded"`
		DeliveredAt    *string `json:"delivered_at"`
		DeliveredVia   string  `json:"delivered_via"`
		AckedAt        *string `json:"acked_at"`
		AckedBy        *struct {
			Login *string `json:"login"`
		} `json:"acked_by"`
		AckChannel      string `json:"ack_channel"`
		EscalationLevel int    `json:"escalation_level"`
		Late            bool   `json:"late"`
	} `json:"deliveries"`
}

// sendAlert sends an alert as the centre officer to the posts (codes),
// and waits until the engine has recorded who was on duty at each (its
// first step after the send, which also escalates a post with nobody on
// duty), so that what follows sees the alert settled.
func sendAlert(t testing.TB, s *apptest.Server, title string, within int, posts ...string) alertOut {
	t.Helper()
	tok := s.Token(t, apptest.Officer, "")
	res, body := s.Do(t, "POST", "/api/v1/alerts", tok, map[string]any{
		"title": title, "body": "Confirm receipt.", "priority": "urgent", "ack_within_seconds": within,
		"targets": map[string]any{"posts": posts}})
	out := jsonOf[alertOut](t, "send "+title, res, body, 201)
	eventually(t, "who was on duty is recorded", func() bool {
		res, body := s.Do(t, "GET", "/api/v1/alerts/"+out.ID, tok, nil)
		out = jsonOf[alertOut](t, "get "+title, res, body, 200)
		for _, d := range out.Deliveries {
			if !d.OnDutyRecorded {
				return false
			}
		}
		return true
	})
	return out
}

// event is one Server-Sent Event.
type event struct {
	ID   int64
	Type string
	Data json.RawMessage
}

// stream is an open event stream read in the background.
type stream struct {
	t      testing.TB
	res    *http.Response
	events chan event
	cancel context.CancelFunc
}

// openStream connects to /api/v1/stream as the holder of token, with the
// query (e.g. "after=12") and Last-Event-ID (when lastID >= 0).
func openStream(t testing.TB, s *apptest.Server, token, query string, lastID int64) *stream {
	t.Helper()
	return openStreamAt(t, s.URL, token, query, lastID)
}

// openStreamAt is openStream on the server at base (e.g. http://127.0.0.1:4321).
func openStreamAt(t testing.TB, base, token, query string, lastID int64) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	u := base + "/api/v1/stream"
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if lastID >= 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(lastID, 10))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("stream: %v", err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	st := &stream{t: t, res: res, events: make(chan event, 1000), cancel: cancel}
	go st.read()
	t.Cleanup(st.close)
	return st
}

func (st *stream) close() {
	st.cancel()
	st.res.Body.Close()
}

func (st *stream) read() {
	defer close(st.events)
	sc := bufio.NewScanner(st.res.Body)
	sc.Buffer(make([]byte, 1<<16), 1<<22)
	var ev event
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.Type != "" || data.Len() > 0 {
				ev.Data = json.RawMessage(data.String())
				st.events <- ev
			}
			ev, data = event{}, strings.Builder{}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "id: "):
			ev.ID, _ = strconv.ParseInt(strings.TrimPrefix(line, "id: "), 10, 64)
		case strings.HasPrefix(line, "event: "):
			ev.Type = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data.WriteString(strings.TrimPrefix(line, "data: "))
		}
	}
}

// waitLimit bounds every wait for an event: it only turns a hang into a
// failure; nothing is measured against it.
const waitLimit = 20 * time.Second

// next returns the next event of one of the types (any type when none is
// given), skipping others.
func (st *stream) next(types ...string) event {
	st.t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				st.t.Fatalf("the stream ended while waiting for %v", types)
			}
			if len(types) == 0 {
				return ev
			}
			for _, ty := range types {
				if ev.Type == ty {
					return ev
				}
			}
		case <-deadline:
			st.t.Fatalf("no %v event within %s", types, waitLimit)
		}
	}
}

// field reads a string field of an event's data.
func (ev event) field(name string) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(ev.Data, &m)
	var s string
	_ = json.Unmarshal(m[name], &s)
	return s
}

func (ev event) has(name string) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(ev.Data, &m)
	_, ok := m[name]
	return ok
}

// position reads the Sitroom-Stream-Position of an answer.
func position(t testing.TB, res *http.Response) int64 {
	t.Helper()
	v := res.Header.Get("Sitroom-Stream-Position")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("Sitroom-Stream-Position %q on %s %s", v, res.Request.Method, res.Request.URL.Path)
	}
	return n
}

// eventually polls cond until it holds (the loops work in the
// background); the limit only turns a hang into a failure.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
