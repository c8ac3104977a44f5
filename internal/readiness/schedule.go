package readiness

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/apperr"
)

// maxWindow bounds a surprise window: a drill announced as "some time in
// the next year" is not a drill.
const maxWindow = 92 * 24 * time.Hour

// searchDays is how far ahead a recurrence looks for its next date (a
// monthly rule always finds one within two months).
const searchDays = 400

// ceilMinute rounds t up to a whole minute.
func ceilMinute(t time.Time) time.Time {
	u := t.Truncate(time.Minute)
	if u.Before(t) {
		u = u.Add(time.Minute)
	}
	return u
}

// drawMinute draws, with crypto/rand, a whole minute m with from ≤ m < to
// (from is first rounded up to a minute). ok is false when the window holds
// no whole minute.
func drawMinute(from, to time.Time) (time.Time, bool, error) {
	start := ceilMinute(from)
	if !start.Before(to) {
		return time.Time{}, false, nil
	}
	n := int64(to.Sub(start)-1)/int64(time.Minute) + 1 // minutes start, start+1m, … < to
	k, err := rand.Int(rand.Reader, big.NewInt(n))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("draw a minute: %w", err)
	}
	return start.Add(time.Duration(k.Int64()) * time.Minute), true, nil
}

// parseWall reads "HH:MM" into minutes after midnight.
func parseWall(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		return 0, false
	}
	return hh*60 + mm, true
}

// normalise validates a recurrence and puts it in its stored form (sorted,
// deduplicated). The zone must already be filled in.
func (r *Recurrence) normalise(f *apperr.Fields) {
	if len(r.Weekdays) == 0 && len(r.MonthDays) == 0 {
		f.Add("recurrence", "required", "give weekdays or days of the month")
	}
	if len(r.Weekdays) > 0 && len(r.MonthDays) > 0 {
		f.Add("recurrence", "conflicting_rule", "give weekdays or days of the month, not both")
	}
	for _, w := range r.Weekdays {
		if w < time.Sunday || w > time.Saturday {
			f.Add("recurrence.weekdays", "out_of_range", "weekdays are 0 (Sunday) to 6 (Saturday)")
			break
		}
	}
	for _, d := range r.MonthDays {
		if d < 1 || d > 31 {
			f.Add("recurrence.month_days", "out_of_range", "days of the month are 1 to 31")
			break
		}
	}
	slices.Sort(r.Weekdays)
	r.Weekdays = slices.Compact(r.Weekdays)
	slices.Sort(r.MonthDays)
	r.MonthDays = slices.Compact(r.MonthDays)
	s, ok1 := parseWall(r.WindowStart)
	e, ok2 := parseWall(r.WindowEnd)
	if !ok1 {
		f.Add("recurrence.window_start", "invalid_time", "a local time HH:MM")
	}
	if !ok2 {
		f.Add("recurrence.window_end", "invalid_time", "a local time HH:MM")
	}
	if ok1 && ok2 && s == e {
		f.Add("recurrence.window_end", "empty_window", "the window must last at least a minute")
	}
	r.WindowStart, r.WindowEnd = strings.TrimSpace(r.WindowStart), strings.TrimSpace(r.WindowEnd)
	if r.TZ == "" {
		f.Add("recurrence.tz", "required", "give a time zone (the organisation has none set)")
	} else if _, err := time.LoadLocation(r.TZ); err != nil {
		f.Add("recurrence.tz", "unknown_zone", "unknown time zone %q", r.TZ)
	}
}

// matches tells whether the local date (y, m, d) is a day of the rule.
func (r Recurrence) matches(y int, m time.Month, d int, wd time.Weekday) bool {
	if len(r.Weekdays) > 0 {
		return slices.Contains(r.Weekdays, wd)
	}
	last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
	for _, md := range r.MonthDays {
		if min(md, last) == d {
			return true
		}
	}
	return false
}

// next returns the first window of the rule that starts at or after t. The
// window of a day is [start, end) in the rule's zone; across a daylight-
// saving change it lasts an hour more or less, and a wall time the change
// skips is read as the instant after the gap (time.Date's rule).
func (r Recurrence) next(t time.Time) (from, to time.Time, ok bool) {
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	s, ok1 := parseWall(r.WindowStart)
	e, ok2 := parseWall(r.WindowEnd)
	if !ok1 || !ok2 || s == e {
		return time.Time{}, time.Time{}, false
	}
	lt := t.In(loc)
	// Start a day early: a window past midnight may have begun "yesterday".
	y, m, d := lt.Date()
	for i := -1; i <= searchDays; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		dy, dm, dd := day.Date()
		if !r.matches(dy, dm, dd, day.Weekday()) {
			continue
		}
		from = time.Date(dy, dm, dd, s/60, s%60, 0, 0, loc)
		endDay := dd
		if e <= s {
			endDay++
		}
		to = time.Date(dy, dm, endDay, e/60, e%60, 0, 0, loc)
		if !from.Before(t) && to.After(from) {
			return from.UTC(), to.UTC(), true
		}
	}
	return time.Time{}, time.Time{}, false
}
