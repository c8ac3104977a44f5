package readiness

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Store is the readiness-check service.
type Store struct {
	db      *db.DB
	clock   clock.Clock
	audit   *audit.Log
	out     *events.Appender
	alerts  *alert.Store
	orgZone func(ctx context.Context) (string, error)
	wake    func() // wakes the scheduler after commits that change its timers
}

// New returns the readiness-check service.
func New(d *db.DB, c clock.Clock, a *audit.Log, out *events.Appender, alerts *alert.Store) *Store {
	return &Store{db: d, clock: c, audit: a, out: out, alerts: alerts, wake: func() {}}
}

// SetOrgZone tells the store how to learn the organisation's zone (the
// directory owns it): recurring checks without a zone use it, and monthly
// trends are cut at its midnights. Without it, a recurring check needs an
// explicit zone and trends use UTC.
func (s *Store) SetOrgZone(f func(ctx context.Context) (string, error)) { s.orgZone = f }

// setWake is set by NewScheduler.
func (s *Store) setWake(f func()) { s.wake = f }

func (s *Store) zoneOfOrg(ctx context.Context) string {
	if s.orgZone == nil {
		return ""
	}
	z, err := s.orgZone(ctx)
	if err != nil {
		return ""
	}
	return z
}

// The system actor that fires scheduled checks.
const systemName = "readiness"

func centre(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to manage readiness checks")
	}
	if !a.IsCentre() && a.Kind != auth.KindSystem {
		return nil, apperr.Forbidden("", "only the centre's duty officers manage readiness checks")
	}
	return a, nil
}

// seesUnfired: centre roles (and the system) see checks before they fire.
func seesUnfired(a *auth.Actor) bool { return a != nil && (a.IsCentre() || a.Kind == auth.KindSystem) }

func validateContent(title, body *string, pr *alert.Priority, ackWithin int, t alert.Targets, f *apperr.Fields) {
	*title = strings.TrimSpace(*title)
	switch {
	case *title == "":
		f.Add("title", "required", "a title is required")
	case utf8.RuneCountInString(*title) > alert.MaxTitle:
		f.Add("title", "too_long", "at most %d characters", alert.MaxTitle)
	}
	if utf8.RuneCountInString(*body) > alert.MaxBody {
		f.Add("body", "too_long", "at most %d characters", alert.MaxBody)
	}
	switch *pr {
	case alert.Routine, alert.Urgent, alert.Flash:
	case "":
		*pr = alert.Routine
	default:
		f.Add("priority", "invalid_priority", "routine, urgent or flash")
	}
	if ackWithin < alert.MinAckWithin || ackWithin > alert.MaxAckWithin {
		f.Add("ack_within_seconds", "out_of_range", "from %d seconds to 7 days", alert.MinAckWithin)
	}
	if !t.All && len(t.States) == 0 && len(t.MinistryKinds) == 0 && len(t.Posts) == 0 {
		f.Add("targets", "required", `address the check: {"all": true} or states, ministry_kinds, posts`)
	}
	if t.All && (len(t.States) > 0 || len(t.MinistryKinds) > 0 || len(t.Posts) > 0) {
		f.Add("targets", "conflicting_targets", `"all" cannot be combined with other targets`)
	}
}

// checkTargets resolves the targets now, as the alert will at firing time,
// so that a check that would reach nobody is refused when it is created
// rather than failing unseen later.
func (s *Store) checkTargets(ctx context.Context, t alert.Targets) error {
	p, err := s.alerts.Preview(ctx, t)
	if err != nil {
		return err
	}
	if len(p.Unknown) > 0 {
		return apperr.Invalid(apperr.FieldError{Field: "targets.posts", Code: "unknown_post", Message: "unknown posts: " + strings.Join(p.Unknown, ", ")})
	}
	if p.Recipients == 0 {
		return &apperr.Error{Kind: apperr.KindInvalid, Type: "no-recipients",
			Detail: "the targets reach no active post of an active member state",
			Fields: []apperr.FieldError{{Field: "targets", Code: "no_recipients", Message: "no active post matches"}}}
	}
	return nil
}

