package duty

import (
	"context"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	l, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalInstantSkippedAndRepeatedWallTimes(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	almaty := mustZone(t, "Asia/Almaty")
	for _, tc := range []struct {
		name string
		d    date
		w    wall
		loc  *time.Location
		want time.Time
	}{
		{"ordinary winter time", date{2024, 1, 15}, wall{9, 0}, berlin, time.Date(2024, 1, 15, 8, 0, 0, 0, time.UTC)},
		{"ordinary summer time", date{2024, 7, 15}, wall{9, 0}, berlin, time.Date(2024, 7, 15, 7, 0, 0, 0, time.UTC)},
		// 02:30 does not exist on 2024-03-31 in Berlin: the instant after the gap (03:30 CEST).
		{"skipped by spring forward", date{2024, 3, 31}, wall{2, 30}, berlin, time.Date(2024, 3, 31, 1, 30, 0, 0, time.UTC)},
		// 02:30 happens twice on 2024-10-27 in Berlin: the first (CEST).
		{"repeated by fall back", date{2024, 10, 27}, wall{2, 30}, berlin, time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC)},
		// Kazakhstan left UTC+6 for UTC+5 at 2024-03-01 00:00: 23:30 on 29 February happened twice.
		{"Almaty repeated hour", date{2024, 2, 29}, wall{23, 30}, almaty, time.Date(2024, 2, 29, 17, 30, 0, 0, time.UTC)},
		{"Almaty before the change", date{2024, 2, 29}, wall{9, 0}, almaty, time.Date(2024, 2, 29, 3, 0, 0, 0, time.UTC)},
		{"Almaty after the change", date{2024, 3, 1}, wall{9, 0}, almaty, time.Date(2024, 3, 1, 4, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := localInstant(tc.d, tc.w, tc.loc); !got.Equal(tc.want) {
				t.Fatalf("got %v, want %v", got.UTC(), tc.want)
			}
		})
	}
}

// rotationDurations creates a rotation starting on startDate and returns
// the durations of its generated shifts, keyed by local start date.
func shiftHours(rows []Shift, loc *time.Location) map[string]float64 {
	out := map[string]float64{}
	for _, r := range rows {
		out[r.Start.In(loc).Format("2006-01-02 15:04")] = r.End.Sub(r.Start).Hours()
	}
	return out
}

