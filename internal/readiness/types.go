package readiness

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"sitroom/internal/alert"
)

// Kinds of check: when it is sent.
const (
	KindNow       = "now"       // sent at once, as the user who creates it
	KindAt        = "at"        // one-off at a chosen instant
	KindSurprise  = "surprise"  // one-off at a minute drawn within a window
	KindRecurring = "recurring" // an occurrence of a Series
)

// States of a check.
const (
	StateScheduled = "scheduled"
	StateFiring    = "firing" // taken by a sender; the alert may or may not exist yet
	StateFired     = "fired"
	StateCancelled = "cancelled"
	StateFailed    = "failed" // the alert could not be sent (e.g. no active post matched any more)
)

// States of a series.
const (
	SeriesActive    = "active"
	SeriesCancelled = "cancelled"
)

// EventCheckUpdated is the outbox event type for a check that was
// cancelled, fired or failed (events.TypeCheckScheduled announces new ones).
// Both go to centre roles only.
const EventCheckUpdated = "check.updated"

// NewCheck is what the centre gives to create a check. Exercise is not a
// field: a check is always an exercise.
type NewCheck struct {
	Title            string         `json:"title"`
	Body             string         `json:"body"`
	Priority         alert.Priority `json:"priority"`
	AckWithinSeconds int            `json:"ack_within_seconds"`
	Targets          alert.Targets  `json:"targets"`
	// Kind: now, at, surprise or recurring.
	Kind string `json:"kind"`
	// At is the instant of a one-off check (kind at).
	At *time.Time `json:"at,omitempty"`
	// WindowFrom and WindowTo bound a surprise check: its minute is drawn
	// in [WindowFrom, WindowTo), and not before the moment of creation.
	WindowFrom *time.Time `json:"window_from,omitempty"`
	WindowTo   *time.Time `json:"window_to,omitempty"`
	// Recurrence is the rule of a recurring check.
	Recurrence *Recurrence `json:"recurrence,omitempty"`
}

// CheckEdit changes the content of a check that has not fired. Its time
// cannot be edited: a drawn minute is never drawn again (cancel the check
// and create another instead).
type CheckEdit struct {
	Title            string         `json:"title"`
	Body             string         `json:"body"`
	Priority         alert.Priority `json:"priority"`
	AckWithinSeconds int            `json:"ack_within_seconds"`
	Targets          alert.Targets  `json:"targets"`
}

// Recurrence is the rule of a recurring check: on the given weekdays (or
// days of the month; a day the month lacks means its last day), at a random
// minute of [WindowStart, WindowEnd) local time in TZ. An end at or before
// the start means the window runs past midnight. An empty TZ means the
// organisation's zone, resolved when the series is created and stored.
type Recurrence struct {
	Weekdays    []time.Weekday `json:"weekdays,omitempty"`   // 0 = Sunday … 6 = Saturday
	MonthDays   []int          `json:"month_days,omitempty"` // 1 … 31
	WindowStart string         `json:"window_start"`         // "HH:MM"
	WindowEnd   string         `json:"window_end"`           // "HH:MM"
	TZ          string         `json:"tz"`
}

// Series is a recurring check's rule and content.
type Series struct {
	ID               string         `json:"id"`
	Title            string         `json:"title"`
	Body             string         `json:"body"`
	Priority         alert.Priority `json:"priority"`
	AckWithinSeconds int            `json:"ack_within_seconds"`
	Targets          alert.Targets  `json:"targets"`
	Recurrence       Recurrence     `json:"recurrence"`
	State            string         `json:"state"`
	CreatedAt        time.Time      `json:"created_at"`
	CreatedBy        string         `json:"created_by"`
	UpdatedAt        time.Time      `json:"updated_at"`
	CancelledAt      *time.Time     `json:"cancelled_at,omitempty"`
	CancelledBy      string         `json:"cancelled_by,omitempty"`
	CancelComment    string         `json:"cancel_comment,omitempty"`
	// Next is the materialised next occurrence, if any.
	Next *Check `json:"next,omitempty"`
}