// Create creates a check. A check of kind now is sent at once, as the
// caller, and returned fired (or with the sending error). A recurring check
// creates its Series and returns the first occurrence.
func (s *Store) Create(ctx context.Context, in NewCheck) (*Check, error) {
	a, err := centre(ctx)
	if err != nil {
		return nil, err
	}
	var f apperr.Fields
	validateContent(&in.Title, &in.Body, &in.Priority, in.AckWithinSeconds, in.Targets, &f)
	now := s.clock.Now()
	switch in.Kind {
	case KindNow:
	case KindAt:
		switch {
		case in.At == nil:
			f.Add("at", "required", "give the instant of the check")
		case in.At.Before(now.Add(-time.Minute)):
			f.Add("at", "in_past", "the instant has passed; send the check now instead")
		}
	case KindSurprise:
		switch {
		case in.WindowFrom == nil || in.WindowTo == nil:
			f.Add("window", "required", "give the window the minute is drawn from")
		case !in.WindowTo.After(*in.WindowFrom):
			f.Add("window_to", "before_start", "the window must end after it starts")
		case in.WindowTo.Sub(*in.WindowFrom) > maxWindow:
			f.Add("window_to", "too_long", "a window of at most 92 days")
		case !ceilMinute(maxTime(*in.WindowFrom, now)).Before(*in.WindowTo):
			f.Add("window_to", "in_past", "no whole minute of the window is still ahead")
		}
	case KindRecurring:
		if in.Recurrence == nil {
			f.Add("recurrence", "required", "give the rule of a recurring check")
		} else {
			if in.Recurrence.TZ == "" {
				in.Recurrence.TZ = s.zoneOfOrg(ctx)
			}
			in.Recurrence.normalise(&f)
		}
	default:
		f.Add("kind", "invalid_kind", "now, at, surprise or recurring")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := s.checkTargets(ctx, in.Targets); err != nil {
		return nil, err
	}
	targets, _ := json.Marshal(in.Targets)
	c := &Check{ID: db.NewID(), Kind: in.Kind, Title: in.Title, Body: in.Body, Priority: in.Priority, AckWithinSeconds: in.AckWithinSeconds,
		Targets: in.Targets, Exercise: true, State: StateScheduled, CreatedBy: a.Label()}
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		c.CreatedAt, c.UpdatedAt = now, now
		var ser *Series
		switch in.Kind {
		case KindNow:
			// Taken at once by this request (state firing), so the
			// scheduler leaves it alone unless this process dies.
			c.FireAt, c.State = now, StateFiring
		case KindAt:
			c.FireAt = clock.Norm(*in.At)
		case KindSurprise:
			from, to := clock.Norm(*in.WindowFrom), clock.Norm(*in.WindowTo)
			m, ok, err := drawMinute(maxTime(from, now), to)
			if err != nil {
				return err
			}
			if !ok {
				return apperr.Invalid(apperr.FieldError{Field: "window_to", Code: "in_past", Message: "no whole minute of the window is still ahead"})
			}
			c.WindowFrom, c.WindowTo, c.FireAt = &from, &to, m
		case KindRecurring:
			ser = &Series{ID: db.NewID(), Title: in.Title, Body: in.Body, Priority: in.Priority, AckWithinSeconds: in.AckWithinSeconds,
				Targets: in.Targets, Recurrence: *in.Recurrence, State: SeriesActive, CreatedAt: now, CreatedBy: a.Label(), UpdatedAt: now}
			wd, _ := json.Marshal(nonNilWeekdays(ser.Recurrence.Weekdays))
			md, _ := json.Marshal(nonNilInts(ser.Recurrence.MonthDays))
			if _, err := tx.Exec(ctx, `INSERT INTO readiness_series (id, title, body, priority, ack_within_seconds, targets, weekdays, month_days,
				window_start, window_end, tz, state, created_at, created_by, created_by_user, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				ser.ID, ser.Title, ser.Body, ser.Priority, ser.AckWithinSeconds, string(targets), string(wd), string(md),
				ser.Recurrence.WindowStart, ser.Recurrence.WindowEnd, ser.Recurrence.TZ, ser.State, now, ser.CreatedBy, nullable(a.UserID), now); err != nil {
				return err
			}
			occ, err := s.materialise(ctx, tx, ser, now, now)
			if err != nil {
				return err
			}
			if occ == nil {
				return apperr.Invalid(apperr.FieldError{Field: "recurrence", Code: "no_occurrence", Message: "the rule gives no date in the next year"})
			}
			*c = *occ
			tx.AfterCommit(s.wake)
			return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.create", ObjectType: "readiness_series", ObjectID: ser.ID,
				Summary: fmt.Sprintf("EXERCISE: recurring readiness check %q", ser.Title),
				After: map[string]any{"title": ser.Title, "targets": ser.Targets, "ack_within_seconds": ser.AckWithinSeconds,
					"recurrence": ser.Recurrence, "first_window": map[string]any{"from": occ.WindowFrom, "to": occ.WindowTo}}})
		}
		if err := insertCheck(ctx, tx, c, nullable(a.UserID), now); err != nil {
			return err
		}
		after := map[string]any{"title": c.Title, "kind": c.Kind, "targets": c.Targets, "ack_within_seconds": c.AckWithinSeconds}
		switch c.Kind {
		case KindAt:
			after["at"] = c.FireAt
		case KindSurprise:
			// The drawn minute stays out of the audit log, which auditors
			// read: it is disclosed only once the check fires.
			after["window_from"], after["window_to"] = c.WindowFrom, c.WindowTo
		}
		if c.Kind != KindNow {
			if err := s.announce(ctx, tx, events.TypeCheckScheduled, c); err != nil {
				return err
			}
			tx.AfterCommit(s.wake)
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.create", ObjectType: "readiness_check", ObjectID: c.ID,
			Summary: fmt.Sprintf("EXERCISE: %s readiness check %q", c.Kind, c.Title), After: after})
	})
	if err != nil {
		return nil, err
	}
	if c.Kind == KindNow {
		if err := s.fire(ctx, c); err != nil {
			return nil, err
		}
		return s.Get(ctx, c.ID)
	}
	return c, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func nonNilWeekdays(v []time.Weekday) []time.Weekday {
	if v == nil {
		return []time.Weekday{}
	}
	return v
}

func nonNilInts(v []int) []int {
	if v == nil {
		return []int{}
	}
	return v
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func insertCheck(ctx context.Context, tx *db.Tx, c *Check, userID *string, now time.Time) error {
	targets, _ := json.Marshal(c.Targets)
	var claimed *time.Time
	if c.State == StateFiring {
		claimed = &now
	}
	_, err := tx.Exec(ctx, `INSERT INTO readiness_checks (id, series_id, kind, title, body, priority, ack_within_seconds, targets,
		window_from, window_to, fire_at, state, claimed_at, created_at, created_by, created_by_user, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.SeriesID, c.Kind, c.Title, c.Body, c.Priority, c.AckWithinSeconds, string(targets),
		c.WindowFrom, c.WindowTo, c.FireAt, c.State, claimed, now, c.CreatedBy, userID, now)
	return err
}

// materialise writes the next occurrence of an active series: the first
// window that starts at or after `after` (and not before now: occurrences
// missed while the system was down are not replayed), its minute drawn
// once, here. The series row is locked first, and a series already holding
// a pending occurrence gets none (the unique index readiness_checks_next
// enforces it too). It returns nil when there is nothing to write.
func (s *Store) materialise(ctx context.Context, tx *db.Tx, ser *Series, after, now time.Time) (*Check, error) {
	var state string
	if err := tx.QueryRow(ctx, "SELECT r.state FROM readiness_series r WHERE r.id = ?"+tx.ForUpdate("r"), ser.ID).Scan(&state); err != nil {
		return nil, err
	}
	if state != SeriesActive {
		return nil, nil
	}
	var pending int
	if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM readiness_checks WHERE series_id = ? AND state IN (?, ?)",
		ser.ID, StateScheduled, StateFiring).Scan(&pending); err != nil {
		return nil, err
	}
	if pending > 0 {
		return nil, nil
	}
	from, to, ok := ser.Recurrence.next(maxTime(after, now))
	if !ok {
		return nil, nil
	}
	m, ok, err := drawMinute(from, to)
	if err != nil || !ok {
		return nil, err
	}
	id := ser.ID
	c := &Check{ID: db.NewID(), SeriesID: &id, Kind: KindRecurring, Title: ser.Title, Body: ser.Body, Priority: ser.Priority,
		AckWithinSeconds: ser.AckWithinSeconds, Targets: ser.Targets, Exercise: true, WindowFrom: &from, WindowTo: &to, FireAt: m,
		State: StateScheduled, CreatedAt: now, CreatedBy: ser.CreatedBy, UpdatedAt: now}
	var user sql.NullString
	if err := tx.QueryRow(ctx, "SELECT created_by_user FROM readiness_series WHERE id = ?", ser.ID).Scan(&user); err != nil {
		return nil, err
	}
	if err := insertCheck(ctx, tx, c, ns(user), now); err != nil {
		return nil, err
	}
	if err := s.announce(ctx, tx, events.TypeCheckScheduled, c); err != nil {
		return nil, err
	}
	tx.AfterCommit(s.wake)
	return c, nil
}

// announce tells centre roles (only them: a scheduled check is theirs alone).
func (s *Store) announce(ctx context.Context, tx *db.Tx, typ string, c *Check) error {
	_, err := s.out.Append(ctx, tx, events.Event{Type: typ, Audience: events.AudienceCentre(), Payload: c})
	return err
}

// Update changes the content of a check that has not fired; for an
// occurrence of a series it changes the series too, so later occurrences
// carry the new content. The time of the check does not change.
func (s *Store) Update(ctx context.Context, id string, in CheckEdit) (*Check, error) {
	if _, err := centre(ctx); err != nil {
		return nil, err
	}
	var f apperr.Fields
	validateContent(&in.Title, &in.Body, &in.Priority, in.AckWithinSeconds, in.Targets, &f)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if err := s.checkTargets(ctx, in.Targets); err != nil {
		return nil, err
	}
	targets, _ := json.Marshal(in.Targets)
	var out *Check
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		c, err := scanCheck(tx.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.id = ?"+tx.ForUpdate("c"), id))
		if err == sql.ErrNoRows {
			return apperr.NotFound("readiness check")
		} else if err != nil {
			return err
		}
		if c.State != StateScheduled {
			return apperr.Conflict("check-"+c.State, "the check is "+c.State+"; only a scheduled check can be edited")
		}
		before := map[string]any{"title": c.Title, "body": c.Body, "priority": c.Priority, "ack_within_seconds": c.AckWithinSeconds, "targets": c.Targets}
		if _, err := tx.Exec(ctx, `UPDATE readiness_checks SET title = ?, body = ?, priority = ?, ack_within_seconds = ?, targets = ?, updated_at = ?
			WHERE id = ?`, in.Title, in.Body, in.Priority, in.AckWithinSeconds, string(targets), now, id); err != nil {
			return err
		}
		if c.SeriesID != nil {
			if _, err := tx.Exec(ctx, `UPDATE readiness_series SET title = ?, body = ?, priority = ?, ack_within_seconds = ?, targets = ?, updated_at = ?
				WHERE id = ?`, in.Title, in.Body, in.Priority, in.AckWithinSeconds, string(targets), now, *c.SeriesID); err != nil {
				return err
			}
		}
		c.Title, c.Body, c.Priority, c.AckWithinSeconds, c.Targets, c.UpdatedAt = in.Title, in.Body, in.Priority, in.AckWithinSeconds, in.Targets, now
		if err := s.announce(ctx, tx, events.TypeCheckScheduled, c); err != nil {
			return err
		}
		out = c
		return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.update", ObjectType: "readiness_check", ObjectID: c.ID,
			Summary: fmt.Sprintf("EXERCISE: readiness check %q edited", c.Title), Before: before,
			After: map[string]any{"title": c.Title, "body": c.Body, "priority": c.Priority, "ack_within_seconds": c.AckWithinSeconds, "targets": c.Targets}})
	})
	return out, err
}

