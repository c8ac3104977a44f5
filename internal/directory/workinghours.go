package directory

import (
	"fmt"
	"strings"
	"time"
)

// WorkingHours is a weekly pattern of local wall-clock hours, such as
// "Mon-Fri 09:00-18:00" or "Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-16:45".
// It is kept as wall time and interpreted in a zone only when asked, so
// "09:00 in Almaty" stays 09:00 local when the zone's offset changes.
//
// Grammar: "24/7", or rules separated by ";"; a rule is days then spans;
// days are Mon..Sun, single or as a range ("Sun-Thu" wraps over the week),
// separated by ","; spans are HH:MM-HH:MM separated by ","; "24:00" may end
// a span, and a span whose end is not after its start runs past midnight
// into the next day ("Mon-Fri 20:00-08:00").
type WorkingHours struct {
	Always bool
	Rules  []HoursRule
}

// HoursRule is the spans that apply on a set of weekdays.
type HoursRule struct {
	Days  [7]bool // indexed by time.Weekday
	Spans []Span
	items []dayItem
}

// Span is a stretch of the day in minutes after local midnight; End may be
// 1440 (24:00). End <= Start means the span ends on the next day.
type Span struct{ Start, End int }

type dayItem struct{ from, to time.Weekday }

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

func parseDay(s string) (time.Weekday, bool) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return time.Weekday(i), true
		}
	}
	return 0, false
}

// ParseWorkingHours reads a working-hours spec. The empty string is the
// zero value: no working hours given.
func ParseWorkingHours(s string) (WorkingHours, error) {
	var w WorkingHours
	s = strings.TrimSpace(s)
	if s == "" {
		return w, nil
	}
	if strings.EqualFold(s, "24/7") {
		w.Always = true
		return w, nil
	}
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		r, err := parseRule(part)
		if err != nil {
			return WorkingHours{}, fmt.Errorf("working hours %s: %w", quote(s), err)
		}
		w.Rules = append(w.Rules, r)
	}
	if len(w.Rules) == 0 {
		return WorkingHours{}, fmt.Errorf("working hours %s: no days and hours given (e.g. Mon-Fri 09:00-18:00)", quote(s))
	}
	return w, nil
}

func parseRule(s string) (HoursRule, error) {
	var r HoursRule
	cut := strings.IndexAny(s, "0123456789")
	if cut < 0 {
		return r, fmt.Errorf("%s has no hours (e.g. Mon-Fri 09:00-18:00)", quote(s))
	}
	days := strings.ReplaceAll(strings.TrimSpace(s[:cut]), " ", "")
	spans := strings.ReplaceAll(s[cut:], " ", "")
	if days == "" {
		return r, fmt.Errorf("%s has no days (e.g. Mon-Fri 09:00-18:00)", quote(s))
	}
	for _, item := range strings.Split(days, ",") {
		a, b, isRange := strings.Cut(item, "-")
		from, ok1 := parseDay(a)
		to, ok2 := from, true
		if isRange {
			to, ok2 = parseDay(b)
		}
		if !ok1 || !ok2 {
			return r, fmt.Errorf("unknown day in %s (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)", quote(item))
		}
		r.items = append(r.items, dayItem{from, to})
		for d := from; ; d = (d + 1) % 7 {
			r.Days[d] = true
			if d == to {
				break
			}
		}
	}
	for _, sp := range strings.Split(spans, ",") {
		a, b, ok := strings.Cut(sp, "-")
		start, ok1 := parseClock(a, false)
		end, ok2 := parseClock(b, true)
		if !ok || !ok1 || !ok2 {
			return r, fmt.Errorf("%s is not a span of hours such as 09:00-18:00", quote(sp))
		}
		if start == end {
			return r, fmt.Errorf("%s is empty: it starts when it ends", quote(sp))
		}
		r.Spans = append(r.Spans, Span{start, end})
	}
	return r, nil
}

// parseClock reads HH:MM; 24:00 only as an end.
func parseClock(s string, end bool) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h == 24 && m == 0 && end {
		return 1440, true
	}
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

// IsZero tells whether no working hours were given.
func (w WorkingHours) IsZero() bool { return !w.Always && len(w.Rules) == 0 }

// String is the canonical spelling, which is what the directory stores.
func (w WorkingHours) String() string {
	if w.Always {
		return "24/7"
	}
	rules := make([]string, len(w.Rules))
	for i, r := range w.Rules {
		days := make([]string, len(r.items))
		for j, it := range r.items {
			days[j] = dayNames[it.from]
			if it.to != it.from {
				days[j] += "-" + dayNames[it.to]
			}
		}
		spans := make([]string, len(r.Spans))
		for j, sp := range r.Spans {
			spans[j] = clockText(sp.Start) + "-" + clockText(sp.End)
		}
		rules[i] = strings.Join(days, ",") + " " + strings.Join(spans, ",")
	}
	return strings.Join(rules, "; ")
}

func clockText(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Contains tells whether instant t falls within the working hours as kept in
// zone loc: t is turned into loc's wall time with the offset in force at t.
func (w WorkingHours) Contains(t time.Time, loc *time.Location) bool {
	if w.Always {
		return true
	}
	local := t.In(loc)
	day := local.Weekday()
	prev := (day + 6) % 7
	m := local.Hour()*60 + local.Minute()
	for _, r := range w.Rules {
		for _, sp := range r.Spans {
			if sp.Start < sp.End {
				if r.Days[day] && m >= sp.Start && m < sp.End {
					return true
				}
				continue
			}
			// Runs past midnight: the evening part today, the morning
			// part of a span that began yesterday.
			if r.Days[day] && m >= sp.Start || r.Days[prev] && m < sp.End {
				return true
			}
		}
	}
	return false
}

// ContainsIn is Contains with the zone given by its IANA name.
func (w WorkingHours) ContainsIn(t time.Time, zone string) (bool, error) {
	if zone == "" || zone == "Local" {
		return false, fmt.Errorf("unknown time zone %s", quote(zone))
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return false, fmt.Errorf("unknown time zone %s", quote(zone))
	}
	return w.Contains(t, loc), nil
}
