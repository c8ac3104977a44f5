package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httputil"
	"strconv"
	"strings"
	"time"
)

// Stream is a light Server-Sent Events client on a raw connection: one
// small read buffer, no net/http client machinery, so that thousands of
// them fit beside the server on one machine without measuring themselves.
type Stream struct {
	conn net.Conn
	r    *bufio.Reader
	// Position is the Sitroom-Stream-Position header of the response.
	Position int64

	data []byte
	typ  []byte
}

// Event is one received event. Its slices are valid until the next call
// to Next.
type Event struct {
	ID   int64
	Type []byte
	Data []byte
}

// DialStream opens GET path (e.g. /api/v1/stream) on addr with the bearer
// token, sending Last-Event-ID when lastID >= 0, and returns once the
// response head has been read.
func DialStream(ctx context.Context, addr, path, token string, lastID int64) (*Stream, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept: text/event-stream\r\nAuthorization: Bearer " + token + "\r\n"
	if lastID >= 0 {
		req += "Last-Event-ID: " + strconv.FormatInt(lastID, 10) + "\r\n"
	}
	req += "\r\n"
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, req); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(c, 4096)
	status, err := br.ReadString('\n')
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("stream response: %w", err)
	}
	s := &Stream{conn: c, r: br}
	chunked, length := false, 0
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("stream response head: %w", err)
		}
		l = strings.TrimRight(l, "\r\n")
		if l == "" {
			break
		}
		k, v, _ := strings.Cut(l, ":")
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "transfer-encoding":
			chunked = strings.EqualFold(v, "chunked")
		case "content-length":
			length, _ = strconv.Atoi(v)
		case "sitroom-stream-position":
			s.Position, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		body := make([]byte, min(max(length, 0), 512))
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, _ := io.ReadFull(br, body)
		c.Close()
		return nil, fmt.Errorf("stream: %s: %s", strings.TrimSpace(status), bytes.TrimSpace(body[:n]))
	}
	_ = c.SetDeadline(time.Time{})
	if chunked {
		// Not hijacked (e.g. a proxy in between): net/http chunks the body.
		s.r = bufio.NewReaderSize(httputil.NewChunkedReader(br), 4096)
	}
	return s, nil
}

// SetReadDeadline bounds the wait of the next reads.
func (s *Stream) SetReadDeadline(t time.Time) error { return s.conn.SetReadDeadline(t) }

// Close closes the connection.
func (s *Stream) Close() error { return s.conn.Close() }

// Next returns the next event, skipping comments (keep-alives).
func (s *Stream) Next() (Event, error) {
	s.data, s.typ = s.data[:0], s.typ[:0]
	ev := Event{ID: -1}
	hasData := false
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A long line: gather it.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = s.r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil {
			return Event{}, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			if !hasData && len(s.typ) == 0 {
				continue // only comments or an id
			}
			ev.Type, ev.Data = s.typ, s.data
			return ev, nil
		}
		if line[0] == ':' {
			continue
		}
		k, v, _ := bytes.Cut(line, []byte(":"))
		v = bytes.TrimPrefix(v, []byte(" "))
		switch string(k) {
		case "id":
			ev.ID, _ = strconv.ParseInt(string(v), 10, 64)
		case "event":
			s.typ = append(s.typ, v...)
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			s.data = append(s.data, v...)
			hasData = true
		}
	}
}
