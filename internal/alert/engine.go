package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Engine works the durable timers of deliveries (deliveries.due_at): it
// escalates silence level by level and marks deliveries missed after the
// last level. It wakes on commit (Poke), when the clock is moved, and at the
// next due time; there is no polling interval. On PostgreSQL exactly one
// replica works it at a time (an advisory lock); when that process dies,
// another takes over within seconds and resumes from the rows.
type Engine struct {
	s    *Store
	log  *slog.Logger
	wake chan struct{}
	// Batch is how many due deliveries one transaction works.
	Batch int
	// SnapshotBatch is how many newly sent deliveries one transaction
	// records who was on duty for. Kept small: on SQLite a long engine
	// transaction holds the only writer and delays the next send (4,000
	// measured worse than 500 under a fan-out load).
	SnapshotBatch int
	// OnStep, when set, is called after each committed batch (tests, metrics).
	OnStep func(n int)
}

// NewEngine returns the engine of s and makes s wake it after commits.
func NewEngine(s *Store, log *slog.Logger) *Engine {
	e := &Engine{s: s, log: log, wake: make(chan struct{}, 1), Batch: 500, SnapshotBatch: 500}
	s.SetWake(e.Poke)
	return e
}

// Poke wakes the engine (non-blocking).
func (e *Engine) Poke() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// engineLock is the advisory-lock key of the escalation engine.
const engineLock = 7301002

// Run works timers until ctx ends, while holding the engine lock.
func (e *Engine) Run(ctx context.Context) {
	e.s.db.Leader(ctx, engineLock, e.log, "escalation engine", e.loop)
}

