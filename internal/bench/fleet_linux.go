package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
)

// Fleet reads many streams with a few goroutines, each waiting on an epoll
// set of its streams' sockets (level-triggered): one read per socket per
// event, and no goroutine woken per subscriber. A goroutine per stream
// reads each event twice (the data, then EAGAIN before parking) and wakes a
// goroutine for it, which on two cores shared with the server measures the
// load generator as much as the server.
type Fleet struct {
	on      func(stream int, ev Event)
	workers []*fleetWorker
	next    int
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
}

type fleetWorker struct {
	epfd  int
	mu    sync.Mutex
	conns map[int32]*fleetConn
	stop  chan struct{}
}

type fleetConn struct {
	fd   int
	idx  int
	buf  []byte
	n    int
	ev   Event
	data []byte
	typ  []byte
}

// NewFleet starts workers reading goroutines; on is called from them for
// every event (never concurrently for one stream).
func NewFleet(workers int, on func(stream int, ev Event)) (*Fleet, error) {
	f := &Fleet{on: on}
	for i := 0; i < max(1, workers); i++ {
		epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if err != nil {
			f.Close()
			return nil, err
		}
		w := &fleetWorker{epfd: epfd, conns: map[int32]*fleetConn{}, stop: make(chan struct{})}
		f.workers = append(f.workers, w)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.run(w)
		}()
	}
	return f, nil
}

// Add hands stream s (its response head read) to the fleet as stream idx.
// s must not be used afterwards.
func (f *Fleet) Add(idx int, s *Stream) error {
	tc, ok := s.conn.(*net.TCPConn)
	if !ok || s.r.Size() == 0 {
		return errors.New("fleet: not a TCP stream")
	}
	file, err := tc.File() // a duplicate descriptor, out of Go's poller
	if err != nil {
		return err
	}
	fd, err := syscall.Dup(int(file.Fd()))
	file.Close()
	if err != nil {
		return err
	}
	c := &fleetConn{fd: fd, idx: idx, buf: make([]byte, 4096)}
	// What the handshake already buffered (the greeting, maybe more).
	if b := s.r.Buffered(); b > 0 {
		p, _ := s.r.Peek(b)
		c.n = copy(c.buf, p)
	}
	s.conn.Close()
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return err
	}
	f.mu.Lock()
	w := f.workers[f.next%len(f.workers)]
	f.next++
	f.mu.Unlock()
	if c.n > 0 {
		f.parse(c)
	}
	// Published under the lock the worker takes to find it.
	w.mu.Lock()
	w.conns[int32(fd)] = c
	w.mu.Unlock()
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("fleet: epoll add: %w", err)
	}
	return nil
}

func (f *Fleet) run(w *fleetWorker) {
	events := make([]syscall.EpollEvent, 256)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		n, err := syscall.EpollWait(w.epfd, events, 200)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for i := 0; i < n; i++ {
			w.mu.Lock()
			c := w.conns[events[i].Fd]
			w.mu.Unlock()
			if c == nil {
				continue
			}
			if c.n == len(c.buf) {
				c.buf = append(c.buf, make([]byte, len(c.buf))...) // an event longer than the buffer
			}
			m, err := syscall.Read(c.fd, c.buf[c.n:])
			if err == syscall.EAGAIN || err == syscall.EINTR {
				continue
			}
			if err != nil || m == 0 {
				_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
				w.mu.Lock()
				delete(w.conns, int32(c.fd))
				w.mu.Unlock()
				syscall.Close(c.fd)
				continue
			}
			c.n += m
			f.parse(c)
		}
	}
}

var frameEnd = []byte("\n\n")

// parse hands every complete event in c's buffer to on and keeps the rest.
func (f *Fleet) parse(c *fleetConn) {
	start := 0
	for {
		i := bytes.Index(c.buf[start:c.n], frameEnd)
		if i < 0 {
			break
		}
		if ev, ok := parseFrame(c.buf[start:start+i], &c.data, &c.typ); ok {
			f.on(c.idx, ev)
		}
		start += i + 2
	}
	if start > 0 {
		c.n = copy(c.buf, c.buf[start:c.n])
	}
}

// parseFrame reads one event's lines (without the blank line ending it);
// comments are skipped, and a frame of nothing else is no event.
func parseFrame(b []byte, data, typ *[]byte) (Event, bool) {
	ev := Event{ID: -1}
	*data, *typ = (*data)[:0], (*typ)[:0]
	has := false
	for len(b) > 0 {
		line := b
		if j := bytes.IndexByte(b, '\n'); j >= 0 {
			line, b = b[:j], b[j+1:]
		} else {
			b = nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 || line[0] == ':' {
			continue
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		switch string(k) {
		case "id":
			ev.ID = atoi64(v)
		case "event":
			*typ = append(*typ, v...)
			has = true
		case "data":
			if len(*data) > 0 {
				*data = append(*data, '\n')
			}
			*data = append(*data, v...)
			has = true
		}
	}
	ev.Type, ev.Data = *typ, *data
	return ev, has
}

func atoi64(b []byte) int64 {
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// Close stops the workers and closes every stream.
func (f *Fleet) Close() {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return
	}
	f.closed = true
	f.mu.Unlock()
	for _, w := range f.workers {
		close(w.stop)
	}
	f.wg.Wait()
	for _, w := range f.workers {
		for _, c := range w.conns {
			syscall.Close(c.fd)
		}
		syscall.Close(w.epfd)
	}
}
