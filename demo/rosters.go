package demo

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
)

// The demo's deliberate roster features, by post code.
const (
	// GapPost gets an interim hand-made roster with one uncovered night
	// next week, so the gaps report has something to show.
	GapPost = "KG-MES-CP"
	// PathPost gets an escalation path of its own (every other post keeps
	// the default), with a named centre supervisor at level 2.
	PathPost = "RU-MOD-CP"
)

// Hand-over times of the demo rotations, post-local.
const (
	postHandover  = "09:00"
	centreDay     = "08:00"
	centreNight   = "20:00"
	gapStartsAt   = 21 // the uncovered night at GapPost starts at 21:00 …
	gapDaysAhead  = 7  // … this many days after the seed's local date
	pathLevel2Sec = 120
	pathLevel3Sec = 300
)

// RosterReport tells what SeedRosters wrote.
type RosterReport struct {
	Posts     []string       // codes of the posts given a roster by this run
	Rotations int            // rotations created
	Shifts    int            // hand-made shifts created (the interim roster of GapPost)
	Gap       *duty.Interval // GapPost's uncovered night, when this run made it
	Path      string         // the post whose escalation path this run set, if any
}

// team is the roster plan of one post: who rotates through which slot.
type team struct {
	post      directory.Post // from org.yaml (codes, not ids)
	handovers []string
	primary   []string // person codes, in turn order
	deputy    []string
}

// SeedRosters gives every demo post its duty rosters: at each ministry
// post, 24-hour shifts handed over at 09:00 post-local time, the post's
// duty officers taking turns as primary with the next one as deputy; at
// the centre desk, day and night 12-hour shifts (08:00, 20:00) of the
// centre officers as primary and the centre supervisors as deputy. Every
// slot of every post is filled from now on, except one night next week at
// GapPost (an interim roster typed in by hand until its new rotation
// starts), and PathPost gets an escalation path of its own.
//
// A post that already has a rotation (live or archived) is left alone, so
// running it again — every `sitroom demo` start does — creates nothing
// twice and never undoes what a demo user changed; a store that does not
// hold the demo organisation (InStore) gets nothing.
func SeedRosters(ctx context.Context, c clock.Clock, dir *directory.Store, ds *duty.Store) (*RosterReport, error) {
	ctx = auth.With(ctx, auth.System("demo"))
	f, err := directory.ParseFile(bytes.NewReader(OrgYAML()), "demo/org.yaml")
	if err != nil {
		return nil, fmt.Errorf("the embedded demo file is broken: %w", err)
	}
	out := &RosterReport{}
	if ok, err := InStore(ctx, dir); err != nil || !ok {
		return out, err
	}
	for _, tm := range teams(f) {
		if err := seedPost(ctx, c, dir, ds, f, tm, out); err != nil {
			return out, fmt.Errorf("demo roster of %s: %w", tm.post.Code, err)
		}
	}
	return out, nil
}

// teams plans every post's rotations from the demo users' roles, taking
// people in org.yaml's order: a ministry post's team is its post-scoped
// duty officers; an officer scoped to a whole member state joins the team of
// that state's post with the fewest officers. The centre desk rotates its
// centre officers and centre supervisors.
func teams(f *directory.File) []team {
	posts := map[string]directory.Post{}
	for _, p := range f.Posts {
		posts[p.Code] = p
	}
	officers := map[string][]string{} // post code → person codes
	var stateWide []struct{ state, person string }
	var centreOfficers, supervisors []string
	for _, u := range f.Users {
		for _, r := range u.Roles {
			role, scope, _ := strings.Cut(r, ":")
			switch {
			case auth.Role(role) == auth.CentreOfficer && scope == "":
				centreOfficers = append(centreOfficers, u.Person)
			case auth.Role(role) == auth.CentreSupervisor && scope == "":
				supervisors = append(supervisors, u.Person)
			case auth.Role(role) == auth.PostOfficer:
				if _, isPost := posts[scope]; isPost {
					officers[scope] = append(officers[scope], u.Person)
				} else {
					stateWide = append(stateWide, struct{ state, person string }{scope, u.Person})
				}
			}
		}
	}
	for _, sw := range stateWide {
		best := ""
		for _, p := range f.Posts {
			if p.Kind != directory.PostMinistry || p.State != sw.state || slices.Contains(officers[p.Code], sw.person) {
				continue
			}
			if best == "" || len(officers[p.Code]) < len(officers[best]) || len(officers[p.Code]) == len(officers[best]) && p.Code < best {
				best = p.Code
			}
		}
		if best != "" {
			officers[best] = append(officers[best], sw.person)
		}
	}
	var out []team
	for _, p := range f.Posts {
		tm := team{post: p}
		switch p.Kind {
		case directory.PostCentre:
			tm.handovers = []string{centreDay, centreNight}
			tm.primary, tm.deputy = dayNight(centreOfficers), dayNight(supervisors)
		default:
			tm.handovers = []string{postHandover}
			tm.primary = officers[p.Code]
			if len(tm.primary) > 1 {
				tm.deputy = append(slices.Clone(tm.primary[1:]), tm.primary[0])
			}
		}
		if len(tm.primary) > 0 {
			out = append(out, tm)
		}
	}
	return out
}

