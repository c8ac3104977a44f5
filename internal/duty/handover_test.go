package duty

import (
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

func TestHandoverNotesPassFromOutgoingToIncomingOfficer(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		f := newFx(t, d)
		at := func(day, hour int) time.Time { return time.Date(2024, 1, day, hour, 0, 0, 0, time.UTC) }
		f.clk.Set(at(10, 0))
		// 24-hour shifts from 09:00 local (03:00Z): kz1 on the 10th, 12th, 14th, 16th; kz2 on the 11th, 13th, 15th.
		must(f.s.CreateRotation(f.kzHead(), RotationInput{PostID: f.kzPost, Slot: Primary, Handovers: []string{"09:00"}, StartDate: "2024-01-10", Team: []string{f.kz1, f.kz2}}))(t)
		kz1 := f.as(f.kz1, postGrant(auth.PostOfficer, f.kzPost, f.kz))
		kz2 := f.as(f.kz2, postGrant(auth.PostOfficer, f.kzPost, f.kz))
		kz3 := f.as(f.kz3, stateGrant(auth.PostOfficer, f.kz))

		f.clk.Set(at(13, 20)) // kz2 on duty
		old := must(f.s.WriteHandoverNote(kz2, f.kzPost, "kz2's own note from the shift before"))(t)
		f.clk.Set(at(14, 20)) // kz1 on duty
		a := must(f.s.WriteHandoverNote(kz1, f.kzPost, "Радиосвязь с резервным пунктом — проверить в 10:00.\r\nLine two"))(t)
		if a.Slot != Primary || a.AuthorPersonID != f.kz1 || a.Body != "Радиосвязь с резервным пунктом — проверить в 10:00.\nLine two" {
			t.Fatalf("note: %+v", a)
		}
		_, err := f.s.WriteHandoverNote(kz3, f.kzPost, "not on duty")
		wantKind(t, err, apperr.KindForbidden, "an officer not on duty")
		_, err = f.s.WriteHandoverNote(kz2, f.kzPost, "off duty now")
		wantKind(t, err, apperr.KindForbidden, "yesterday's officer")
		_, err = f.s.WriteHandoverNote(f.as(f.by1, stateGrant(auth.PostOfficer, f.by)), f.kzPost, "x")
		wantKind(t, err, apperr.KindNotFound, "another state's officer")
		_, err = f.s.WriteHandoverNote(kz1, f.kzPost, "   ")
		wantField(t, err, "body", "required")
		f.clk.Set(at(15, 2)) // kz1, an hour before hand-over
		b := must(f.s.WriteHandoverNote(kz1, f.kzPost, "All quiet."))(t)
		head := must(f.s.WriteHandoverNote(f.kzHead(), f.kzPost, "Inspection on Friday."))(t)
		if head.Slot != "" {
			t.Fatalf("the head is not on duty: slot %q", head.Slot)
		}

		// kz2 comes on duty at 03:00Z on the 15th: notes since their previous shift ended (14th 03:00Z).
		f.clk.Set(at(15, 4))
		notes, since := must2(f.s.HandoverNotesForMe(kz2, f.kzPost))(t)
		if !since.Equal(at(14, 3)) {
			t.Fatalf("since %v, want the end of kz2's previous shift", since)
		}
		if ids(notes) != ids([]HandoverNote{a, b, head}) {
			t.Fatalf("kz2 sees %v, want a, b, head (not %s)", ids(notes), old.ID)
		}
		for _, n := range notes {
			if n.ReadAt != nil {
				t.Fatal("nothing read yet")
			}
		}
		if err := f.s.MarkHandoverRead(kz2, b.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.s.MarkHandoverRead(kz2, b.ID); err != nil {
			t.Fatal(err)
		}
		if n := f.auditCount("duty.handover.read"); n != 1 {
			t.Fatalf("marking twice wrote %d audit entries", n)
		}
		notes, _ = must2(f.s.HandoverNotesForMe(kz2, f.kzPost))(t)
		if notes[1].ID != b.ID || notes[1].ReadAt == nil || notes[0].ReadAt != nil {
			t.Fatalf("read marks: %+v", notes)
		}
		// Read marks are per person.
		mine := must(f.s.HandoverNotes(kz1, f.kzPost, at(14, 0)))(t)
		for _, n := range mine {
			if n.ReadAt != nil {
				t.Fatal("kz2's read mark shows for kz1")
			}
		}
		wantKind(t, f.s.MarkHandoverRead(f.as(f.by1, stateGrant(auth.Viewer, f.by)), b.ID), apperr.KindNotFound, "mark a note of an invisible post")

		// Next day kz1 returns: only what was written since their last shift ended (15th 03:00Z).
		f.clk.Set(at(15, 20))
		c := must(f.s.WriteHandoverNote(kz2, f.kzPost, "Handing over to kz1."))(t)
		f.clk.Set(at(16, 5))
		notes, since = must2(f.s.HandoverNotesForMe(kz1, f.kzPost))(t)
		if !since.Equal(at(15, 3)) || ids(notes) != ids([]HandoverNote{c}) {
			t.Fatalf("kz1 on the 16th: since %v, notes %v", since, ids(notes))
		}
		if n := f.auditCount("duty.handover.write"); n != 5 {
			t.Fatalf("%d audit entries for 5 notes", n)
		}
	})
}

func ids(ns []HandoverNote) string {
	s := ""
	for _, n := range ns {
		s += n.ID + " "
	}
	return s
}

func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}
