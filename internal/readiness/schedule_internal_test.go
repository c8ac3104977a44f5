package readiness

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
)

func TestDrawnMinutesAreWholeMinutesInsideTheWindowAndVary(t *testing.T) {
	base := time.Date(2026, 1, 16, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		from, to time.Time
		want     []string // every minute that may be drawn
	}{
		{"whole minutes", base, base.Add(4 * time.Minute), []string{"10:00", "10:01", "10:02", "10:03"}},
		{"start rounded up", base.Add(30 * time.Second), base.Add(3*time.Minute + time.Second), []string{"10:01", "10:02", "10:03"}},
		{"one minute", base, base.Add(time.Minute), []string{"10:00"}},
		{"no whole minute", base.Add(10 * time.Second), base.Add(time.Minute), nil},
	}
	for _, c := range cases {
		seen := map[string]int{}
		for range 2000 {
			m, ok, err := drawMinute(c.from, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				seen["none"]++
				continue
			}
			if m.Before(c.from) || !m.Before(c.to) || m.Second() != 0 || m.Nanosecond() != 0 {
				t.Fatalf("%s: drew %v outside [%v, %v)", c.name, m, c.from, c.to)
			}
			seen[m.Format("15:04")]++
		}
		if c.want == nil {
			if seen["none"] != 2000 {
				t.Errorf("%s: drew %v", c.name, seen)
			}
			continue
		}
		if len(seen) != len(c.want) {
			t.Errorf("%s: drew %v, want each of %v", c.name, seen, c.want)
		}
		for _, w := range c.want {
			if seen[w] == 0 {
				t.Errorf("%s: never drew %s in 2000 draws (%v)", c.name, w, seen)
			}
		}
	}
}

func TestRecurrenceFindsTheNextWindowInItsZone(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name     string
		r        Recurrence
		after    string // UTC
		from, to string // UTC
	}{
		{"Friday, later today", Recurrence{Weekdays: []time.Weekday{time.Friday}, WindowStart: "10:00", WindowEnd: "16:00", TZ: "Europe/Moscow"},
			"2026-01-16 06:00", "2026-01-16 07:00", "2026-01-16 13:00"},
		{"Friday, window begun: next week", Recurrence{Weekdays: []time.Weekday{time.Friday}, WindowStart: "10:00", WindowEnd: "16:00", TZ: "Europe/Moscow"},
			"2026-01-16 07:01", "2026-01-23 07:00", "2026-01-23 13:00"},
		{"two weekdays", Recurrence{Weekdays: []time.Weekday{time.Monday, time.Friday}, WindowStart: "10:00", WindowEnd: "16:00", TZ: "Asia/Tashkent"},
			"2026-01-16 11:00", "2026-01-19 05:00", "2026-01-19 11:00"},
		{"day 31 in a 30-day month is its last day", Recurrence{MonthDays: []int{31}, WindowStart: "09:00", WindowEnd: "10:00", TZ: "UTC"},
			"2026-04-01 00:00", "2026-04-30 09:00", "2026-04-30 10:00"},
		{"window past midnight", Recurrence{Weekdays: []time.Weekday{time.Saturday}, WindowStart: "22:00", WindowEnd: "02:00", TZ: "UTC"},
			"2026-01-16 00:00", "2026-01-17 22:00", "2026-01-18 02:00"},
		{"spring forward: a 5-hour window", Recurrence{Weekdays: []time.Weekday{time.Sunday}, WindowStart: "01:00", WindowEnd: "07:00", TZ: "Europe/Berlin"},
			"2026-03-28 00:00", "2026-03-29 00:00", "2026-03-29 05:00"},
	}
	for _, c := range cases {
		from, to, ok := c.r.next(utc(c.after))
		if !ok || !from.Equal(utc(c.from)) || !to.Equal(utc(c.to)) {
			t.Errorf("%s: got %v–%v (%v), want %s–%s", c.name, from, to, ok, c.from, c.to)
		}
	}
}

