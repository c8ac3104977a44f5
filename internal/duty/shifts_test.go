package duty

import (
	"context"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestRosterVisibilityAndEditRightsByRole(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
		const ok, notFound, forbidden, unauth = 0, apperr.KindNotFound, apperr.KindForbidden, apperr.KindUnauthorized
		i := 0
		for _, tc := range []struct {
			name       string
			ctx        context.Context
			post       string
			view, edit apperr.Kind
		}{
			{"nobody signed in", context.Background(), f.kzPost, unauth, unauth},
			{"administrator", f.admin(), f.kzPost, ok, ok},
			{"centre supervisor", f.supervisor(), f.kzPost, ok, ok},
			{"centre officer sees, may not edit", f.as(f.org1, global(auth.CentreOfficer)), f.kzPost, ok, forbidden},
			{"head of the post", f.kzHead(), f.kzPost, ok, ok},
			{"head of another post of the state", f.as(f.kz4, postGrant(auth.PostHead, "other-post", f.kz)), f.kzPost, ok, forbidden},
			{"head of the post at another state's post", f.kzHead(), f.byPost, notFound, notFound},
			{"post officer of the state", f.as(f.kz1, stateGrant(auth.PostOfficer, f.kz)), f.kzPost, ok, forbidden},
			{"post officer of another state", f.as(f.by1, stateGrant(auth.PostOfficer, f.by)), f.kzPost, notFound, notFound},
			{"viewer sees the organisation's post", f.as(f.by1, stateGrant(auth.Viewer, f.by)), f.centre, ok, forbidden},
			{"head of a state's post may not edit the centre", f.kzHead(), f.centre, ok, forbidden},
		} {
			i++
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.Roster(tc.ctx, tc.post, t0, t0.Add(24*time.Hour))
				if tc.view == ok && err != nil || tc.view != ok && !apperr.Is(err, tc.view) {
					t.Fatalf("view: %s", errString(err))
				}
				person := f.kz1
				if tc.post == f.byPost {
					person = f.by1
				} else if tc.post == f.centre {
					person = f.org2
				}
				_, err = f.s.CreateShift(tc.ctx, ShiftInput{PostID: tc.post, PersonID: person, Slot: Primary, Start: h(2 * i), End: h(2*i + 1)})
				if tc.edit == ok && err != nil || tc.edit != ok && !apperr.Is(err, tc.edit) {
					t.Fatalf("edit: %s", errString(err))
				}
				_, err = f.s.EscalationPath(tc.ctx, tc.post)
				if tc.view == ok && err != nil || tc.view != ok && !apperr.Is(err, tc.view) {
					t.Fatalf("escalation path: %s", errString(err))
				}
				_, err = f.s.SetEscalationPath(tc.ctx, tc.post, nil)
				if tc.edit == ok && err != nil || tc.edit != ok && !apperr.Is(err, tc.edit) {
					t.Fatalf("set escalation path: %s", errString(err))
				}
			})
		}
		// Refused attempts changed nothing and wrote no audit entry.
		if n := len(f.rows(f.kzPost)); n != 3 {
			t.Fatalf("%d shifts at KZ-MES, want 3 (administrator, supervisor, head)", n)
		}
		if n := f.auditCount("duty.shift.create"); n != 3 {
			t.Fatalf("%d audit entries, want 3", n)
		}
	})
}

func TestRosterTakesPeopleOfThePostsStateOrTheOrganisation(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
		gone := f.person("gone", f.kz, false)
		f.exec(`UPDATE people SET active_to = ? WHERE id = ?`, t0.Add(-time.Hour), gone)
		for _, tc := range []struct {
			name, post, person string
			code               string
		}{
			{"own state", f.kzPost, f.kz1, ""},
			{"organisation staff at a state's post", f.kzPost, f.org1, ""},
			{"another state's officer", f.kzPost, f.by1, "person_not_in_post_state"},
			{"a state's officer at the centre", f.centre, f.kz1, "person_not_in_post_state"},
			{"organisation staff at the centre", f.centre, f.org2, ""},
			{"archived person", f.kzPost, gone, "person_archived"},
			{"unknown person", f.kzPost, "no-such-id", "unknown_person"},
			{"no person", f.kzPost, "", "required"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.s.CreateShift(f.admin(), ShiftInput{PostID: tc.post, PersonID: tc.person, Slot: Deputy, Start: h(10), End: h(11)})
				if tc.code == "" {
					if err != nil {
						t.Fatal(err)
					}
					_ = f.s.DeleteShift(f.admin(), f.rows(tc.post)[0].ID)
					return
				}
				wantField(t, err, "person_id", tc.code)
			})
		}
	})
}

