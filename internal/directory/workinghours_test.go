package directory_test

import (
	"strings"
	"testing"
	"time"

	"sitroom/internal/directory"
)

func TestParseWorkingHoursCanonicalForm(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Mon-Fri 09:00-18:00", "Mon-Fri 09:00-18:00"},
		{"  mon-fri   09:00 - 18:00 ", "Mon-Fri 09:00-18:00"},
		{"Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-16:45", "Mon-Thu 09:00-13:00,14:00-18:00; Fri 09:00-16:45"},
		{"Sun-Thu 08:00-17:00", "Sun-Thu 08:00-17:00"},
		{"Mon,Wed 20:00-08:00", "Mon,Wed 20:00-08:00"},
		{"Sat 10:00-24:00", "Sat 10:00-24:00"},
		{"24/7", "24/7"},
		{"", ""},
	} {
		w, err := directory.ParseWorkingHours(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := w.String(); got != tc.want {
			t.Errorf("%q: String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseWorkingHoursRejectsNonsense(t *testing.T) {
	for _, tc := range []struct{ in, wantMsg string }{
		{"Mon-Fri", "no hours"},
		{"09:00-18:00", "no days"},
		{"Mon-Fry 09:00-18:00", "unknown day"},
		{"Mon-Fri 9:00-18:00", "not a span"},
		{"Mon-Fri 09:00-25:00", "not a span"},
		{"Mon-Fri 24:00-08:00", "not a span"},
		{"Mon-Fri 09:60-18:00", "not a span"},
		{"Mon-Fri 09:00", "not a span"},
		{"Mon-Fri 09:00-09:00", "empty"},
		{";", "no days and hours"},
	} {
		_, err := directory.ParseWorkingHours(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantMsg) {
			t.Errorf("%q: got %v, want an error saying %q", tc.in, err, tc.wantMsg)
		}
	}
}

func TestWorkingHoursContainsWallTimeAcrossMidnight(t *testing.T) {
	w, err := directory.ParseWorkingHours("Mon,Wed 20:00-08:00")
	if err != nil {
		t.Fatal(err)
	}
	utc := time.UTC
	for _, tc := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2024, 3, 4, 19, 59, 0, 0, utc), false}, // Mon 19:59
		{time.Date(2024, 3, 4, 20, 0, 0, 0, utc), true},   // Mon 20:00
		{time.Date(2024, 3, 5, 7, 59, 0, 0, utc), true},   // Tue 07:59, started Monday
		{time.Date(2024, 3, 5, 8, 0, 0, 0, utc), false},   // Tue 08:00
		{time.Date(2024, 3, 5, 21, 0, 0, 0, utc), false},  // Tue evening: not a start day
		{time.Date(2024, 3, 7, 3, 0, 0, 0, utc), true},    // Thu 03:00, started Wednesday
	} {
		if got := w.Contains(tc.at, utc); got != tc.want {
			t.Errorf("%s: Contains = %v, want %v", tc.at.Format("Mon 15:04"), got, tc.want)
		}
	}
}

// Kazakhstan moved from UTC+6 to UTC+5 on 2024-03-01. "09:00 in Almaty" is
// 03:00 UTC before and 04:00 UTC after; a rule kept as a fixed offset would
// get one side wrong.
func TestWorkingHoursFollowKazakhstanOffsetChange(t *testing.T) {
	almaty, err := time.LoadLocation("Asia/Almaty")
	if err != nil {
		t.Fatal(err)
	}
	// The precondition: the zone data knows the change.
	if _, off := time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC).In(almaty).Zone(); off != 5*3600 {
		t.Fatalf("zone data too old: Asia/Almaty is UTC%+d on 2024-03-04, want +5", off/3600)
	}
	if _, off := time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC).In(almaty).Zone(); off != 6*3600 {
		t.Fatalf("Asia/Almaty is UTC%+d on 2024-02-29, want +6", off/3600)
	}
	w, err := directory.ParseWorkingHours("Mon-Fri 09:00-18:00")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		at   time.Time
		want bool
	}{
		{"Thu 29 Feb 08:59 +06", time.Date(2024, 2, 29, 2, 59, 0, 0, time.UTC), false},
		{"Thu 29 Feb 09:00 +06", time.Date(2024, 2, 29, 3, 0, 0, 0, time.UTC), true},
		{"Thu 29 Feb 17:59 +06", time.Date(2024, 2, 29, 11, 59, 0, 0, time.UTC), true},
		{"Thu 29 Feb 18:00 +06", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC), false},
		{"Mon 4 Mar 08:00 +05 (09:00 at the old offset)", time.Date(2024, 3, 4, 3, 0, 0, 0, time.UTC), false},
		{"Mon 4 Mar 09:00 +05", time.Date(2024, 3, 4, 4, 0, 0, 0, time.UTC), true},
		{"Mon 4 Mar 17:59 +05", time.Date(2024, 3, 4, 12, 59, 0, 0, time.UTC), true},
		{"Mon 4 Mar 18:00 +05", time.Date(2024, 3, 4, 13, 0, 0, 0, time.UTC), false},
		{"Sat 2 Mar 10:00 +05", time.Date(2024, 3, 2, 5, 0, 0, 0, time.UTC), false},
	} {
		if got := w.Contains(tc.at, almaty); got != tc.want {
			t.Errorf("%s: Contains = %v, want %v", tc.name, got, tc.want)
		}
	}
	in, err := w.ContainsIn(time.Date(2024, 3, 4, 4, 0, 0, 0, time.UTC), "Asia/Almaty")
	if err != nil || !in {
		t.Fatalf("ContainsIn = %v, %v", in, err)
	}
	if _, err := w.ContainsIn(time.Now(), "Asia/Almatyy"); err == nil {
		t.Fatal("ContainsIn accepted an unknown zone")
	}
}
