package readiness

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// FiringGrace is how long a check may stay "firing" before a scheduler
// decides its sender died and fires it again (which, thanks to the unique
// index on alerts.check_id, either sends the alert that was never committed
// or links the one that was). Sending to 10,000 posts takes well under a
// second; the grace is generous so a slow send is never raced.
const FiringGrace = time.Minute

// schedulerLock is the advisory-lock key of the readiness scheduler
// (7301001 migrations, 7301002 the escalation engine).
const schedulerLock = 7301007

// Scheduler fires due checks. It wakes on commit (Poke), when the clock is
// moved, and at the next due time; there is no polling interval. On
// PostgreSQL one replica at a time works it (an advisory lock); a second
// scheduler running anyway cannot fire a check twice (see package doc).
type Scheduler struct {
	s    *Store
	log  *slog.Logger
	wake chan struct{}
	// Batch is how many due checks one claiming transaction takes.
	Batch int
	// OnFire, when set, is called after a check is recorded as fired
	// (tests, metrics).
	OnFire func(checkID, alertID string)
}

// NewScheduler returns the scheduler of s and makes s wake it after commits.
func NewScheduler(s *Store, log *slog.Logger) *Scheduler {
	sc := &Scheduler{s: s, log: log, wake: make(chan struct{}, 1), Batch: 50}
	s.setWake(sc.Poke)
	return sc
}

// Poke wakes the scheduler (non-blocking).
func (sc *Scheduler) Poke() {
	select {
	case sc.wake <- struct{}{}:
	default:
	}
}

// Run fires checks until ctx ends, while holding the scheduler lock.
func (sc *Scheduler) Run(ctx context.Context) {
	sc.s.db.Leader(ctx, schedulerLock, sc.log, "readiness scheduler", sc.loop)
}

func (sc *Scheduler) loop(ctx context.Context) {
	for {
		// Read the clock's change channel before working, so a move made
		// while we work still wakes the wait below.
		changed := sc.s.clock.Changed()
		if _, err := sc.Tick(ctx); err != nil && ctx.Err() == nil {
			sc.log.Error("readiness scheduler step failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		next, err := sc.nextDue(ctx)
		if err != nil && ctx.Err() == nil {
			sc.log.Error("readiness scheduler cannot read its timers", "err", err)
		}
		var timer <-chan time.Time
		if next != nil {
			timer = time.After(max(next.Sub(sc.s.clock.Now()), 0))
		} else if err != nil {
			timer = time.After(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-sc.wake:
		case <-changed:
		case <-timer:
		}
	}
}

// nextDue is the earliest of the next scheduled minute and the end of the
// grace of a check left firing.
func (sc *Scheduler) nextDue(ctx context.Context) (*time.Time, error) {
	var a, b db.NullTime
	if err := sc.s.db.QueryRow(ctx, "SELECT MIN(fire_at) FROM readiness_checks WHERE state = ?", StateScheduled).Scan(&a); err != nil {
		return nil, err
	}
	if err := sc.s.db.QueryRow(ctx, "SELECT MIN(claimed_at) FROM readiness_checks WHERE state = ?", StateFiring).Scan(&b); err != nil {
		return nil, err
	}
	var out *time.Time
	if a.Valid {
		t := a.Time.UTC()
		out = &t
	}
	if b.Valid {
		t := b.Time.UTC().Add(FiringGrace)
		if out == nil || t.Before(*out) {
			out = &t
		}
	}
	return out, nil
}

// Tick fires every check due now and returns how many it recorded as fired
// or failed.
func (sc *Scheduler) Tick(ctx context.Context) (int, error) {
	sys := auth.With(ctx, auth.System(systemName))
	total := 0
	for {
		work, err := sc.s.claim(sys, sc.Batch)
		if err != nil {
			return total, err
		}
		var firstErr error
		for i := range work {
			// One check's store failure must not hold back the others
			// taken in the same claim: they would wait out the grace.
			done, err := sc.s.fireClaimed(sys, &work[i])
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				continue
			}
			if done {
				total++
				if sc.OnFire != nil {
					var alertID string
					if work[i].AlertID != nil {
						alertID = *work[i].AlertID
					}
					sc.OnFire(work[i].ID, alertID)
				}
			}
		}
		if firstErr != nil {
			return total, firstErr
		}
		if len(work) < sc.Batch {
			return total, nil
		}
	}
}

// claim takes due checks in one transaction: scheduled ones whose minute
// has come, and firing ones whose sender has been silent for the grace
// period. Each is guarded by its state (and claim time), so two schedulers
// never both take the same row.
func (s *Store) claim(ctx context.Context, batch int) ([]Check, error) {
	var out []Check
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		now := s.clock.Now()
		rows, err := tx.Query(ctx, "SELECT "+checkCols+" FROM readiness_checks c WHERE (c.state = ? AND c.fire_at <= ?) OR (c.state = ? AND c.claimed_at <= ?) ORDER BY c.fire_at LIMIT ?"+
			tx.ForUpdateSkipLocked("c"), StateScheduled, now, StateFiring, now.Add(-FiringGrace), batch)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanCheck(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, *c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if _, err := tx.Exec(ctx, "UPDATE readiness_checks SET state = ?, claimed_at = ?, updated_at = ? WHERE id = ? AND state IN (?, ?)",
				StateFiring, now, now, out[i].ID, StateScheduled, StateFiring); err != nil {
				return err
			}
			out[i].State = StateFiring
		}
		return nil
	})
	return out, err
}