// Cancel cancels a scheduled check. An occurrence of a series is skipped:
// the series goes on with its next occurrence (CancelSeries ends it). A
// check that has fired cannot be cancelled: cancel its alert instead.
func (s *Store) Cancel(ctx context.Context, id, comment string) (*Check, error) {
	a, err := centre(ctx)
	if err != nil {
		return nil, err
	}
	comment = strings.TrimSpace(comment)
	var out *Check
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		c, err := scanCheck(tx.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.id = ?"+tx.ForUpdate("c"), id))
		if err == sql.ErrNoRows {
			return apperr.NotFound("readiness check")
		} else if err != nil {
			return err
		}
		if c.State != StateScheduled {
			return apperr.Conflict("check-"+c.State, "the check is "+c.State+"; only a scheduled check can be cancelled (cancel a sent check's alert instead)")
		}
		if err := cancelRow(ctx, tx, c, a, comment, now); err != nil {
			return err
		}
		if err := s.announce(ctx, tx, EventCheckUpdated, c); err != nil {
			return err
		}
		if c.SeriesID != nil {
			ser, err := loadSeries(ctx, tx, *c.SeriesID)
			if err != nil {
				return err
			}
			if _, err := s.materialise(ctx, tx, ser, *c.WindowTo, now); err != nil {
				return err
			}
		}
		out = c
		return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.cancel", ObjectType: "readiness_check", ObjectID: c.ID,
			Summary: fmt.Sprintf("EXERCISE: readiness check %q cancelled before it fired", c.Title),
			Before:  map[string]any{"state": StateScheduled}, After: map[string]any{"state": StateCancelled, "comment": comment}})
	})
	return out, err
}

