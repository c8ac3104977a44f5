package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/testutil"
	"sitroom/internal/users"
)

func TestPrepareWritesTokensTheServerAccepts(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		at := time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)
		f, err := Prepare(ctx, d, FixtureOptions{Posts: 4, At: at, Unstaffed: 2})
		if err != nil {
			t.Fatal(err)
		}
		us := users.New(d, clock.NewFake(at, false), nil, users.Options{})
		for _, p := range f.Posts {
			a, err := us.TokenActor(ctx, p.Token, "127.0.0.1")
			if err != nil {
				t.Fatalf("token of %s: %v", p.PostCode, err)
			}
			if a.TokenPostID != p.PostID || !a.HasForPost(auth.PostOfficer, p.PostID, f.StateID) {
				t.Errorf("token of %s acts as %+v, want a post officer bound to %s", p.PostCode, a, p.PostID)
			}
		}
		for _, acc := range []Account{f.Centre, f.Admin} {
			if _, err := us.TokenActor(ctx, acc.Token, "127.0.0.1"); err != nil {
				t.Errorf("token of %s: %v", acc.Login, err)
			}
		}
		ids := make([]string, len(f.Posts))
		for i, p := range f.Posts {
			ids[i] = p.PostID
		}
		on, err := duty.New(d, clock.NewFake(at, false), nil).OnDutySystem(ctx, d, ids, at)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Posts {
			got := len(on[p.PostID]) == 1 && on[p.PostID][0].PersonID == p.PersonID
			if got != p.OnDuty {
				t.Errorf("post %s: on duty %v, want %v (%+v)", p.PostCode, got, p.OnDuty, on[p.PostID])
			}
		}
		if f.Posts[1].OnDuty || !f.Posts[0].OnDuty {
			t.Errorf("every second post should be unstaffed: %+v", f.Posts)
		}
	})
}

func TestPrepareRefusesADatabaseThatHasPosts(t *testing.T) {
	d := testutil.Open(t, db.SQLite)
	ctx := context.Background()
	if _, err := Prepare(ctx, d, FixtureOptions{Posts: 1}); err != nil {
		t.Fatal(err)
	}
	var before int
	_ = d.QueryRow(ctx, "SELECT COUNT(*) FROM users").Scan(&before)
	if _, err := Prepare(ctx, d, FixtureOptions{Posts: 1}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("second Prepare: %v, want ErrNotEmpty", err)
	}
	var after int
	_ = d.QueryRow(ctx, "SELECT COUNT(*) FROM users").Scan(&after)
	if after != before {
		t.Errorf("users %d → %d: a refused Prepare wrote", before, after)
	}
}

func TestPercentileIsNearestRank(t *testing.T) {
	ds := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n)
		}
		return out
	}
	for _, c := range []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 50, 0},
		{ds(7), 99, 7},
		{ds(5, 1, 4, 2, 3), 50, 3},
		{ds(5, 1, 4, 2, 3), 100, 5},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10},
		{ds(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 10, 1},
	} {
		if got := Percentile(c.in, c.p); got != c.want {
			t.Errorf("Percentile(%v, %v) = %v, want %v", c.in, c.p, got, c.want)
		}
	}
}

func TestDurabilityRefusesFiguresTakenWithoutSync(t *testing.T) {
	for _, c := range []struct {
		s    map[string]string
		want bool
	}{
		{map[string]string{"engine": "sqlite", "synchronous": "FULL"}, true},
		{map[string]string{"engine": "sqlite", "synchronous": "EXTRA"}, true},
		{map[string]string{"engine": "sqlite", "synchronous": "NORMAL"}, false},
		{map[string]string{"engine": "sqlite", "synchronous": "OFF"}, false},
		{map[string]string{"engine": "sqlite"}, false},
		{map[string]string{"engine": "postgres", "fsync": "on", "synchronous_commit": "on"}, true},
		{map[string]string{"engine": "postgres", "fsync": "on", "synchronous_commit": "local"}, true},
		{map[string]string{"engine": "postgres", "fsync": "off", "synchronous_commit": "on"}, false},
		{map[string]string{"engine": "postgres", "fsync": "on", "synchronous_commit": "off"}, false},
		{map[string]string{"engine": "unknown"}, false},
	} {
		if got, why := Durability(c.s); got != c.want {
			t.Errorf("Durability(%v) = %v (%s), want %v", c.s, got, why, c.want)
		}
	}
	if w := Warning("x"); !strings.Contains(w, "DO NOT COUNT") {
		t.Errorf("the warning does not say the figures do not count: %s", w)
	}
}

