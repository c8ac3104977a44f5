package demo

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/auth"
	"sitroom/internal/directory"
	"sitroom/internal/readiness"
)

// The demo's readiness checks.
const (
	// WeeklyCheckTitle names the recurring surprise check the demo
	// schedules; a series with this title means it is already there.
	WeeklyCheckTitle = "Weekly readiness check of the duty shifts"
	// StartupCheckTitle names the check sent when the demo organisation is
	// first written, so the board comes alive and the readiness reports
	// have a check to show within minutes.
	StartupCheckTitle = "Demo start-up readiness check"

	weeklyAckWithin  = 15 * 60
	startupAckWithin = 5 * 60
)

// ReadinessReport tells what SeedReadiness did.
type ReadinessReport struct {
	Series  *readiness.Series // the weekly series, when this run created it
	Startup *readiness.Check  // the start-up check, when this run sent it
}

// SeedReadiness schedules the demo's weekly surprise readiness check
// (Fridays, at a minute drawn between 10:00 and 16:00 organisation time,
// addressed to every post) unless a series of that title exists. When
// fresh (the organisation was written by this start), it also sends one
// check at once: the simulated officers answer it, so the first minutes of
// a demo show a check being answered and then its report. Call it after
// SeedRosters: a post with nobody on duty escalates at once. A store that
// does not hold the demo organisation (InStore) gets nothing.
func SeedReadiness(ctx context.Context, dir *directory.Store, rd *readiness.Store, fresh bool) (*ReadinessReport, error) {
	ctx = auth.With(ctx, auth.System("demo"))
	f, err := directory.ParseFile(bytes.NewReader(OrgYAML()), "demo/org.yaml")
	if err != nil {
		return nil, fmt.Errorf("the embedded demo file is broken: %w", err)
	}
	out := &ReadinessReport{}
	if ok, err := InStore(ctx, dir); err != nil || !ok {
		return out, err
	}
	all, err := rd.ListSeries(ctx, false)
	if err != nil {
		return nil, err
	}
	exists := false
	for _, s := range all {
		exists = exists || s.Title == WeeklyCheckTitle
	}
	if !exists {
		c, err := rd.Create(ctx, readiness.NewCheck{
			Title: WeeklyCheckTitle,
			Body: "EXERCISE. This is the weekly readiness check of the duty shifts. Acknowledge this message as soon as you see it; " +
				"your time to acknowledge is recorded.",
			Priority: alert.Routine, AckWithinSeconds: weeklyAckWithin, Targets: alert.Targets{All: true},
			Kind: readiness.KindRecurring,
			Recurrence: &readiness.Recurrence{Weekdays: []time.Weekday{time.Friday}, WindowStart: "10:00", WindowEnd: "16:00",
				TZ: f.Organisation.TZ},
		})
		if err != nil {
			return out, fmt.Errorf("schedule the weekly demo check: %w", err)
		}
		if c.SeriesID != nil {
			if out.Series, err = rd.GetSeries(ctx, *c.SeriesID); err != nil {
				return out, err
			}
		}
	}
	if fresh {
		c, err := rd.Create(ctx, readiness.NewCheck{
			Title:    StartupCheckTitle,
			Body:     "EXERCISE. The demo has just started: acknowledge this check. The simulated duty officers of the other posts are answering it too.",
			Priority: alert.Routine, AckWithinSeconds: startupAckWithin, Targets: alert.Targets{All: true},
			Kind: readiness.KindNow,
		})
		if err != nil {
			return out, fmt.Errorf("send the demo start-up check: %w", err)
		}
		out.Startup = c
	}
	return out, nil
}