// dayNight orders a team for two shifts a day so that everyone works days
// and nights in turn: with an even number of people, plain turn order
// would give each person always the same half of the day.
func dayNight(ps []string) []string {
	if len(ps)%2 == 1 || len(ps) == 0 {
		return ps
	}
	return append(slices.Clone(ps), append(slices.Clone(ps[1:]), ps[0])...)
}

func seedPost(ctx context.Context, c clock.Clock, dir *directory.Store, ds *duty.Store, f *directory.File, tm team, out *RosterReport) error {
	post, err := dir.GetPost(ctx, tm.post.Code)
	if apperr.Is(err, apperr.KindNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	now := clock.Norm(c.Now())
	if post.ActiveTo != nil && !post.ActiveTo.After(now) {
		return nil
	}
	rots, err := ds.Rotations(ctx, post.ID)
	if err != nil {
		return err
	}
	if len(rots) > 0 {
		return nil
	}
	ids, err := personIDs(ctx, dir, now, tm.primary, tm.deputy)
	if err != nil || ids == nil {
		return err
	}
	loc, err := time.LoadLocation(post.TZ)
	if err != nil {
		return err
	}
	local := now.In(loc)
	// Rotations that began on the first of last month: the shift in
	// progress is one of theirs whatever the hour of the seed.
	start := time.Date(local.Year(), local.Month()-1, 1, 12, 0, 0, 0, loc).Format(time.DateOnly)

	if post.Code == PathPost {
		if err := seedPath(ctx, dir, ds, f, post, out); err != nil {
			return err
		}
	}
	if post.Code == GapPost {
		gap, n, err := seedInterim(ctx, ds, post, loc, now, ids(tm.primary))
		if err != nil {
			return err
		}
		out.Shifts += n
		out.Gap = &gap
		start = gap.End.In(loc).Format(time.DateOnly)
	}
	kind := "24-hour shifts from " + tm.handovers[0]
	if len(tm.handovers) == 2 {
		kind = "day and night shifts, " + tm.handovers[0] + " and " + tm.handovers[1]
	}
	for _, r := range []struct {
		slot duty.Slot
		name string
		team []string
	}{
		{duty.Primary, "Duty officers: " + kind, ids(tm.primary)},
		{duty.Deputy, "Deputies: " + kind, ids(tm.deputy)},
	} {
		if len(r.team) == 0 {
			continue
		}
		if _, err := ds.CreateRotation(ctx, duty.RotationInput{
			PostID: post.ID, Name: r.name, Slot: r.slot, Handovers: tm.handovers, StartDate: start, Team: r.team,
		}); err != nil {
			return err
		}
		out.Rotations++
	}
	out.Posts = append(out.Posts, post.Code)
	return nil
}

// personIDs resolves person codes to ids; it returns nil (and no error)
// when one is missing or archived, so a changed directory gets no roster
// rather than a half one.
func personIDs(ctx context.Context, dir *directory.Store, now time.Time, lists ...[]string) (func([]string) []string, error) {
	m := map[string]string{}
	for _, l := range lists {
		for _, code := range l {
			if _, ok := m[code]; ok {
				continue
			}
			p, err := dir.GetPerson(ctx, code)
			if apperr.Is(err, apperr.KindNotFound) {
				return nil, nil
			} else if err != nil {
				return nil, err
			}
			if p.ActiveTo != nil && !p.ActiveTo.After(now) {
				return nil, nil
			}
			m[code] = p.ID
		}
	}
	return func(codes []string) []string {
		out := make([]string, len(codes))
		for i, c := range codes {
			out[i] = m[c]
		}
		return out
	}, nil
}

// seedInterim types in GapPost's roster by hand from now until the
// uncovered night next week (21:00 to 09:00 post-local), after which its
// rotations take over. Rotations cannot leave a hole, hand-made shifts
// can: that is how real gaps happen. Both slots are filled until the gap.
func seedInterim(ctx context.Context, ds *duty.Store, post *directory.Post, loc *time.Location, now time.Time, people []string) (duty.Interval, int, error) {
	local := now.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day()+gapDaysAhead, 0, 0, 0, 0, loc)
	gap := duty.Interval{
		Start: clock.Norm(time.Date(day.Year(), day.Month(), day.Day(), gapStartsAt, 0, 0, 0, loc)),
		End:   clock.Norm(time.Date(day.Year(), day.Month(), day.Day()+1, 9, 0, 0, 0, loc)),
	}
	// Boundaries: now, every 09:00 hand-over at least a minute ahead, the gap.
	bounds := []time.Time{now}
	for d := 0; ; d++ {
		h := time.Date(local.Year(), local.Month(), local.Day()+d, 9, 0, 0, 0, loc)
		if !h.Before(gap.Start) {
			break
		}
		if h.After(now.Add(time.Minute)) {
			bounds = append(bounds, clock.Norm(h))
		}
	}
	bounds = append(bounds, gap.Start)
	n := 0
	for i := 0; i+1 < len(bounds); i++ {
		for k, slot := range []duty.Slot{duty.Primary, duty.Deputy} {
			if k >= len(people) {
				break
			}
			who := people[(i+k)%len(people)]
			_, err := ds.CreateShift(ctx, duty.ShiftInput{PostID: post.ID, PersonID: who, Slot: slot, Start: bounds[i], End: bounds[i+1],
				Note: "Interim roster until the new rotation starts on " + gap.End.In(loc).Format(time.DateOnly)})
			if apperr.Is(err, apperr.KindConflict) {
				continue // typed in by an earlier, interrupted run
			}
			if err != nil {
				return gap, n, err
			}
			n++
		}
	}
	return gap, n, nil
}