func TestShiftAcrossClockChangeLasts23Or25Hours(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		// A post keeping local time in a zone with daylight saving.
		de := f.state("DE", "Europe/Berlin")
		post := f.post("DE-BBK", "ministry", de, "Europe/Berlin", "")
		a, b := f.person("de1", de, true), f.person("de2", de, true)
		us := f.state("US", "America/New_York")
		usPost := f.post("US-OEM", "ministry", us, "America/New_York", "")
		u1, u2 := f.person("us1", us, false), f.person("us2", us, false)
		f.clk.Set(time.Date(2024, 3, 25, 0, 0, 0, 0, time.UTC))
		f.s.SetHorizon(240 * 24 * time.Hour)
		rot := must(f.s.CreateRotation(f.admin(), RotationInput{PostID: post, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-03-25", Team: []string{a, b}}))(t)
		dn := must(f.s.CreateRotation(f.admin(), RotationInput{PostID: post, Slot: Deputy, Handovers: []string{"08:00", "20:00"}, StartDate: "2024-03-25", Team: []string{a, b}}))(t)
		ny := must(f.s.CreateRotation(f.admin(), RotationInput{PostID: usPost, Slot: Primary, Handovers: []string{"07:00"}, StartDate: "2024-03-25", Team: []string{u1, u2}}))(t)
		berlin, newYork := mustZone(t, "Europe/Berlin"), mustZone(t, "America/New_York")
		h := shiftHours(f.rotationRows(rot.ID), berlin)
		hd := shiftHours(f.rotationRows(dn.ID), berlin)
		hn := shiftHours(f.rotationRows(ny.ID), newYork)
		for _, c := range []struct {
			what  string
			got   float64
			hours float64
		}{
			{"Berlin 24-h shift before spring forward", h["2024-03-30 09:00"], 23},
			{"Berlin ordinary 24-h shift", h["2024-03-31 09:00"], 24},
			{"Berlin 24-h shift across fall back", h["2024-10-26 09:00"], 25},
			{"Berlin night shift across spring forward", hd["2024-03-30 20:00"], 11},
			{"Berlin day shift on the day of the change", hd["2024-03-31 08:00"], 12},
			{"Berlin night shift across fall back", hd["2024-10-26 20:00"], 13},
			{"New York 24-h shift across fall back (Nov 3)", hn["2024-11-02 07:00"], 25},
			{"New York ordinary shift", hn["2024-11-03 07:00"], 24},
		} {
			if c.got != c.hours {
				t.Errorf("%s: %v hours, want %v", c.what, c.got, c.hours)
			}
		}
		// Hand-overs stay at the local wall time, and the rows stay contiguous.
		rows := f.rotationRows(rot.ID)
		for i, r := range rows {
			if l := r.Start.In(berlin); l.Hour() != 9 || l.Minute() != 0 {
				t.Fatalf("row %d starts at %v local", i, l)
			}
			if i > 0 && !rows[i-1].End.Equal(r.Start) {
				t.Fatalf("rows %d and %d not contiguous", i-1, i)
			}
		}
	})
}

func TestAlmatyShiftAcross20240301Lasts25Hours(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.clk.Set(time.Date(2024, 2, 26, 0, 0, 0, 0, time.UTC))
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"},
			StartDate: "2024-02-26", Team: []string{f.kz1, f.kz2, f.kz3}}))(t)
		if rot.TZ != "Asia/Almaty" {
			t.Fatalf("zone defaults to the post's: %q", rot.TZ)
		}
		var across *Shift
		for _, r := range f.rotationRows(rot.ID) {
			if r.Start.Equal(time.Date(2024, 2, 29, 3, 0, 0, 0, time.UTC)) {
				r := r
				across = &r
			}
		}
		if across == nil {
			t.Fatal("no shift starting 2024-02-29 09:00 +06")
		}
		if got := across.End.Sub(across.Start); got != 25*time.Hour {
			t.Fatalf("shift across 2024-03-01 lasts %v, want 25h (ends %v)", got, across.End)
		}
		if !across.End.Equal(time.Date(2024, 3, 1, 4, 0, 0, 0, time.UTC)) {
			t.Fatalf("hand-over after the change at %v, want 04:00Z (09:00 +05)", across.End)
		}
	})
}

func TestRotationGeneratesToHorizonAndExtendHorizonTopsUp(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		// t0 is Monday 12:00 UTC = 17:00 in Almaty; the rotation started a week ago.
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Name: "24h", Slot: Primary,
			Handovers: []string{"09:00"}, StartDate: "2024-01-08", Team: []string{f.kz1, f.kz2, f.kz3}}))(t)
		rows := f.rotationRows(rot.ID)
		// The shift in progress (since 09:00 local today = 03:00Z) is the first row: no history is invented.
		if !rows[0].Start.Equal(time.Date(2024, 1, 15, 3, 0, 0, 0, time.UTC)) {
			t.Fatalf("first row starts %v", rows[0].Start)
		}
		last := rows[len(rows)-1]
		if !last.Start.Before(t0.Add(DefaultHorizon)) || last.End.Before(t0.Add(DefaultHorizon)) {
			t.Fatalf("last row %v–%v does not reach the 60-day horizon %v", last.Start, last.End, t0.Add(DefaultHorizon))
		}
		if len(rows) != 61 {
			t.Fatalf("%d rows, want 61", len(rows))
		}
		// Shift number 7 since 2024-01-08 (team of 3): kz2 (7 mod 3 = 1).
		team := []string{f.kz1, f.kz2, f.kz3}
		for i, r := range rows {
			if want := team[(7+i)%3]; r.PersonID != want {
				t.Fatalf("row %d is %s's, want %s's", i, f.name(r.PersonID), f.name(want))
			}
			hours := 24 * time.Hour
			if r.Start.Equal(time.Date(2024, 2, 29, 3, 0, 0, 0, time.UTC)) {
				hours = 25 * time.Hour // Kazakhstan's move to UTC+5 (see TestAlmatyShiftAcross20240301Lasts25Hours)
			}
			if r.End.Sub(r.Start) != hours || r.Source != FromRotation || r.Slot != Primary {
				t.Fatalf("row %d: %+v", i, r)
			}
		}
		if n := must(f.s.ExtendHorizon(context.Background()))(t); n != 0 {
			t.Fatalf("extending at once added %d", n)
		}
		f.clk.Advance(10 * 24 * time.Hour)
		if n := must(f.s.ExtendHorizon(context.Background()))(t); n != 10 {
			t.Fatalf("after 10 days ExtendHorizon added %d, want 10", n)
		}
		if n := must(f.s.ExtendHorizon(context.Background()))(t); n != 0 {
			t.Fatalf("ExtendHorizon is not idempotent: %d", n)
		}
		rows2 := f.rotationRows(rot.ID)
		for i := 1; i < len(rows2); i++ {
			if !rows2[i-1].End.Equal(rows2[i].Start) {
				t.Fatalf("gap between rows %d and %d", i-1, i)
			}
			if want := team[(7+i)%3]; rows2[i].PersonID != want {
				t.Fatalf("extended row %d is %s's, want %s's", i, f.name(rows2[i].PersonID), f.name(want))
			}
		}
		if f.auditCount("duty.horizon.extend") != 1 {
			t.Fatalf("one audit entry per extension that added shifts, got %d", f.auditCount("duty.horizon.extend"))
		}
	})
}

