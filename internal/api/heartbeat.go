package api

import (
	"net/http"

	"sitroom/internal/presence"
)

// HeartbeatRequest is the body of POST /api/v1/heartbeat: the posts (ids
// or codes) this terminal is open for; empty or absent: every post the
// caller acts for now.
type HeartbeatRequest struct {
	Posts []string `json:"posts,omitempty"`
}

// Heartbeat is the answer: what the beat marked, the server's time (a
// terminal whose clock is wrong can tell) and the stream position (a
// terminal whose stream has fallen behind can tell).
type Heartbeat struct {
	presence.Result
	Position int64 `json:"position"`
	// IntervalSeconds is how often to beat.
	IntervalSeconds int `json:"interval_seconds"`
}

func (h *handlers) heartbeatRoutes(rt *router) {
	rt.handle("POST", Prefix+"/heartbeat", func(w http.ResponseWriter, r *http.Request) error {
		var in HeartbeatRequest
		if r.ContentLength != 0 {
			var err error
			if in, err = decode[HeartbeatRequest](w, r, maxSmallBody*4); err != nil {
				return err
			}
		}
		pos := h.d.Hub.Position()
		res, err := h.d.Presence.Beat(r.Context(), in.Posts)
		if err != nil {
			return err
		}
		return ok(w, Heartbeat{Result: *res, Position: pos, IntervalSeconds: int(presence.Interval.Seconds())})
	})
}