func (e *Engine) loop(ctx context.Context) {
	for {
		if _, err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("escalation engine step failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		next, err := e.nextDue(ctx)
		if err != nil && ctx.Err() == nil {
			e.log.Error("escalation engine cannot read timers", "err", err)
		}
		var timer <-chan time.Time
		if next != nil {
			d := next.Sub(e.s.clock.Now())
			if d < 0 {
				d = 0
			}
			timer = time.After(d)
		} else if err != nil {
			timer = time.After(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-e.s.clock.Changed():
		case <-timer:
		}
	}
}

func (e *Engine) nextDue(ctx context.Context) (*time.Time, error) {
	var pending int
	if err := e.s.db.QueryRow(ctx, "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries WHERE on_duty = '' LIMIT 1) x").Scan(&pending); err != nil {
		return nil, err
	}
	if pending > 0 {
		now := e.s.clock.Now()
		return &now, nil
	}
	var t *time.Time
	var nt2 db.NullTime
	if err := e.s.db.QueryRow(ctx, "SELECT MIN(due_at) FROM deliveries WHERE due_at IS NOT NULL").Scan(&nt2); err != nil {
		return nil, err
	}
	if nt2.Valid {
		u := nt2.Time.UTC()
		t = &u
	}
	return t, nil
}

// Tick records who was on duty for newly sent deliveries, then works every
// delivery due now, in batches, and returns how many deliveries it worked.
func (e *Engine) Tick(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := e.snapshot(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n > 0 && e.OnStep != nil {
			e.OnStep(n)
		}
		if n < e.SnapshotBatch {
			break
		}
	}
	for {
		n, err := e.batch(ctx)
		total += n
		if err != nil {
			return total, err
		}
		if n > 0 && e.OnStep != nil {
			e.OnStep(n)
		}
		if n < e.Batch {
			return total, nil
		}
	}
}

type due struct {
	d        Delivery
	level    int
	dueAt    time.Time
	deadline time.Time
	ackIn    time.Duration
	title    string
}

func (e *Engine) batch(ctx context.Context) (int, error) {
	s := e.s
	n := 0
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		rows, err := tx.Query(ctx, `SELECT d.id, d.alert_id, d.post_id, p.code, d.state, d.escalation_level, d.due_at, a.deadline_at,
			a.ack_within_seconds, a.title, d.on_duty FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN posts p ON p.id = d.post_id
			WHERE d.due_at IS NOT NULL AND d.due_at <= ? ORDER BY d.due_at LIMIT ?`+tx.ForUpdateSkipLocked("d"), now, e.Batch)
		if err != nil {
			return err
		}
		var work []due
		for rows.Next() {
			var w due
			var ackIn int
			var od string
			if err := rows.Scan(&w.d.ID, &w.d.AlertID, &w.d.PostID, &w.d.PostCode, &w.d.State, &w.level, &w.dueAt, &w.deadline, &ackIn, &w.title, &od); err != nil {
				rows.Close()
				return err
			}
			w.d.OnDutyRecorded = od != ""
			_ = json.Unmarshal([]byte(od), &w.d.OnDuty)
			w.ackIn = time.Duration(ackIn) * time.Second
			work = append(work, w)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(work)
		if n == 0 {
			return nil
		}
		// Levels are asked for set-wise, per level number.
		need := map[int][]string{}
		for _, w := range work {
			need[w.level+1] = append(need[w.level+1], w.d.PostID)
			need[w.level+2] = append(need[w.level+2], w.d.PostID)
		}
		levels := map[int]map[string]Level{}
		for lv, posts := range need {
			m := map[string]Level{}
			if s.roster != nil {
				if m, err = s.roster.Levels(ctx, tx, posts, lv, now); err != nil {
					return fmt.Errorf("escalation levels: %w", err)
				}
			}
			levels[lv] = m
		}
		var evs []events.Event
		var steps []stepRow
		for i := range work {
			if err := s.escalate(ctx, tx, &work[i], levels, now, &evs, &steps); err != nil {
				return err
			}
		}
		if err := insertSteps(ctx, tx, steps, now); err != nil {
			return err
		}
		_, err = s.out.Append(ctx, tx, evs...)
		return err
	})
	return n, err
}

// escalate fires the next level of one due delivery, or marks it missed
// after the last level. The next due time counts from this step's due time,
// not from now, so an engine that was down resumes the schedule exactly.
func (s *Store) escalate(ctx context.Context, tx *db.Tx, w *due, levels map[int]map[string]Level, now time.Time, out *[]events.Event, steps *[]stepRow) error {
	next := w.level + 1
	lv := levels[next][w.d.PostID]
	if !lv.Exists {
		if _, err := tx.ExecPrepared(ctx, "UPDATE deliveries SET state = ?, missed_at = ?, due_at = NULL, updated_at = ? WHERE id = ?",
			DMissed, now, now, w.d.ID); err != nil {
			return err
		}
		*steps = append(*steps, stepRow{d: w.d.ID, alert: w.d.AlertID, kind: "missed", level: w.level})
		w.d.State, w.d.MissedAt, w.d.DueAt = DMissed, &now, nil
	} else {
		var dueNext time.Time
		if after := levels[next+1][w.d.PostID]; after.Exists {
			dueNext = w.dueAt.Add(after.After)
		} else {
			wait := lv.After
			if wait <= 0 || next == 1 {
				wait = w.ackIn
			}
			dueNext = w.dueAt.Add(wait)
		}
		if _, err := tx.ExecPrepared(ctx, "UPDATE deliveries SET state = ?, escalation_level = ?, due_at = ?, updated_at = ? WHERE id = ?",
			DEscalated, next, dueNext, now, w.d.ID); err != nil {
			return err
		}
		detail, _ := json.Marshal(lv.People)
		if len(lv.People) == 0 {
			detail = []byte("nobody to reach at this level now")
		}
		*steps = append(*steps, stepRow{d: w.d.ID, alert: w.d.AlertID, kind: "escalated", level: next, detail: string(detail)})
		for _, p := range lv.People {
			*steps = append(*steps, stepRow{d: w.d.ID, alert: w.d.AlertID, kind: "reached", level: next, person: p.PersonID, login: p.Login, detail: p.Name})
		}
		if s.notify != nil && len(lv.People) > 0 {
			if err := s.notify.Escalated(ctx, tx, w.d.AlertID, w.d.ID, w.d.PostID, next, lv.People); err != nil {
				return fmt.Errorf("queue notifications: %w", err)
			}
		}
		w.d.State, w.d.EscalationLevel, w.d.DueAt = DEscalated, next, &dueNext
	}
	w.d.UpdatedAt = now
	*out = append(*out, deliveryEvent(&w.d))
	return nil
}

// snapshot records, for a batch of newly sent deliveries, who was on duty at
// the post when the alert was sent; a live delivery whose post had nobody on
// duty is escalated to level 1 at once, and the people on duty are handed to
// the off-line channels (level 0).
func (e *Engine) snapshot(ctx context.Context) (int, error) {
	s := e.s
	n := 0
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		rows, err := tx.Query(ctx, `SELECT d.id, d.alert_id, d.post_id, p.code, d.state, d.acked_at IS NOT NULL, d.phone_at IS NOT NULL,
			a.state, a.created_at, a.deadline_at, a.ack_within_seconds
			FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN posts p ON p.id = d.post_id
			WHERE d.on_duty = '' ORDER BY d.alert_id LIMIT ?`+tx.ForUpdateSkipLocked("d"), e.SnapshotBatch)
		if err != nil {
			return err
		}
		type fresh struct {
			w     due
			live  bool
			sent  time.Time
			alert string
		}
		var work []fresh
		for rows.Next() {
			var f fresh
			var acked, phoned bool
			var alertState string
			var ackIn int
			if err := rows.Scan(&f.w.d.ID, &f.w.d.AlertID, &f.w.d.PostID, &f.w.d.PostCode, &f.w.d.State, &acked, &phoned,
				&alertState, &f.sent, &f.w.deadline, &ackIn); err != nil {
				rows.Close()
				return err
			}
			f.w.ackIn = time.Duration(ackIn) * time.Second
			f.w.dueAt = f.sent.UTC()
			f.live = alertState == StateOpen && !acked && !phoned && (f.w.d.State == DPending || f.w.d.State == DDelivered)
			work = append(work, f)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(work)
		if n == 0 {
			return nil
		}
		byAlert := map[string][]int{}
		var order []string
		for i, f := range work {
			if _, ok := byAlert[f.w.d.AlertID]; !ok {
				order = append(order, f.w.d.AlertID)
			}
			byAlert[f.w.d.AlertID] = append(byAlert[f.w.d.AlertID], i)
		}
		for _, alertID := range order {
			idx := byAlert[alertID]
			posts := make([]string, len(idx))
			for j, i := range idx {
				posts[j] = work[i].w.d.PostID
			}
			duty := map[string][]OnDuty{}
			if s.roster != nil {
				if duty, err = s.roster.OnDutyAt(ctx, tx, posts, work[idx[0]].sent); err != nil {
					return fmt.Errorf("who was on duty: %w", err)
				}
			}
			var nobody []*due
			var sent []SentDelivery
			recorded := make([][2]string, 0, len(idx))
			for _, i := range idx {
				f := &work[i]
				od := duty[f.w.d.PostID]
				j, _ := json.Marshal(od)
				if len(od) == 0 {
					j = []byte("[]")
				}
				f.w.d.OnDuty, f.w.d.OnDutyRecorded = od, true
				recorded = append(recorded, [2]string{f.w.d.ID, string(j)})
				if !f.live {
					continue
				}
				if len(od) == 0 {
					nobody = append(nobody, &f.w)
				} else {
					sent = append(sent, SentDelivery{DeliveryID: f.w.d.ID, PostID: f.w.d.PostID, OnDuty: od})
				}
			}
			if err := recordOnDuty(ctx, tx, recorded); err != nil {
				return err
			}
			if len(nobody) > 0 {
				ids := make([]string, len(nobody))
				for k, w := range nobody {
					ids[k] = w.d.PostID
				}
				levels := map[int]map[string]Level{}
				for _, lv := range []int{1, 2} {
					m := map[string]Level{}
					if s.roster != nil {
						if m, err = s.roster.Levels(ctx, tx, ids, lv, now); err != nil {
							return fmt.Errorf("escalation levels: %w", err)
						}
					}
					levels[lv] = m
				}
				var evs []events.Event
				var steps []stepRow
				for _, w := range nobody {
					if err := s.escalate(ctx, tx, w, levels, now, &evs, &steps); err != nil {
						return err
					}
				}
				if err := insertSteps(ctx, tx, steps, now); err != nil {
					return err
				}
				if _, err := s.out.Append(ctx, tx, evs...); err != nil {
					return err
				}
			}
			if s.notify != nil && len(sent) > 0 {
				al, err := scanAlert(tx.QueryRow(ctx, "SELECT "+alertCols+" FROM alerts a WHERE a.id = ?", alertID))
				if err != nil {
					return err
				}
				if err := s.notify.Sent(ctx, tx, al, sent); err != nil {
					return fmt.Errorf("queue notifications: %w", err)
				}
			}
		}
		return nil
	})
	return n, err
}