func TestDayNightRotationHandsOverAt0800And2000(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.s.SetHorizon(4 * 24 * time.Hour)
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Deputy, Handovers: []string{"08:00", "20:00"},
			StartDate: "2024-01-16", Team: []string{f.kz1, f.kz2, f.kz3, f.kz4}}))(t)
		rows := f.rotationRows(rot.ID)
		almaty := mustZone(t, "Asia/Almaty")
		if len(rows) != 7 {
			t.Fatalf("%d rows, want 7 (from 2024-01-16 08:00 local to the 4-day horizon)", len(rows))
		}
		team := []string{f.kz1, f.kz2, f.kz3, f.kz4}
		for i, r := range rows {
			l := r.Start.In(almaty)
			wantHour := 8
			if i%2 == 1 {
				wantHour = 20
			}
			if l.Hour() != wantHour || r.End.Sub(r.Start) != 12*time.Hour || r.PersonID != team[i%4] {
				t.Fatalf("row %d: %v local, %v, %s", i, l, r.End.Sub(r.Start), f.name(r.PersonID))
			}
		}
	})
}

func TestEditRotationRegeneratesOnlyFromNextHandover(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		f.clk.Set(time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC))
		in := RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-10", Team: []string{f.kz1, f.kz2, f.kz3}}
		rot := must(f.s.CreateRotation(f.kzHead(), in))(t)
		before := f.rotationRows(rot.ID)
		// Five days later, mid-shift (t0 = 12:00Z = 17:00 local; shift since 03:00Z).
		f.clk.Set(t0)
		in.Team = []string{f.kz1, f.kz2, f.kz4} // kz3 leaves, kz4 joins
		must(f.s.UpdateRotation(f.kzHead(), rot.ID, in))(t)
		after := f.rotationRows(rot.ID)
		next := time.Date(2024, 1, 16, 3, 0, 0, 0, time.UTC) // the next hand-over
		byStart := map[time.Time]Shift{}
		for _, r := range after {
			byStart[r.Start] = r
		}
		for _, b := range before {
			a, ok := byStart[b.Start]
			switch {
			case b.Start.Before(next):
				// Past rows and the shift in progress: untouched.
				if !ok || a.ID != b.ID || a.PersonID != b.PersonID || !a.End.Equal(b.End) {
					t.Fatalf("row starting %v was rewritten", b.Start)
				}
			case b.PersonID == f.kz3:
				if ok && a.PersonID == f.kz3 {
					t.Fatalf("kz3 still on duty at %v after leaving the rotation", b.Start)
				}
				if !ok || a.PersonID != f.kz4 {
					t.Fatalf("row starting %v should be kz4's", b.Start)
				}
			default:
				// Rows the new rule also asks for keep their id.
				if !ok || a.ID != b.ID {
					t.Fatalf("unchanged row starting %v got a new id", b.Start)
				}
			}
		}
		// The shift in progress is kz3's (shift 5 since 2024-01-10) and stays so.
		if got := f.names(f.onDutyAt(f.kzPost, t0)); got != "kz3/primary" {
			t.Fatalf("on duty now: %s", got)
		}

		// Moving the hand-over to 08:00 keeps today's shift (to 09:00) and
		// makes one transitional 23-hour shift to tomorrow's 08:00.
		in.Handovers = []string{"08:00"}
		must(f.s.UpdateRotation(f.kzHead(), rot.ID, in))(t)
		after2 := f.rotationRows(rot.ID)
		var trans *Shift
		for i := range after2 {
			if after2[i].Start.Equal(next) {
				trans = &after2[i]
			}
			if i > 0 && !after2[i-1].End.Equal(after2[i].Start) {
				t.Fatalf("gap or overlap between %v and %v", after2[i-1].End, after2[i].Start)
			}
		}
		if trans == nil || trans.End.Sub(trans.Start) != 23*time.Hour {
			t.Fatalf("transitional shift: %+v", trans)
		}
		if f.auditCount("duty.rotation.update") != 2 {
			t.Fatal("each edit is one audit entry")
		}
	})
}

