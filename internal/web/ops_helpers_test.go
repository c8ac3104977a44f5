package web_test

import (
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apptest"
	"sitroom/internal/duty"
	"sitroom/internal/readiness"
)

// onDuty makes sure the person with this code is on duty at the post now:
// if the rosters do not already say so, a manual primary shift from now for
// 12 hours (the demo's rotations may not cover that post at the test
// clock's instant).
func onDuty(t testing.TB, s *apptest.Server, personCode, postCode string) {
	t.Helper()
	sys := s.System()
	p, err := s.App.Directory.GetPerson(sys, personCode)
	if err != nil {
		t.Fatal(err)
	}
	post, err := s.App.Directory.GetPost(sys, postCode)
	if err != nil {
		t.Fatal(err)
	}
	now := s.Clock.Now()
	if ok, err := s.App.Duty.IsOnDuty(sys, s.App.DB, p.ID, post.ID, now); err != nil {
		t.Fatal(err)
	} else if ok {
		return
	}
	for _, slot := range []duty.Slot{duty.Primary, duty.Deputy} {
		_, err = s.App.Duty.CreateShift(sys, duty.ShiftInput{PostID: post.ID, PersonID: p.ID, Slot: slot, Start: now, End: now.Add(12 * time.Hour)})
		if err == nil {
			return
		}
	}
	t.Fatalf("put %s on duty at %s: %v", personCode, postCode, err)
}

// opsFixture is what the operational pages show in the page tests: an open
// alert, a fired readiness check (with its report), a scheduled one, a
// recurring one, and a rotation.
type opsFixture struct {
	Alert, Exercise, Check, Scheduled, Series, Rotation string
}

func newOpsFixture(t *testing.T, s *apptest.Server) opsFixture {
	t.Helper()
	onDuty(t, s, "p-kenzhebayev", "KZ-MOD-CP")
	officer := s.As(t, apptest.Officer)
	var f opsFixture
	al, err := s.App.Alerts.Send(officer, alert.NewAlert{Title: "Flood warning, Almaty region", Body: "River levels rising.\nReport your status.",
		Priority: alert.Urgent, AckWithinSeconds: 600, Targets: alert.Targets{States: []string{"KZ"}}})
	if err != nil {
		t.Fatal(err)
	}
	f.Alert = al.ID
	ex, err := s.App.Alerts.Send(officer, alert.NewAlert{Title: "Communication drill", Priority: alert.Routine, AckWithinSeconds: 300,
		Exercise: true, Targets: alert.Targets{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	f.Exercise = ex.ID
	c, err := s.App.Readiness.Create(officer, readiness.NewCheck{Title: "Monthly readiness check", Priority: alert.Urgent,
		AckWithinSeconds: 300, Targets: alert.Targets{States: []string{"KZ", "BY"}}, Kind: readiness.KindNow})
	if err != nil {
		t.Fatal(err)
	}
	f.Check = c.ID
	at := s.Clock.Now().Add(48 * time.Hour)
	sc, err := s.App.Readiness.Create(officer, readiness.NewCheck{Title: "Planned check", AckWithinSeconds: 300,
		Targets: alert.Targets{All: true}, Kind: readiness.KindAt, At: &at})
	if err != nil {
		t.Fatal(err)
	}
	f.Scheduled = sc.ID
	rc, err := s.App.Readiness.Create(officer, readiness.NewCheck{Title: "Weekly check", AckWithinSeconds: 300,
		Targets: alert.Targets{All: true}, Kind: readiness.KindRecurring,
		Recurrence: &readiness.Recurrence{Weekdays: []time.Weekday{time.Wednesday}, WindowStart: "10:00", WindowEnd: "16:00"}})
	if err != nil {
		t.Fatal(err)
	}
	if rc.SeriesID != nil {
		f.Series = *rc.SeriesID
	}
	sys := s.System()
	post, err := s.App.Directory.GetPost(sys, "KZ-MOD-CP")
	if err != nil {
		t.Fatal(err)
	}
	var team []string
	for _, code := range []string{"p-seitkali", "p-nurpeisova"} {
		p, err := s.App.Directory.GetPerson(sys, code)
		if err != nil {
			t.Fatal(err)
		}
		team = append(team, p.ID)
	}
	rot, err := s.App.Duty.CreateRotation(sys, duty.RotationInput{PostID: post.ID, Name: "Day and night", Slot: duty.Deputy,
		Handovers: []string{"08:00", "20:00"}, StartDate: s.Clock.Now().AddDate(0, 0, 1).Format("2006-01-02"), Team: team})
	if err != nil {
		// The demo's rosters may already rotate that slot: use theirs.
		rots, lerr := s.App.Duty.Rotations(sys, post.ID)
		if lerr != nil || len(rots) == 0 {
			t.Fatal(err)
		}
		rot = rots[0]
	}
	f.Rotation = rot.ID
	return f
}