// fire sends the alert of a check this process has just taken (state
// firing) and records the outcome.
func (s *Store) fire(ctx context.Context, c *Check) error {
	_, err := s.fireClaimed(ctx, c)
	return err
}

// fireClaimed sends the check's alert as the actor in ctx, unless it was
// already sent (a retry after a crash), and records it. It reports whether
// this call recorded the outcome. A failure of the store (not of the
// check) leaves the row firing, to be taken up again after the grace.
func (s *Store) fireClaimed(ctx context.Context, c *Check) (bool, error) {
	alertID, err := s.alertOf(ctx, c.ID)
	if err != nil {
		return false, err
	}
	var sendErr error
	if alertID == "" {
		al, err := s.alerts.Send(ctx, alert.NewAlert{Title: c.Title, Body: c.Body, Priority: c.Priority, AckWithinSeconds: c.AckWithinSeconds,
			Exercise: true, Targets: c.Targets, CheckID: c.ID})
		switch {
		case err == nil:
			alertID = al.ID
		case db.IsUniqueViolation(err):
			// Another sender committed this check's alert meanwhile.
			if alertID, err = s.alertOf(ctx, c.ID); err != nil {
				return false, err
			}
			if alertID == "" {
				return false, fmt.Errorf("send check %s: %w", c.ID, err)
			}
		default:
			if _, ok := apperr.As(err); !ok {
				return false, fmt.Errorf("send check %s: %w", c.ID, err)
			}
			sendErr = err
		}
	}
	var done bool
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		done = false
		now := s.clock.Now()
		var res sql.Result
		var err error
		if sendErr == nil {
			var firedAt time.Time
			if err := tx.QueryRow(ctx, "SELECT created_at FROM alerts WHERE id = ?", alertID).Scan(&firedAt); err != nil {
				return err
			}
			firedAt = firedAt.UTC()
			res, err = tx.Exec(ctx, "UPDATE readiness_checks SET state = ?, alert_id = ?, fired_at = ?, updated_at = ? WHERE id = ? AND state = ?",
				StateFired, alertID, firedAt, now, c.ID, StateFiring)
			c.State, c.AlertID, c.FiredAt = StateFired, &alertID, &firedAt
		} else {
			res, err = tx.Exec(ctx, "UPDATE readiness_checks SET state = ?, failure = ?, updated_at = ? WHERE id = ? AND state = ?",
				StateFailed, sendErr.Error(), now, c.ID, StateFiring)
			c.State, c.Failure = StateFailed, sendErr.Error()
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // another scheduler recorded it first
		}
		c.UpdatedAt = now
		if err := s.announce(ctx, tx, EventCheckUpdated, c); err != nil {
			return err
		}
		if c.SeriesID != nil {
			ser, err := loadSeries(ctx, tx, *c.SeriesID)
			if err != nil {
				return err
			}
			after := now
			if c.WindowTo != nil {
				after = *c.WindowTo
			}
			if _, err := s.materialise(ctx, tx, ser, after, now); err != nil {
				return err
			}
		}
		done = true
		if sendErr != nil {
			return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.fail", ObjectType: "readiness_check", ObjectID: c.ID,
				Summary: fmt.Sprintf("EXERCISE: readiness check %q could not be sent: %s", c.Title, sendErr.Error()),
				After:   map[string]any{"state": StateFailed, "failure": sendErr.Error()}})
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "readiness.fire", ObjectType: "readiness_check", ObjectID: c.ID,
			Summary: fmt.Sprintf("EXERCISE: readiness check %q sent", c.Title),
			After:   map[string]any{"state": StateFired, "alert_id": alertID, "fired_at": c.FiredAt, "fire_at": c.FireAt}})
	})
	if err != nil {
		return false, err
	}
	if sendErr != nil && auth.From(ctx) != nil && auth.From(ctx).Kind != auth.KindSystem {
		// A check sent now by a person: they hear why at once.
		return done, sendErr
	}
	return done, nil
}

// alertOf returns the id of the alert a check has sent, or "".
func (s *Store) alertOf(ctx context.Context, checkID string) (string, error) {
	var id string
	err := s.db.QueryRow(ctx, "SELECT id FROM alerts WHERE check_id = ?", checkID).Scan(&id)
	if err == sql.ErrNoRows {
		return "", nil
	}
	return id, err
}
