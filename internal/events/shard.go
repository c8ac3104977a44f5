package events

import (
	"context"
	"net"
	"sync"
	"time"
)

// sink is where a stream's bytes go: a hijacked connection, or a channel to
// the request goroutine where hijacking is impossible.
type sink interface {
	// write must not block for long: a client that cannot take a frame
	// within the deadline is dropped and will reconnect and replay.
	write(b []byte) error
	close()
}

type connSink struct{ c net.Conn }

// writeDeadline bounds one write to a stream. A write only blocks when the
// client has stopped reading long enough to fill its socket buffer; such a
// client is dropped (it reconnects and replays from its last id, losing
// nothing) rather than allowed to delay the other streams of its shard.
const writeDeadline = 250 * time.Millisecond

func (s connSink) write(b []byte) error {
	_ = s.c.SetWriteDeadline(time.Now().Add(writeDeadline))
	_, err := s.c.Write(b)
	return err
}
func (s connSink) close() { _ = s.c.Close() }

// chanSink hands frames to the request goroutine (HTTP/2, tests).
type chanSink struct {
	ch   chan []byte
	once sync.Once
	done chan struct{}
}

func newChanSink() *chanSink { return &chanSink{ch: make(chan []byte, 256), done: make(chan struct{})} }

func (s *chanSink) write(b []byte) error {
	select {
	case s.ch <- b:
		return nil
	case <-s.done:
		return net.ErrClosed
	default:
		return errSlow
	}
}
func (s *chanSink) close() { s.once.Do(func() { close(s.done) }) }

type slowError struct{}

func (slowError) Error() string { return "client too slow" }

var errSlow error = slowError{}

// sub is one open stream.
type sub struct {
	viewer  Viewer
	sink    sink
	floor   int64    // events at or below this position are not for this stream
	ready   bool     // replay finished: live frames are written, not held
	pending [][]byte // live frames held while replaying
	onClose func()
}

type ctrl struct {
	add    *sub
	ready  *sub
	remove *sub
}

// shard is a writer goroutine owning some streams.
type shard struct {
	h         *Hub
	in        chan *item
	ctl       chan ctrl
	subs      map[*sub]struct{}
	keepAlive time.Duration
	quit      chan struct{}
	once      sync.Once
}

func newShard(h *Hub, keepAlive time.Duration) *shard {
	return &shard{h: h, in: make(chan *item, 4096), ctl: make(chan ctrl, 256), subs: map[*sub]struct{}{},
		keepAlive: keepAlive, quit: make(chan struct{})}
}

func (s *shard) stop() { s.once.Do(func() { close(s.quit) }) }

var keepAliveFrame = []byte(": keep-alive\n\n")

// maxPending bounds what a replaying stream may hold; beyond it the stream
// is closed and the client reconnects from its last id.
const maxPending = 10000

func (s *shard) run(ctx context.Context) {
	t := time.NewTicker(s.keepAlive)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.closeAll()
			return
		case <-s.quit:
			s.closeAll()
			return
		case c := <-s.ctl:
			s.control(c)
		case it := <-s.in:
			// Controls first, so a stream added before this item was
			// dispatched is known when the item is written.
			s.drainCtl()
			s.deliver(it)
		case <-t.C:
			s.drainCtl()
			for x := range s.subs {
				if x.ready {
					s.writeTo(x, keepAliveFrame)
				}
			}
		}
	}
}

func (s *shard) drainCtl() {
	for {
		select {
		case c := <-s.ctl:
			s.control(c)
		default:
			return
		}
	}
}

func (s *shard) control(c ctrl) {
	switch {
	case c.add != nil:
		s.subs[c.add] = struct{}{}
		s.h.subscribers.Inc()
	case c.ready != nil:
		x := c.ready
		if _, ok := s.subs[x]; !ok {
			return
		}
		x.ready = true
		for _, f := range x.pending {
			if !s.writeTo(x, f) {
				return
			}
		}
		x.pending = nil
	case c.remove != nil:
		s.drop(c.remove, false)
	}
}

func (s *shard) deliver(it *item) {
	for x := range s.subs {
		if it.pos <= x.floor || !x.viewer.sees(it.kind, it.id, it.scope) {
			continue
		}
		if !x.ready {
			if len(x.pending) >= maxPending {
				s.drop(x, true)
				continue
			}
			x.pending = append(x.pending, it.frame)
			continue
		}
		s.writeTo(x, it.frame)
	}
}

func (s *shard) writeTo(x *sub, b []byte) bool {
	if err := x.sink.write(b); err != nil {
		s.drop(x, true)
		return false
	}
	return true
}

func (s *shard) drop(x *sub, counted bool) {
	if _, ok := s.subs[x]; !ok {
		return
	}
	delete(s.subs, x)
	s.h.subscribers.Dec()
	if counted {
		s.h.dropped.Inc()
	}
	x.sink.close()
	if x.onClose != nil {
		x.onClose()
	}
}

func (s *shard) closeAll() {
	for x := range s.subs {
		s.drop(x, false)
	}
}