// seedPath gives PathPost its own escalation path: the officers on duty at
// once, the head of post at the deadline, then a named centre supervisor
// (the first in org.yaml's users), then the centre's officers on
// duty.
func seedPath(ctx context.Context, dir *directory.Store, ds *duty.Store, f *directory.File, post *directory.Post, out *RosterReport) error {
	cur, err := ds.EscalationPath(ctx, post.ID)
	if err != nil || !cur.Default {
		return err
	}
	var person string
	for _, u := range f.Users {
		if slices.Contains(u.Roles, string(auth.CentreSupervisor)) {
			person = u.Person
			break
		}
	}
	if person == "" {
		return nil
	}
	p, err := dir.GetPerson(ctx, person)
	if apperr.Is(err, apperr.KindNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := ds.SetEscalationPath(ctx, post.ID, []duty.EscalationLevel{
		{Targets: []duty.EscalationTarget{{Target: duty.TargetPrimary}, {Target: duty.TargetDeputy}}},
		{Targets: []duty.EscalationTarget{{Target: duty.TargetHead}}},
		{Targets: []duty.EscalationTarget{{Target: duty.TargetPerson, PersonID: p.ID}}, DelaySeconds: pathLevel2Sec},
		{Targets: []duty.EscalationTarget{{Target: duty.TargetCentre}}, DelaySeconds: pathLevel3Sec},
	}); err != nil {
		return err
	}
	out.Path = post.Code
	return nil
}