// TestStreamReadsEventsHijackedOrChunked: the light client reads a raw
// (hijacked) stream and one that net/http chunks, skipping comments.
func TestStreamReadsEventsHijackedOrChunked(t *testing.T) {
	frames := ": connected\n\nid: 7\nevent: alert.created\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 8\nevent: resync\ndata: {\"position\":8}\n\n"
	for _, hijack := range []bool{true, false} {
		t.Run(fmt.Sprintf("hijack=%v", hijack), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Last-Event-ID") != "6" {
					http.Error(w, "no", http.StatusUnauthorized)
					return
				}
				if hijack {
					c, _, err := http.NewResponseController(w).Hijack()
					if err != nil {
						t.Error(err)
						return
					}
					defer c.Close()
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nSitroom-Stream-Position: 6\r\n\r\n"+frames)
					return
				}
				w.Header().Set("Content-Type", "text/event-stream")
				w.Header().Set("Sitroom-Stream-Position", "6")
				for _, part := range strings.SplitAfter(frames, "\n\n") {
					_, _ = io.WriteString(w, part)
					_ = http.NewResponseController(w).Flush()
				}
			}))
			defer srv.Close()
			addr := strings.TrimPrefix(srv.URL, "http://")
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := DialStream(ctx, addr, "/s", "bad", 6); err == nil || !strings.Contains(err.Error(), "401") {
				t.Errorf("a refused stream: %v, want a 401 error", err)
			}
			s, err := DialStream(ctx, addr, "/s", "tok", 6)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.Position != 6 {
				t.Errorf("position %d, want 6", s.Position)
			}
			var got []string
			for {
				ev, err := s.Next()
				if err != nil {
					break
				}
				got = append(got, fmt.Sprintf("%d %s %s", ev.ID, ev.Type, ev.Data))
			}
			want := []string{`7 alert.created {"a":1}`, `8 resync {"position":8}`}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("events %q, want %q", got, want)
			}
		})
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// TestFleetReadsEventsSplitAcrossReads: the epoll fleet reassembles events
// that arrive in pieces, keeps what the handshake already buffered, and
// tells streams apart.
func TestFleetReadsEventsSplitAcrossReads(t *testing.T) {
	frames := ": connected\n\nid: 7\nevent: alert.created\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 8\nevent: resync\ndata: {\"position\":8}\n\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		// The head and the greeting in one write, the rest in pieces.
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"+frames[:13])
		for i := 13; i < len(frames); i += 5 {
			time.Sleep(2 * time.Millisecond)
			_, _ = io.WriteString(c, frames[i:min(i+5, len(frames))])
		}
		time.Sleep(50 * time.Millisecond)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	got := make(chan string, 10)
	f, err := NewFleet(2, func(i int, ev Event) { got <- fmt.Sprintf("%d:%d %s %s", i, ev.ID, ev.Type, ev.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := 0; i < 2; i++ {
		s, err := DialStream(context.Background(), addr, "/", "x", -1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Add(i, s); err != nil {
			t.Fatal(err)
		}
	}
	var evs []string
	for len(evs) < 4 {
		select {
		case e := <-got:
			evs = append(evs, e)
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far: %q", evs)
		}
	}
	slices.Sort(evs)
	want := []string{`0:7 alert.created {"a":1}`, `0:8 resync {"position":8}`, `1:7 alert.created {"a":1}`, `1:8 resync {"position":8}`}
	if !slices.Equal(evs, want) {
		t.Errorf("events %q, want %q", evs, want)
	}
}

func TestAlertHeadStopsAtDeliveries(t *testing.T) {
	var a SentAlert
	body := `{"id":"a1","title":"t","targets":{"all":true},"deadline_at":"2026-01-15T09:01:00Z","recipients":2,"deliveries":[{"id":"d1"},{"id":"d2"}]}`
	if err := json.Unmarshal([]byte(body), headOf(&a)); err != nil {
		t.Fatal(err)
	}
	if a.ID != "a1" || a.Recipients != 2 || !a.DeadlineAt.Equal(time.Date(2026, 1, 15, 9, 1, 0, 0, time.UTC)) {
		t.Errorf("decoded %+v", a)
	}
}
