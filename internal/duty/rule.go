package duty

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// wall is a local wall-clock time of day.
type wall struct{ h, m int }

func parseWall(s string) (wall, bool) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(hh) != 2 || len(mm) != 2 {
		return wall{}, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return wall{}, false
	}
	return wall{h, m}, true
}

func (w wall) String() string { return fmt.Sprintf("%02d:%02d", w.h, w.m) }

func (w wall) minutes() int { return w.h*60 + w.m }

// date is a calendar date.
type date struct {
	y int
	m time.Month
	d int
}

func parseDate(s string) (date, bool) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return date{}, false
	}
	return date{t.Year(), t.Month(), t.Day()}, true
}

func (d date) addDays(n int) date {
	t := time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC)
	return date{t.Year(), t.Month(), t.Day()}
}

func (d date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, int(d.m), d.d) }

// localInstant is the instant at which the clocks of loc show wall time w
// on day d. Hand-overs follow the wall clock, so a shift across a clock
// change lasts 23 or 25 hours. A wall time skipped by a clock change (spring
// forward) maps to the instant after the gap, as if the clocks had not yet
// moved; one that occurs twice (fall back) maps to its first occurrence —
// the rules of RFC 5545 §3.3.5. Go's time.Date leaves both cases
// unspecified, hence this function.
func localInstant(d date, w wall, loc *time.Location) time.Time {
	naive := time.Date(d.y, d.m, d.d, w.h, w.m, 0, 0, time.UTC)
	var best time.Time
	found := false
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := naive.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		cand := naive.Add(-time.Duration(off) * time.Second)
		if _, o := cand.In(loc).Zone(); o == off && (!found || cand.Before(best)) {
			best, found = cand, true
		}
	}
	if found {
		return best
	}
	_, off := naive.Add(-36 * time.Hour).In(loc).Zone()
	return naive.Add(-time.Duration(off) * time.Second)
}

// rule is a rotation ready to compute: shift i runs from hand-over i to
// hand-over i+1, counting the hand-overs of each day in order from the
// start date, and is taken by team[i mod len(team)].
type rule struct {
	handovers []wall
	loc       *time.Location
	start     date
	team      []string
}

// bounds returns shift i's start and end.
func (r *rule) bounds(i int) (time.Time, time.Time) {
	k := len(r.handovers)
	day, j := i/k, i%k
	d := r.start.addDays(day)
	st := localInstant(d, r.handovers[j], r.loc)
	if j+1 < k {
		return st, localInstant(d, r.handovers[j+1], r.loc)
	}
	return st, localInstant(d.addDays(1), r.handovers[0], r.loc)
}

func (r *rule) person(i int) string { return r.team[i%len(r.team)] }

// firstEndingAfter returns the first shift number whose end is after t.
func (r *rule) firstEndingAfter(t time.Time) int {
	base := localInstant(r.start, r.handovers[0], r.loc)
	if !t.After(base) {
		return 0
	}
	day := int(t.Sub(base)/(24*time.Hour)) - 2
	if day < 0 {
		day = 0
	}
	i := day * len(r.handovers)
	for {
		if _, e := r.bounds(i); e.After(t) {
			return i
		}
		i++
	}
}

// validateRule checks a rotation's rule fields and returns the rule (team
// ids not yet checked against the directory).
func validateRule(in RotationInput, zone string, f *fieldErrs) *rule {
	r := &rule{team: in.Team}
	loc, err := loadZone(zone)
	if err != nil || zone == "" {
		f.add("tz", "unknown_zone", "%q is not an IANA time zone (e.g. Asia/Almaty)", zone)
	} else {
		r.loc = loc
	}
	if len(in.Handovers) == 0 {
		f.add("handovers", "required", "at least one hand-over time is required (e.g. 09:00, or 08:00 and 20:00)")
	} else if len(in.Handovers) > 6 {
		f.add("handovers", "too_many", "at most 6 hand-overs a day")
	}
	for i, h := range in.Handovers {
		w, ok := parseWall(h)
		if !ok {
			f.add(fmt.Sprintf("handovers[%d]", i), "invalid_time", "%q is not a wall time HH:MM", h)
			continue
		}
		r.handovers = append(r.handovers, w)
	}
	if len(r.handovers) == len(in.Handovers) {
		ok := true
		for i := 1; i < len(r.handovers); i++ {
			if r.handovers[i].minutes() <= r.handovers[i-1].minutes() {
				ok = false
			}
		}
		if !ok {
			f.add("handovers", "not_ascending", "hand-over times must be distinct and in ascending order within the day")
		}
	}
	if d, ok := parseDate(in.StartDate); ok {
		r.start = d
	} else {
		f.add("start_date", "invalid_date", "%q is not a date YYYY-MM-DD", in.StartDate)
	}
	switch {
	case len(in.Team) == 0:
		f.add("team", "required", "a rotation needs at least one person")
	case len(in.Team) > 100:
		f.add("team", "too_many", "at most 100 people in a rotation")
	}
	if !in.Slot.Valid() {
		f.add("slot", "invalid_slot", "slot must be primary or deputy")
	}
	return r
}
