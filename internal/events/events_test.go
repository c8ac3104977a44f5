package events_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/testutil"
)

// frame is one received SSE event.
type frame struct {
	id    int64
	event string
	data  string
}

// stream connects to url and sends received frames on a channel.
func stream(t *testing.T, url string, lastID string) (<-chan frame, func()) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	ch := make(chan frame, 1000)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var f frame
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if f.event != "" {
					ch <- f
				}
				f = frame{}
			case strings.HasPrefix(line, "id: "):
				f.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				f.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				f.data = line[6:]
			}
		}
	}()
	return ch, func() { resp.Body.Close() }
}

func recv(t *testing.T, ch <-chan frame, n int) []frame {
	t.Helper()
	var out []frame
	deadline := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case f, ok := <-ch:
			if !ok {
				t.Fatalf("stream closed after %d of %d frames: %+v", len(out), n, out)
			}
			out = append(out, f)
		case <-deadline:
			t.Fatalf("got %d of %d frames: %+v", len(out), n, out)
		}
	}
	return out
}

func quiet(t *testing.T, ch <-chan frame) {
	t.Helper()
	select {
	case f := <-ch:
		t.Fatalf("unexpected frame %+v", f)
	case <-time.After(300 * time.Millisecond):
	}
}

type rig struct {
	d   *db.DB
	hub *events.Hub
	app *events.Appender
	srv *httptest.Server
}

// postState maps the posts used in these tests to their states.
var postState = map[string]string{"p1": "KZ", "p2": "BY"}

func newRig(t *testing.T, d *db.DB) *rig {
	ctx, cancel := context.WithCancel(context.Background())
	resolve := func(ctx context.Context, kind, id string) (events.Scope, error) {
		s := events.Scope{Posts: map[string]bool{}, States: map[string]bool{}}
		switch kind {
		case "post":
			s.Posts[id] = true
			s.States[postState[id]] = true
		case "alert": // alert "a12" addresses p1 and p2, "a1" only p1
			for _, p := range strings.Split(strings.TrimPrefix(id, "a"), "") {
				s.Posts["p"+p] = true
				s.States[postState["p"+p]] = true
			}
		}
		return s, nil
	}
	hub, err := events.NewHub(ctx, d, resolve, slog.New(slog.NewTextHandler(io.Discard, nil)), events.Options{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	go hub.Run(ctx)
	viewers := map[string]events.Viewer{
		"centre": {Centre: true},
		"p1":     {Posts: map[string]bool{"p1": true}, States: map[string]bool{}},
		"kz":     {Posts: map[string]bool{}, States: map[string]bool{"KZ": true}},
		"p2":     {Posts: map[string]bool{"p2": true}, States: map[string]bool{}},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.Serve(w, r, viewers[r.URL.Query().Get("as")], nil)
	}))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); cancel() })
	return &rig{d: d, hub: hub, app: events.NewAppender(hub, clock.Real{}), srv: srv}
}

func (r *rig) emit(t *testing.T, evs ...events.Event) int64 {
	t.Helper()
	var pos int64
	err := r.d.RunInTx(context.Background(), func(tx *db.Tx) error {
		var err error
		pos, err = r.app.Append(context.Background(), tx, evs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pos
}

func ev(typ string, aud events.Audience, n int) events.Event {
	return events.Event{Type: typ, Audience: aud, Payload: map[string]int{"n": n}}
}

func TestStreamDeliversOnlyWhatTheViewerMaySee(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		centre, c1 := stream(t, r.srv.URL+"?as=centre", "")
		defer c1()
		p1, c2 := stream(t, r.srv.URL+"?as=p1", "")
		defer c2()
		kz, c3 := stream(t, r.srv.URL+"?as=kz", "")
		defer c3()
		p2, c4 := stream(t, r.srv.URL+"?as=p2", "")
		defer c4()
		r.emit(t, ev("alert.created", events.AudienceAlert("a1"), 1), ev("delivery.updated", events.AudiencePost("p2"), 2))
		r.emit(t, ev("post.status", events.AudienceCentre(), 3), ev("x", events.AudienceAll(), 4))

		got := recv(t, centre, 4)
		for i, f := range got {
			if f.data != `{"n":`+strconv.Itoa(i+1)+`}` || f.id != int64(i+1) {
				t.Fatalf("centre frame %d: %+v", i, f)
			}
		}
		if f := recv(t, p1, 2); f[0].event != "alert.created" || f[1].data != `{"n":4}` {
			t.Fatalf("p1 got %+v", f)
		}
		if f := recv(t, kz, 2); f[0].event != "alert.created" || f[1].data != `{"n":4}` {
			t.Fatalf("kz got %+v", f)
		}
		if f := recv(t, p2, 2); f[0].event != "delivery.updated" || f[1].data != `{"n":4}` {
			t.Fatalf("p2 got %+v", f)
		}
		quiet(t, p1)
		quiet(t, p2)
	})
}

func TestReconnectReplaysExactlyWhatWasMissed(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		ch, stop := stream(t, r.srv.URL+"?as=centre", "")
		r.emit(t, ev("a", events.AudienceAll(), 1), ev("a", events.AudienceAll(), 2))
		got := recv(t, ch, 2)
		stop()
		// Missed while away: 3, 4 (and 5 for another post's people only).
		r.emit(t, ev("a", events.AudienceAll(), 3))
		r.emit(t, ev("a", events.AudiencePost("p1"), 4))
		ch, stop = stream(t, r.srv.URL+"?as=p2", strconv.FormatInt(got[1].id, 10))
		defer stop()
		r.emit(t, ev("a", events.AudienceAll(), 5))
		f := recv(t, ch, 2)
		if f[0].data != `{"n":3}` || f[1].data != `{"n":5}` || f[0].id != 3 || f[1].id != 5 {
			t.Fatalf("replay+live: %+v", f)
		}
		quiet(t, ch)
		// ?after= does the same for a page's first connection.
		ch2, stop2 := stream(t, r.srv.URL+"?as=centre&after=1", "")
		defer stop2()
		f = recv(t, ch2, 4)
		for i, x := range f {
			if x.id != int64(i+2) {
				t.Fatalf("after=1: %+v", f)
			}
		}
		quiet(t, ch2)
	})
}