func TestRecurrenceRulesAreValidated(t *testing.T) {
	cases := []struct {
		r    Recurrence
		code string
	}{
		{Recurrence{WindowStart: "10:00", WindowEnd: "11:00", TZ: "UTC"}, "required"},
		{Recurrence{Weekdays: []time.Weekday{1}, MonthDays: []int{1}, WindowStart: "10:00", WindowEnd: "11:00", TZ: "UTC"}, "conflicting_rule"},
		{Recurrence{Weekdays: []time.Weekday{7}, WindowStart: "10:00", WindowEnd: "11:00", TZ: "UTC"}, "out_of_range"},
		{Recurrence{MonthDays: []int{32}, WindowStart: "10:00", WindowEnd: "11:00", TZ: "UTC"}, "out_of_range"},
		{Recurrence{MonthDays: []int{1}, WindowStart: "10:00", WindowEnd: "10:00", TZ: "UTC"}, "empty_window"},
		{Recurrence{MonthDays: []int{1}, WindowStart: "10", WindowEnd: "11:00", TZ: "UTC"}, "invalid_time"},
		{Recurrence{MonthDays: []int{1}, WindowStart: "10:00", WindowEnd: "11:00", TZ: "Nowhere/City"}, "unknown_zone"},
		{Recurrence{MonthDays: []int{15, 1, 15}, WindowStart: "10:00", WindowEnd: "11:00", TZ: "UTC"}, ""},
	}
	for _, c := range cases {
		var f apperr.Fields
		r := c.r
		r.normalise(&f)
		var codes []string
		for _, fe := range f {
			codes = append(codes, fe.Code)
		}
		if got := strings.Join(codes, ","); !strings.Contains(got, c.code) || (c.code == "" && got != "") {
			t.Errorf("%+v: codes %q, want %q", c.r, got, c.code)
		}
		if c.code == "" && fmt.Sprint(r.MonthDays) != "[1 15]" {
			t.Errorf("days not normalised: %v", r.MonthDays)
		}
	}
}

func TestPercentilesCountMissesAsInfiniteByNearestRank(t *testing.T) {
	s := func(sec ...int) []Row {
		var rows []Row
		for _, v := range sec {
			if v < 0 {
				rows = append(rows, Row{Result: Infinite(), Missed: true, class: classSilent})
			} else {
				rows = append(rows, Row{Result: Finite(time.Duration(v) * time.Second), class: classOnTime})
			}
		}
		return rows
	}
	const miss = -1
	cases := []struct {
		name        string
		rows        []Row
		median, p90 string
	}{
		{"nothing addressed", nil, "—", "—"},
		{"one post", s(42), "42s", "42s"},
		{"ten, none missed", s(10, 20, 30, 40, 50, 60, 70, 80, 90, 100), "50s", "1m30s"},
		{"ten, one missed (10% is not more than 10%)", s(miss, 20, 30, 40, 50, 60, 70, 80, 90, 100), "1m00s", "1m40s"},
		{"ten, two missed", s(miss, miss, 30, 40, 50, 60, 70, 80, 90, 100), "1m10s", "> deadline"},
		{"eleven, one missed (9%)", s(miss, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100), "1m00s", "1m40s"},
		{"eleven, two missed (18%)", s(miss, miss, 20, 30, 40, 50, 60, 70, 80, 90, 100), "1m10s", "> deadline"},
		{"ten, five missed: the median is still a time", s(miss, miss, miss, miss, miss, 10, 20, 30, 40, 50), "50s", "> deadline"},
		{"ten, six missed", s(miss, miss, miss, miss, miss, miss, 20, 30, 40, 50), "> deadline", "> deadline"},
		{"cancelled deliveries are left out", append(s(10, 20), Row{Cancelled: true, class: classCancelled}), "10s", "20s"},
	}
	for _, c := range cases {
		sm := summarise(c.rows)
		if sm.Median.String() != c.median || sm.P90.String() != c.p90 {
			t.Errorf("%s: median %s, p90 %s; want %s, %s", c.name, sm.Median, sm.P90, c.median, c.p90)
		}
	}
}

func TestStatJSONSaysOverDeadlineWithoutANumber(t *testing.T) {
	for _, c := range []struct {
		s    Stat
		want string
	}{
		{Finite(1500 * time.Millisecond), `{"seconds":1.5,"over_deadline":false,"text":"2s"}`},
		{Infinite(), `{"seconds":null,"over_deadline":true,"text":"\u003e deadline"}`},
		{Stat{}, `{"seconds":null,"over_deadline":false,"text":"—"}`},
	} {
		b, err := c.s.MarshalJSON()
		if err != nil || string(b) != c.want {
			t.Errorf("%+v: %s %v, want %s", c.s, b, err, c.want)
		}
	}
}