func cancelRow(ctx context.Context, tx *db.Tx, c *Check, a *auth.Actor, comment string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE readiness_checks SET state = ?, cancelled_at = ?, cancelled_by = ?, cancel_comment = ?, updated_at = ?
		WHERE id = ? AND state = ?`, StateCancelled, now, a.Label(), comment, now, c.ID, StateScheduled); err != nil {
		return err
	}
	c.State, c.CancelledAt, c.CancelledBy, c.CancelComment, c.UpdatedAt = StateCancelled, &now, a.Label(), comment, now
	return nil
}

// CancelSeries ends a recurring check: no further occurrence, and the
// pending one (if it has not started firing) is cancelled.
func (s *Store) CancelSeries(ctx context.Context, id, comment string) (*Series, error) {
	a, err := centre(ctx)
	if err != nil {
		return nil, err
	}
	comment = strings.TrimSpace(comment)
	var out *Series
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		ser, err := loadSeries(ctx, tx, id)
		if err != nil {
			return err
		}
		if ser.State != SeriesActive {
			return apperr.Conflict("series-"+ser.State, "the recurring check is already "+ser.State)
		}
		if _, err := tx.Exec(ctx, `UPDATE readiness_series SET state = ?, cancelled_at = ?, cancelled_by = ?, cancel_comment = ?, updated_at = ?
			WHERE id = ?`, SeriesCancelled, now, a.Label(), comment, now, id); err != nil {
			return err
		}
		ser.State, ser.CancelledAt, ser.CancelledBy, ser.CancelComment, ser.UpdatedAt = SeriesCancelled, &now, a.Label(), comment, now
		c, err := scanCheck(tx.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.series_id = ? AND c.state = ?"+tx.ForUpdate("c"), id, StateScheduled))
		if err == nil {
			if err := cancelRow(ctx, tx, c, a, comment, now); err != nil {
				return err
			}
			if err := s.announce(ctx, tx, EventCheckUpdated, c); err != nil {
				return err
			}
		} else if err != sql.ErrNoRows {
			return err
		}
		out = ser
		return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.cancel_series", ObjectType: "readiness_series", ObjectID: id,
			Summary: fmt.Sprintf("EXERCISE: recurring readiness check %q ended", ser.Title),
			Before:  map[string]any{"state": SeriesActive}, After: map[string]any{"state": SeriesCancelled, "comment": comment}})
	})
	return out, err
}

const checkCols = `c.id, c.series_id, c.kind, c.title, c.body, c.priority, c.ack_within_seconds, c.targets, c.window_from, c.window_to,
	c.fire_at, c.state, c.alert_id, c.fired_at, c.failure, c.created_at, c.created_by, c.updated_at, c.cancelled_at, c.cancelled_by, c.cancel_comment`

func scanCheck(sc interface{ Scan(...any) error }) (*Check, error) {
	var c Check
	var series, alertID sql.NullString
	var targets string
	var wf, wt, fired, cancelled db.NullTime
	if err := sc.Scan(&c.ID, &series, &c.Kind, &c.Title, &c.Body, &c.Priority, &c.AckWithinSeconds, &targets, &wf, &wt,
		&c.FireAt, &c.State, &alertID, &fired, &c.Failure, &c.CreatedAt, &c.CreatedBy, &c.UpdatedAt, &cancelled, &c.CancelledBy, &c.CancelComment); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(targets), &c.Targets)
	c.SeriesID, c.AlertID = ns(series), ns(alertID)
	c.WindowFrom, c.WindowTo, c.FiredAt, c.CancelledAt = nt(wf), nt(wt), nt(fired), nt(cancelled)
	c.FireAt, c.CreatedAt, c.UpdatedAt = c.FireAt.UTC(), c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	c.Exercise = true
	return &c, nil
}

func ns(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nt(t db.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

const seriesCols = `r.id, r.title, r.body, r.priority, r.ack_within_seconds, r.targets, r.weekdays, r.month_days, r.window_start, r.window_end,
	r.tz, r.state, r.created_at, r.created_by, r.updated_at, r.cancelled_at, r.cancelled_by, r.cancel_comment`

func scanSeries(sc interface{ Scan(...any) error }) (*Series, error) {
	var r Series
	var targets, wd, md string
	var cancelled db.NullTime
	if err := sc.Scan(&r.ID, &r.Title, &r.Body, &r.Priority, &r.AckWithinSeconds, &targets, &wd, &md, &r.Recurrence.WindowStart,
		&r.Recurrence.WindowEnd, &r.Recurrence.TZ, &r.State, &r.CreatedAt, &r.CreatedBy, &r.UpdatedAt, &cancelled, &r.CancelledBy, &r.CancelComment); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(targets), &r.Targets)
	_ = json.Unmarshal([]byte(wd), &r.Recurrence.Weekdays)
	_ = json.Unmarshal([]byte(md), &r.Recurrence.MonthDays)
	r.CreatedAt, r.UpdatedAt, r.CancelledAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC(), nt(cancelled)
	return &r, nil
}

func loadSeries(ctx context.Context, q db.Querier, id string) (*Series, error) {
	r, err := scanSeries(q.QueryRow(ctx, "SELECT "+seriesCols+" FROM readiness_series r WHERE r.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("recurring readiness check")
	}
	return r, err
}

// viewFilter limits checks (alias c) to those the actor may see: centre
// roles every check; everybody else fired checks only, and then as their
// alert's visibility rule says (package alert: administrators every alert;
// others the alerts addressing a post of their post or state grants).
func viewFilter(a *auth.Actor) (string, []any) {
	if seesUnfired(a) {
		return "1=1", nil
	}
	cond := "c.state = '" + StateFired + "'"
	if a.IsAdmin() {
		return cond, nil
	}
	var parts []string
	var args []any
	var posts, states []string
	for _, g := range a.Grants {
		switch g.ScopeKind {
		case auth.ScopePost:
			posts = append(posts, g.ScopeID)
		case auth.ScopeState:
			states = append(states, g.ScopeID)
		}
	}
	if len(posts) > 0 {
		parts = append(parts, "d.post_id IN ("+ph(len(posts))+")")
		for _, p := range posts {
			args = append(args, p)
		}
	}
	if len(states) > 0 {
		parts = append(parts, "d.post_id IN (SELECT id FROM posts WHERE state_id IN ("+ph(len(states))+"))")
		for _, s := range states {
			args = append(args, s)
		}
	}
	if len(parts) == 0 {
		return "1=0", nil
	}
	return cond + " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = c.alert_id AND (" + strings.Join(parts, " OR ") + "))", args
}

func ph(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// Get returns a check the caller may see; any other is NotFound (a check
// that has not fired does not exist for anyone outside the centre).
func (s *Store) Get(ctx context.Context, id string) (*Check, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see readiness checks")
	}
	cond, args := viewFilter(a)
	c, err := scanCheck(s.db.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.id = ? AND "+cond, append([]any{id}, args...)...))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("readiness check")
	}
	return c, err
}

// ListOptions filter the list of checks.
type ListOptions struct {
	State    string // scheduled, firing, fired, cancelled, failed; "" = any
	SeriesID string
	Limit    int
	Cursor   string // the id of the last check of the previous page
}

// List returns the checks the caller may see, newest first.
func (s *Store) List(ctx context.Context, o ListOptions) ([]Check, string, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, "", apperr.Unauthorized("sign in to see readiness checks")
	}
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 100
	}
	cond, args := viewFilter(a)
	where := []string{cond}
	if o.State != "" {
		where = append(where, "c.state = ?")
		args = append(args, o.State)
	}
	if o.SeriesID != "" {
		where = append(where, "c.series_id = ?")
		args = append(args, o.SeriesID)
	}
	if o.Cursor != "" {
		where = append(where, "c.id < ?")
		args = append(args, o.Cursor)
	}
	args = append(args, o.Limit+1)
	rows, err := s.db.Query(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE "+strings.Join(where, " AND ")+" ORDER BY c.id DESC LIMIT ?", args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Check{}
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > o.Limit {
		out = out[:o.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// GetSeries returns a recurring check's rule with its next occurrence
// (centre roles only).
func (s *Store) GetSeries(ctx context.Context, id string) (*Series, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see readiness checks")
	}
	if !seesUnfired(a) {
		return nil, apperr.NotFound("recurring readiness check")
	}
	r, err := loadSeries(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	return r, s.attachNext(ctx, []*Series{r})
}

// ListSeries returns the recurring checks, newest first (centre roles only).
func (s *Store) ListSeries(ctx context.Context, activeOnly bool) ([]Series, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see readiness checks")
	}
	if !seesUnfired(a) {
		return []Series{}, nil
	}
	q := "SELECT " + seriesCols + " FROM readiness_series r"
	var args []any
	if activeOnly {
		q += " WHERE r.state = ?"
		args = append(args, SeriesActive)
	}
	rows, err := s.db.Query(ctx, q+" ORDER BY r.id DESC", args...)
	if err != nil {
		return nil, err
	}
	var ptrs []*Series
	for rows.Next() {
		r, err := scanSeries(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ptrs = append(ptrs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.attachNext(ctx, ptrs); err != nil {
		return nil, err
	}
	out := make([]Series, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out, nil
}

func (s *Store) attachNext(ctx context.Context, ser []*Series) error {
	for _, r := range ser {
		c, err := scanCheck(s.db.QueryRow(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE c.series_id = ? AND c.state IN (?, ?)",
			r.ID, StateScheduled, StateFiring))
		if err == sql.ErrNoRows {
			continue
		} else if err != nil {
			return err
		}
		r.Next = c
	}
	return nil
}