func TestArchivedRotationStopsAtNextHandoverAndFreesTheSlot(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		in := RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-10", Team: []string{f.kz1, f.kz2}}
		rot := must(f.s.CreateRotation(f.kzHead(), in))(t)
		_, err := f.s.CreateRotation(f.kzHead(), in)
		wantKind(t, err, apperr.KindConflict, "second live rotation for one slot")
		if err := f.s.ArchiveRotation(f.kzHead(), rot.ID); err != nil {
			t.Fatal(err)
		}
		rows := f.rotationRows(rot.ID)
		if len(rows) != 1 || !rows[0].End.Equal(time.Date(2024, 1, 16, 3, 0, 0, 0, time.UTC)) {
			t.Fatalf("after archiving, rows: %+v", rows)
		}
		_, err = f.s.UpdateRotation(f.kzHead(), rot.ID, in)
		wantKind(t, err, apperr.KindConflict, "edit an archived rotation")
		// A new rotation for the slot starts where the old one's last shift ends.
		in.Team = []string{f.kz4}
		in.Handovers = []string{"08:00"}
		rot2 := must(f.s.CreateRotation(f.kzHead(), in))(t)
		rows2 := f.rotationRows(rot2.ID)
		if !rows2[0].Start.Equal(rows[0].End) {
			t.Fatalf("new rotation starts %v, old one ends %v", rows2[0].Start, rows[0].End)
		}
		if got := len(must(f.s.Rotations(f.kzHead(), f.kzPost))(t)); got != 2 {
			t.Fatalf("rotations listed: %d", got)
		}
	})
}

func TestRotationInputIsValidated(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		ok := RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-10", Team: []string{f.kz1}}
		for _, tc := range []struct {
			name        string
			mod         func(*RotationInput)
			field, code string
		}{
			{"bad zone", func(r *RotationInput) { r.TZ = "Mars/Olympus" }, "tz", "unknown_zone"},
			{"no hand-over", func(r *RotationInput) { r.Handovers = nil }, "handovers", "required"},
			{"bad wall time", func(r *RotationInput) { r.Handovers = []string{"24:00"} }, "handovers[0]", "invalid_time"},
			{"descending", func(r *RotationInput) { r.Handovers = []string{"20:00", "08:00"} }, "handovers", "not_ascending"},
			{"bad date", func(r *RotationInput) { r.StartDate = "2024-02-30" }, "start_date", "invalid_date"},
			{"empty team", func(r *RotationInput) { r.Team = nil }, "team", "required"},
			{"bad slot", func(r *RotationInput) { r.Slot = "third" }, "slot", "invalid_slot"},
			{"foreign officer", func(r *RotationInput) { r.Team = []string{f.kz1, f.by1} }, "team[1]", "person_not_in_post_state"},
			{"unknown person", func(r *RotationInput) { r.Team = []string{"nobody"} }, "team[0]", "unknown_person"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := ok
				tc.mod(&in)
				_, err := f.s.CreateRotation(f.kzHead(), in)
				wantField(t, err, tc.field, tc.code)
			})
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM duty_rotations`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("refused input left %d rotations (%v)", n, err)
		}
	})
}