func TestStartedShiftsAreNeverRewritten(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
		_, err := f.s.CreateShift(f.admin(), ShiftInput{PostID: f.kzPost, PersonID: f.kz1, Slot: Primary, Start: h(-2), End: h(1)})
		wantField(t, err, "start", "in_past")
		// A start a moment ago (a form sent at "now") is taken as now.
		sk := must(f.s.CreateShift(f.admin(), ShiftInput{PostID: f.kzPost, PersonID: f.kz1, Slot: Deputy, Start: t0.Add(-time.Minute), End: h(1)}))(t)
		if !sk.Start.Equal(t0) {
			t.Fatalf("start a minute ago stored as %v, want now", sk.Start)
		}
		a := f.manual(f.kzPost, f.kz1, Primary, h(1), h(13))
		b := f.manual(f.kzPost, f.kz2, Primary, h(13), h(25))
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Deputy, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz3}}))(t)
		rotRow := f.rotationRows(rot.ID)[0]

		// Before it starts, a manual shift may change.
		a = must(f.s.UpdateShift(f.admin(), a.ID, ShiftInput{PersonID: f.kz4, Slot: Primary, Start: h(1), End: h(12)}))(t)
		_, err = f.s.UpdateShift(f.admin(), a.ID, ShiftInput{PersonID: f.kz4, Slot: Primary, Start: h(1), End: h(14)})
		wantKind(t, err, apperr.KindConflict, "manual shifts of one slot may not overlap")
		_, err = f.s.UpdateShift(f.admin(), rotRow.ID, ShiftInput{PersonID: f.kz4, Slot: Deputy, Start: rotRow.Start, End: rotRow.End})
		wantKind(t, err, apperr.KindConflict, "a rotation row is not edited directly")
		wantKind(t, f.s.DeleteShift(f.admin(), rotRow.ID), apperr.KindConflict, "a rotation row is not deleted directly")

		f.clk.Set(h(2)) // a has started
		snapshot := f.rows(f.kzPost)
		_, err = f.s.UpdateShift(f.admin(), a.ID, ShiftInput{PersonID: f.kz4, Slot: Primary, Start: h(3), End: h(12)})
		wantKind(t, err, apperr.KindConflict, "edit a started shift")
		wantKind(t, f.s.DeleteShift(f.admin(), a.ID), apperr.KindConflict, "delete a started shift")
		// Only a cover ends it early: kz1 takes the rest from now on.
		c := must(f.s.Cover(f.admin(), CoverInput{ShiftID: a.ID, PersonID: f.kz1}))(t)
		if !c.Start.Equal(h(2)) || !c.End.Equal(h(12)) || c.Kind != Cover || c.RefShiftID != a.ID {
			t.Fatalf("cover of the rest of a shift in progress: %+v", c)
		}
		if got := f.names(f.onDutyAt(f.kzPost, h(3))); got != "kz1/primary" {
			t.Fatalf("after the cover, on duty: %s", got)
		}
		f.clk.Set(h(4)) // the cover has started too
		wantKind(t, f.s.DeleteShift(f.admin(), c.ID), apperr.KindConflict, "cancel a started cover")
		_, err = f.s.Cover(f.admin(), CoverInput{ShiftID: a.ID, PersonID: f.kz2, Start: h(3), End: h(5)})
		wantField(t, err, "start", "in_past")
		f.clk.Set(h(30)) // all over
		_, err = f.s.Cover(f.admin(), CoverInput{ShiftID: b.ID, PersonID: f.kz1})
		wantKind(t, err, apperr.KindConflict, "cover an ended shift")
		// Every row that existed is still there as it was; only the cover was added.
		after := f.rows(f.kzPost)
		if len(after) != len(snapshot)+1 {
			t.Fatalf("%d rows, want %d", len(after), len(snapshot)+1)
		}
		byID := map[string]Shift{}
		for _, r := range after {
			byID[r.ID] = r
		}
		for _, r := range snapshot {
			x := byID[r.ID]
			if x.PersonID != r.PersonID || !x.Start.Equal(r.Start) || !x.End.Equal(r.End) || x.Slot != r.Slot {
				t.Fatalf("row %s was rewritten: %+v → %+v", r.ID, r, x)
			}
		}
	})
}