// Check is one readiness check (one alert when it fires).
type Check struct {
	ID               string         `json:"id"`
	SeriesID         *string        `json:"series_id"`
	Kind             string         `json:"kind"`
	Title            string         `json:"title"`
	Body             string         `json:"body"`
	Priority         alert.Priority `json:"priority"`
	AckWithinSeconds int            `json:"ack_within_seconds"`
	Targets          alert.Targets  `json:"targets"`
	Exercise         bool           `json:"exercise"` // always true
	WindowFrom       *time.Time     `json:"window_from,omitempty"`
	WindowTo         *time.Time     `json:"window_to,omitempty"`
	// FireAt is the chosen or drawn instant (centre roles only until fired).
	FireAt        time.Time  `json:"fire_at"`
	State         string     `json:"state"`
	AlertID       *string    `json:"alert_id"`
	FiredAt       *time.Time `json:"fired_at"`
	Failure       string     `json:"failure,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	CreatedBy     string     `json:"created_by"`
	UpdatedAt     time.Time  `json:"updated_at"`
	CancelledAt   *time.Time `json:"cancelled_at,omitempty"`
	CancelledBy   string     `json:"cancelled_by,omitempty"`
	CancelComment string     `json:"cancel_comment,omitempty"`
}

// Stat is a time to acknowledge, or a miss counted as infinite. It renders
// as "> deadline" when over. Its zero value means "nothing to measure".
type Stat struct {
	Valid bool          // false: no post to measure
	Over  bool          // infinite: not acknowledged by the deadline
	D     time.Duration // the time when Valid and not Over
}

// Finite returns a measured time.
func Finite(d time.Duration) Stat { return Stat{Valid: true, D: d} }

// Infinite is a miss.
func Infinite() Stat { return Stat{Valid: true, Over: true} }

// String renders the value for people: "42s", "4m05s", "1h02m", "> deadline", "—".
func (s Stat) String() string {
	switch {
	case !s.Valid:
		return "—"
	case s.Over:
		return "> deadline"
	}
	return FormatDuration(s.D)
}

// Seconds returns the value in seconds, rounded to whole seconds, and
// whether it is finite.
func (s Stat) Seconds() (int64, bool) {
	if !s.Valid || s.Over {
		return 0, false
	}
	return int64(math.Round(s.D.Seconds())), true
}

// less orders stats: finite ascending, then infinite, then invalid.
func (s Stat) less(o Stat) bool {
	rank := func(x Stat) int {
		switch {
		case !x.Valid:
			return 2
		case x.Over:
			return 1
		}
		return 0
	}
	if rank(s) != rank(o) {
		return rank(s) < rank(o)
	}
	return rank(s) == 0 && s.D < o.D
}

// MarshalJSON gives API clients the number and the flag:
// {"seconds": 42.5, "over_deadline": false, "text": "43s"}; seconds is
// null when over the deadline or when there is nothing to measure.
func (s Stat) MarshalJSON() ([]byte, error) {
	var sec *float64
	if s.Valid && !s.Over {
		v := math.Round(s.D.Seconds()*1000) / 1000
		sec = &v
	}
	return json.Marshal(struct {
		Seconds *float64 `json:"seconds"`
		Over    bool     `json:"over_deadline"`
		Text    string   `json:"text"`
	}{sec, s.Valid && s.Over, s.String()})
}

// FormatDuration renders a non-negative duration in whole seconds:
// "42s", "4m05s", "1h02m".
func FormatDuration(d time.Duration) string {
	sec := int64(math.Round(d.Seconds()))
	if sec < 0 {
		return "-" + FormatDuration(-d)
	}
	switch {
	case sec < 60:
		return fmt.Sprintf("%ds", sec)
	case sec < 3600:
		return fmt.Sprintf("%dm%02ds", sec/60, sec%60)
	}
	return fmt.Sprintf("%dh%02dm", sec/3600, (sec%3600)/60)
}