// recordOnDuty writes who was on duty for many deliveries in a few
// statements (UPDATE … FROM (VALUES …), which both engines accept).
func recordOnDuty(ctx context.Context, tx *db.Tx, rows [][2]string) error {
	for start := 0; start < len(rows); start += maxInsertRows {
		chunk := rows[start:min(start+maxInsertRows, len(rows))]
		var b strings.Builder
		b.WriteString("UPDATE deliveries SET on_duty = v.column2 FROM (VALUES ")
		args := make([]any, 0, 2*len(chunk))
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(CAST(? AS TEXT), CAST(? AS TEXT))")
			args = append(args, r[0], r[1])
		}
		b.WriteString(") AS v WHERE deliveries.id = v.column1")
		if _, err := tx.ExecPrepared(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("record who was on duty: %w", err)
		}
	}
	return nil
}

// stepRow is a timeline entry the engine writes in bulk.
type stepRow struct {
	d, alert, kind, person, login, detail string
	level                                 int
}

// insertSteps writes the engine's timeline entries of one batch in a few
// multi-row statements (the unique index on escalated steps still refuses
// a level recorded twice, failing the whole batch).
func insertSteps(ctx context.Context, tx *db.Tx, rows []stepRow, at time.Time) error {
	const chunk = 300
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO delivery_steps (delivery_id, alert_id, at, kind, level, channel, person_id, login, detail) VALUES ")
		args := make([]any, 0, 8*len(part))
		for i, r := range part {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?, ?, ?, ?, ?, '', ?, ?, ?)")
			args = append(args, r.d, r.alert, at, r.kind, r.level, nullable(r.person), r.login, r.detail)
		}
		if _, err := tx.ExecPrepared(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("record escalation steps: %w", err)
		}
	}
	return nil
}
