package api

import (
	"context"
	"net/http"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/httpx"
)

// ClockMove is the body of POST /api/v1/test/clock: exactly one of Advance
// (a Go duration such as "90s" or "2h30m", forwards only) and Set (an RFC
// 3339 instant, forwards or backwards).
type ClockMove struct {
	Advance string `json:"advance,omitempty"`
	Set     string `json:"set,omitempty"`
}

// ClockNow is the test clock's reading.
type ClockNow struct {
	Now time.Time `json:"now"`
}

// testClock is the test-mode clock control. It has no domain store, so its
// one rule (signed-in users read it, administrators move it) is checked
// here rather than in the handler, and every move is audited like any other
// action.
type testClock struct {
	fake  *clock.Fake
	db    *db.DB
	audit *audit.Log
}

func (c testClock) now(ctx context.Context) (ClockNow, error) {
	if auth.From(ctx) == nil {
		return ClockNow{}, apperr.Unauthorized("sign in first")
	}
	return ClockNow{Now: c.fake.Now()}, nil
}

func (c testClock) move(ctx context.Context, m ClockMove) (ClockNow, error) {
	a := auth.From(ctx)
	if a == nil {
		return ClockNow{}, apperr.Unauthorized("sign in first")
	}
	if !a.IsAdmin() {
		return ClockNow{}, apperr.Forbidden("admin-only", "only an administrator may move the test clock")
	}
	var f apperr.Fields
	var to time.Time
	before := c.fake.Now()
	switch {
	case (m.Advance == "") == (m.Set == ""):
		f.Add("advance", "exactly_one", "give exactly one of advance and set")
	case m.Advance != "":
		d, err := time.ParseDuration(m.Advance)
		switch {
		case err != nil:
			f.Add("advance", "invalid_duration", "not a duration such as 90s or 2h30m: %q", m.Advance)
		case d < 0:
			f.Add("advance", "negative", "the clock only advances; use set to go back")
		default:
			to = before.Add(d)
		}
	default:
		t, err := time.Parse(time.RFC3339, m.Set)
		if err != nil {
			f.Add("set", "invalid_time", "not an RFC 3339 instant such as 2026-01-15T09:00:00Z: %q", m.Set)
		}
		to = t
	}
	if err := f.Err(); err != nil {
		return ClockNow{}, err
	}
	to = clock.Norm(to)
	err := c.db.RunInTx(ctx, func(tx *db.Tx) error {
		return c.audit.Record(ctx, tx, audit.Entry{Action: "test.clock", ObjectType: "clock",
			Summary: "test clock moved from " + before.Format(time.RFC3339) + " to " + to.Format(time.RFC3339),
			Before:  ClockNow{Now: before}, After: ClockNow{Now: to}})
	})
	if err != nil {
		return ClockNow{}, err
	}
	c.fake.Set(to)
	return ClockNow{Now: c.fake.Now()}, nil
}

func (h *handlers) testClockRoutes(rt *router) {
	c := testClock{fake: h.d.Fake, db: h.d.DB, audit: h.d.Audit}
	rt.handle("GET", Prefix+"/test/clock", func(w http.ResponseWriter, r *http.Request) error {
		now, err := c.now(r.Context())
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, now)
		return nil
	})
	rt.handle("POST", Prefix+"/test/clock", func(w http.ResponseWriter, r *http.Request) error {
		var m ClockMove
		if err := httpx.DecodeJSON(w, r, &m, 1<<10); err != nil {
			return err
		}
		now, err := c.move(r.Context(), m)
		if err != nil {
			return err
		}
		httpx.JSON(w, http.StatusOK, now)
		return nil
	})
}