func TestReplayRacingLiveEventsHasNoGapOrDuplicate(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		for i := 1; i <= 50; i++ {
			r.emit(t, ev("a", events.AudienceAll(), i))
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // keep committing while the client connects and replays
			defer wg.Done()
			for i := 51; i <= 150; i++ {
				r.emit(t, ev("a", events.AudienceAll(), i))
			}
		}()
		ch, stop := stream(t, r.srv.URL+"?as=centre&after=10", "")
		defer stop()
		got := recv(t, ch, 140)
		wg.Wait()
		for i, f := range got {
			if f.id != int64(i+11) {
				t.Fatalf("frame %d has id %d (want %d)", i, f.id, i+11)
			}
		}
		quiet(t, ch)
	})
}

func TestOldOrFuturePositionGetsResync(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		for i := 1; i <= 5; i++ {
			r.emit(t, ev("a", events.AudienceAll(), i))
		}
		for deadline := time.Now().Add(5 * time.Second); r.hub.Position() < 5 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		ch, stop := stream(t, r.srv.URL+"?as=centre", "999")
		f := recv(t, ch, 1)
		stop()
		if f[0].event != events.TypeResync || f[0].id != 5 {
			t.Fatalf("future position: %+v", f)
		}
		if _, err := r.hub.Prune(context.Background(), time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		ch, stop = stream(t, r.srv.URL+"?as=centre", "1")
		defer stop()
		f = recv(t, ch, 1)
		if f[0].event != events.TypeResync {
			t.Fatalf("pruned position: %+v", f)
		}
		r.emit(t, ev("a", events.AudienceAll(), 6))
		if f = recv(t, ch, 1); f[0].id != 6 {
			t.Fatalf("live after resync: %+v", f)
		}
	})
}

// On PostgreSQL transactions commit out of order; the outbox position is
// taken under a lock held to commit, so a later commit can never hold a
// lower position than one already visible.
func TestOutOfOrderCommitsSkipNothing(t *testing.T) {
	d := testutil.Open(t, db.Postgres)
	r := newRig(t, d)
	ch, stop := stream(t, r.srv.URL+"?as=centre", "")
	defer stop()
	ctx := context.Background()
	aIn, aGo, bDone := make(chan struct{}), make(chan struct{}), make(chan int64, 1)
	go func() {
		_ = d.RunInTx(ctx, func(tx *db.Tx) error {
			if _, err := r.app.Append(ctx, tx, ev("a", events.AudienceAll(), 1)); err != nil {
				return err
			}
			close(aIn)
			<-aGo // hold the transaction open while B commits
			return nil
		})
	}()
	<-aIn
	go func() {
		var pos int64
		_ = d.RunInTx(ctx, func(tx *db.Tx) error {
			var err error
			pos, err = r.app.Append(ctx, tx, ev("b", events.AudienceAll(), 2))
			return err
		})
		bDone <- pos
	}()
	select {
	case <-bDone:
		t.Fatal("B committed an outbox event while A, which took a lower position, was still open")
	case <-time.After(300 * time.Millisecond):
	}
	close(aGo)
	if pos := <-bDone; pos != 2 {
		t.Fatalf("B's position %d", pos)
	}
	f := recv(t, ch, 2)
	if f[0].event != "a" || f[1].event != "b" {
		t.Fatalf("live order: %+v", f)
	}
	ch2, stop2 := stream(t, r.srv.URL+"?as=centre", "0")
	defer stop2()
	if f = recv(t, ch2, 2); f[0].id != 1 || f[1].id != 2 {
		t.Fatalf("replay: %+v", f)
	}
}

// A client that stops reading is dropped once its socket is full, and the
// other streams of its shard still get every event; the dropped client
// would reconnect with its last id and lose nothing.
func TestAStuckClientIsDroppedAndOthersStillReceiveEverything(t *testing.T) {
	d := testutil.Open(t, db.SQLite)
	r := newRig(t, d)
	// A small receive buffer set before the handshake keeps the window
	// small, so the server's side fills up after a few megabytes.
	dialer := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	stuck, err := dialer.Dial("tcp", strings.TrimPrefix(r.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Close()
	if _, err := stuck.Write([]byte("GET /?as=centre HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	ok, stop := stream(t, r.srv.URL+"?as=centre", "")
	defer stop()
	big := strings.Repeat("x", 64<<10)
	const n = 400
	go func() {
		for i := 1; i <= n; i++ {
			r.emit(t, events.Event{Type: "big", Audience: events.AudienceAll(), Payload: map[string]any{"n": i, "pad": big}})
		}
	}()
	got := recv(t, ok, n)
	for i, f := range got {
		if f.id != int64(i+1) {
			t.Fatalf("frame %d has id %d", i, f.id)
		}
	}
	// The stuck connection has been closed by the server: draining it ends.
	_ = stuck.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := io.Copy(io.Discard, stuck); err != nil {
		t.Fatalf("the stuck stream was not closed by the server (read %d bytes): %v", n, err)
	}
}
