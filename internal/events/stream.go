package events

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/httpx"
)

// PositionHeader carries, on every API response, the outbox position the
// response reflects.
const PositionHeader = "Sitroom-Stream-Position"

// ParseAfter reads the position a client wants to stream from: the
// Last-Event-ID header (set by EventSource on reconnect) wins over ?after=.
// ok is false when neither is given (stream live from now).
func ParseAfter(r *http.Request) (after int64, ok bool, err error) {
	s := r.Header.Get("Last-Event-ID")
	if s == "" {
		s = r.URL.Query().Get("after")
	}
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, false, apperr.BadRequest("invalid-parameter", "Last-Event-ID / after must be a non-negative integer position")
	}
	return n, true, nil
}

// Serve streams events to the viewer until the client goes away or the hub
// stops. The caller has authenticated the request and built the viewer.
// onClose (may be nil) runs when the stream ends, e.g. to mark a post's
// terminal disconnected.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, v Viewer, onClose func()) {
	after, given, err := ParseAfter(r)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	ctx := r.Context()
	var head int64
	if err := h.db.QueryRow(ctx, "SELECT pos FROM outbox_head WHERE id = 1").Scan(&head); err != nil {
		writeProblem(w, r, err)
		return
	}
	resync := given && after > head // a position from the future: never silently wait past it

	x := &sub{viewer: v, onClose: onClose}
	// Register before replaying: from here on, live events above the
	// floor are held for this stream while the table replay runs.
	h.mu.Lock()
	p := h.pos.Load()
	if !given || resync {
		after = p
	}
	x.floor = max(after, p)
	sh := h.shards[h.next.Add(1)%uint64(len(h.shards))]
	h.mu.Unlock()

	hdr := "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\nCache-Control: no-store\r\n" +
		"X-Accel-Buffering: no\r\nX-Content-Type-Options: nosniff\r\n" + PositionHeader + ": " + strconv.FormatInt(p, 10) + "\r\n\r\n"
	// A retry hint and a first comment let the client know it is connected.
	hello := []byte("retry: 3000\n: connected\n\n")

	rc := http.NewResponseController(w)
	if conn, brw, herr := rc.Hijack(); herr == nil {
		// The connection now belongs to the shard; this goroutine and
		// net/http's buffers are released once the replay is written.
		_ = conn.SetDeadline(time.Time{})
		if brw != nil && brw.Reader.Buffered() > 0 {
			// A pipelining client sent more: not a stream client.
			conn.Close()
			return
		}
		x.sink = connSink{c: conn}
		sh.ctl <- ctrl{add: x}
		if err := h.start(ctx, x, sh, []byte(hdr), hello, after, p, resync, given); err != nil {
			sh.ctl <- ctrl{remove: x}
		}
		return
	}
	// HTTP/2 or a test recorder: write from this goroutine.
	cs := newChanSink()
	x.sink = cs
	_ = rc.SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.Header().Set(PositionHeader, strconv.FormatInt(p, 10))
	w.WriteHeader(http.StatusOK)
	sh.ctl <- ctrl{add: x}
	direct := func(b []byte) error {
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	if err := h.begin(ctx, x, sh, direct, func() error { return nil }, hello, after, p, resync, given); err != nil {
		sh.ctl <- ctrl{remove: x}
		return
	}
	for {
		select {
		case <-ctx.Done():
			sh.ctl <- ctrl{remove: x}
			return
		case <-cs.done:
			return
		case b := <-cs.ch:
			if direct(b) != nil {
				sh.ctl <- ctrl{remove: x}
				return
			}
		}
	}
}

// start writes the raw response head on a hijacked connection, then begins.
func (h *Hub) start(ctx context.Context, x *sub, sh *shard, hdr, hello []byte, after, p int64, resync, given bool) error {
	c := x.sink.(connSink).c
	bw := bufio.NewWriterSize(c, 16<<10)
	write := func(b []byte) error {
		_, err := bw.Write(b)
		return err
	}
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := write(hdr); err != nil {
		return err
	}
	return h.begin(ctx, x, sh, write, bw.Flush, hello, after, p, resync, given)
}

// begin sends the greeting, a resync if needed, the replay, and then marks
// the stream live.
func (h *Hub) begin(ctx context.Context, x *sub, sh *shard, write func([]byte) error, flush func() error, hello []byte, after, p int64, resync, given bool) error {
	if err := write(hello); err != nil {
		return err
	}
	if given && !resync {
		err := h.replay(ctx, &x.viewer, after, p, write)
		if errors.Is(err, errResync) {
			resync = true
		} else if err != nil {
			return err
		}
	}
	if resync {
		// The client cannot be brought up to date event by event: it must
		// reload. Its next id is the current position.
		f := "id: " + strconv.FormatInt(p, 10) + "\nevent: " + TypeResync + "\ndata: {\"position\":" + strconv.FormatInt(p, 10) + "}\n\n"
		if err := write([]byte(f)); err != nil {
			return err
		}
	}
	// Everything replayed must be on the wire before the shard may write
	// live frames to the same connection.
	if err := flush(); err != nil {
		return err
	}
	sh.ctl <- ctrl{ready: x}
	return nil
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error) { httpx.Error(w, r, err) }