func TestOverridesTakePrecedenceWhenReadNotByRewritingRows(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		// KZ-MES: kz1 primary and kz2 deputy on 24-hour shifts from tomorrow 09:00 local (03:00Z).
		p := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz1}}))(t)
		must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Deputy, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz2}}))(t)
		day := f.rotationRows(p.ID)[0] // 01-16 03:00Z – 01-17 03:00Z
		at := func(h int) time.Time { return day.Start.Add(time.Duration(h) * time.Hour) }
		before := f.rows(f.kzPost)

		// kz3 covers 6 hours in the middle of kz1's shift; kz4 has a manual primary shift overlapping its end.
		cov := must(f.s.Cover(f.kzHead(), CoverInput{ShiftID: day.ID, PersonID: f.kz3, Start: at(4), End: at(10)}))(t)
		man := f.manual(f.kzPost, f.kz4, Primary, at(20), at(26))
		// And a later cover of the cover: kzhead takes an hour of kz3's.
		cov2 := must(f.s.Cover(f.kzHead(), CoverInput{ShiftID: cov.ID, PersonID: f.kzHeadPerson, Start: at(5), End: at(6)}))(t)
		_ = cov2
		for _, tc := range []struct {
			h    int
			want string
		}{
			{0, "kz1/primary,kz2/deputy"},
			{4, "kz3/primary,kz2/deputy"},
			{5, "kzhead/primary,kz2/deputy"},
			{6, "kz3/primary,kz2/deputy"},
			{10, "kz1/primary,kz2/deputy"},
			{20, "kz4/primary,kz2/deputy"}, // manual beats rotation
			{25, "kz4/primary,kz2/deputy"},
			{26, "kz1/primary,kz2/deputy"}, // next day's rotation row again
		} {
			if got := f.names(f.onDutyAt(f.kzPost, at(tc.h))); got != tc.want {
				t.Errorf("at +%dh: %s, want %s", tc.h, got, tc.want)
			}
		}
		// Start and End are those of the stretch each person really holds.
		m := must(f.s.OnDutySystem(context.Background(), d, []string{f.kzPost}, at(2)))(t)
		if e := m[f.kzPost][0]; !e.Start.Equal(at(0)) || !e.End.Equal(at(4)) {
			t.Errorf("kz1 holds %s–%s, want +0h–+4h", fmtT(e.Start), fmtT(e.End))
		}
		m = must(f.s.OnDutySystem(context.Background(), d, []string{f.kzPost}, at(7)))(t)
		if e := m[f.kzPost][0]; e.PersonID != f.kz3 || !e.Start.Equal(at(6)) || !e.End.Equal(at(10)) {
			t.Errorf("kz3 holds %s–%s, want +6h–+10h", fmtT(e.Start), fmtT(e.End))
		}
		// The rows beaten were not touched: the old rows are all there, unchanged, plus three.
		after := f.rows(f.kzPost)
		if len(after) != len(before)+3 {
			t.Fatalf("%d rows, want %d", len(after), len(before)+3)
		}
		for _, r := range after {
			if r.ID == day.ID && (!r.Start.Equal(day.Start) || !r.End.Equal(day.End) || r.PersonID != f.kz1) {
				t.Fatal("the covered rotation row was rewritten")
			}
		}
		// The roster shows both: the rows, and who holds the slot when.
		ro := must(f.s.Roster(f.kzHead(), f.kzPost, at(0), at(24)))(t)
		var prim []string
		for _, sg := range ro.Effective {
			if sg.Slot == Primary {
				prim = append(prim, f.name(sg.PersonID)+"@"+fmtT(sg.Start))
			}
		}
		want := []string{"kz1@01-16 03:00", "kz3@01-16 07:00", "kzhead@01-16 08:00", "kz3@01-16 09:00", "kz1@01-16 13:00", "kz4@01-16 23:00"}
		if len(prim) != len(want) {
			t.Fatalf("effective primary: %v, want %v", prim, want)
		}
		for i := range want {
			if prim[i] != want[i] {
				t.Fatalf("effective primary: %v, want %v", prim, want)
			}
		}
		if !ro.Editable {
			t.Fatal("the head may edit this roster")
		}
		// Cancelling the manual shift (not started) restores the rotation.
		if err := f.s.DeleteShift(f.kzHead(), man.ID); err != nil {
			t.Fatal(err)
		}
		if got := f.names(f.onDutyAt(f.kzPost, at(21))); got != "kz1/primary,kz2/deputy" {
			t.Fatalf("after cancelling: %s", got)
		}
		if f.auditCount("duty.override.cover") != 2 || f.auditCount("duty.shift.delete") != 1 {
			t.Fatal("one audit entry per action")
		}
	})
}

func TestSwapExchangesTwoShifts(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		rot := must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-16", Team: []string{f.kz1, f.kz2}}))(t)
		rows := f.rotationRows(rot.ID)
		s1, s2 := rows[0], rows[1] // kz1 tomorrow, kz2 the day after
		pair := must(f.s.Swap(f.kzHead(), s1.ID, s2.ID, "family matters"))(t)
		if len(pair) != 2 || pair[0].GroupID == "" || pair[0].GroupID != pair[1].GroupID {
			t.Fatalf("swap rows: %+v", pair)
		}
		mid := func(s Shift) time.Time { return s.Start.Add(time.Hour) }
		if got := f.names(f.onDutyAt(f.kzPost, mid(s1))); got != "kz2/primary" {
			t.Fatalf("first shift: %s", got)
		}
		if got := f.names(f.onDutyAt(f.kzPost, mid(s2))); got != "kz1/primary" {
			t.Fatalf("second shift: %s", got)
		}
		_, err := f.s.Swap(f.kzHead(), s1.ID, rows[2].ID, "")
		wantField(t, err, "shift_b", "same_person")
		// Cancelling one half cancels the swap.
		if err := f.s.DeleteShift(f.kzHead(), pair[1].ID); err != nil {
			t.Fatal(err)
		}
		if got := f.names(f.onDutyAt(f.kzPost, mid(s1))); got != "kz1/primary" {
			t.Fatalf("after cancelling, first shift: %s", got)
		}
		f.clk.Set(mid(s1))
		_, err = f.s.Swap(f.kzHead(), s1.ID, s2.ID, "")
		wantKind(t, err, apperr.KindConflict, "swap a started shift")
		if f.auditCount("duty.override.swap") != 1 {
			t.Fatal("a swap is one audit entry")
		}
	})
}
