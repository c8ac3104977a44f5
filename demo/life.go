package demo

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/events"
	"sitroom/internal/users"
)

// Life is the demo's simulated duty officers: for every alert sent, the
// demo user on duty at each addressed post shows it on "their terminal" (a
// receipt) a few seconds later and acknowledges it after a human-like
// delay — most within a minute, some after the deadline, a few never, so
// escalations happen — through alert.Store, in that user's name, exactly
// as a person does (channel "simulation"). Posts whose terminals a real
// person has open are simulated too: the person can still be faster.
//
// It reads alert events from the outbox after the position it is given
// (the hub's at start), and on start also picks up the open alerts of the
// last ResumeWindow, so a restart carries on with the alerts in flight.
// Each post's behaviour is drawn from a random source keyed by the seed,
// the alert's send time and the post's code: the same alert gets the same
// behaviour after a restart, and tests get a fixed one. Before each action
// it re-reads the alert: nothing is done on a cancelled or closed alert,
// nothing twice (a receipt or an acknowledgement already there is left
// alone), and nothing for a post where nobody is on duty.
//
// Life runs only under `sitroom demo`, which adds Run as a loop of its
// app; `serve` never does. It must never run against a real
// organisation's data: it would acknowledge alerts in real people's names.
type Life struct {
	d   LifeDeps
	o   LifeOptions
	log *slog.Logger

	mu      sync.Mutex // held by Step; guards everything below
	after   int64
	resumed bool
	queue   actionQueue
	pending map[string]int  // alert id → actions queued
	ended   map[string]bool // alerts cancelled or closed with actions still queued
	wake    chan struct{}
}

// LifeDeps are the services Life works through.
type LifeDeps struct {
	DB     *db.DB // the outbox is read from it (as the hub tails it)
	Clock  clock.Clock
	Log    *slog.Logger
	Alerts *alert.Store
	Users  *users.Store
	Duty   *duty.Store
}

// LifeOptions tune Life; zero values take the defaults.
type LifeOptions struct {
	// Seed keys every random draw (with each alert's send time and each
	// post's code).
	Seed uint64
	// After is the outbox position to read from: the hub's position at
	// start.
	After int64
	// Behaviour is how the officers answer (DefaultBehaviour when zero).
	Behaviour Behaviour
	// PollEvery is how often the outbox is read when nothing wakes Life
	// (on PostgreSQL NOTIFY wakes it at once). Default 1 s.
	PollEvery time.Duration
	// ResumeWindow is how far back, at start, open alerts are picked up
	// again. Default 1 h.
	ResumeWindow time.Duration
}

// Behaviour is how the simulated officers answer an alert.
type Behaviour struct {
	// Late and Never are the shares of posts that acknowledge after the
	// deadline and that never acknowledge; the rest answer in time.
	Late, Never float64
	// A receipt comes ReceiptMin to ReceiptMax (uniform) after sending.
	ReceiptMin, ReceiptMax time.Duration
	// An answer in time comes after a log-normal delay of median AckMedian
	// (capped at 90% of the time allowed).
	AckMedian time.Duration
	AckSigma  float64
	// A late answer comes a log-normal delay of median LateMedian after
	// the deadline.
	LateMedian time.Duration
	LateSigma  float64
	// ByDeputy is the share of actions done by the deputy rather than the
	// primary (when both are on duty).
	ByDeputy float64
}

// DefaultBehaviour: receipts 2–8 s after sending; 80% of posts answer in
// time, most within a minute (median 25 s, 95% by about 50 s); 12% answer
// a minute or two after the deadline; 8% never do.
func DefaultBehaviour() Behaviour {
	return Behaviour{Late: 0.12, Never: 0.08, ReceiptMin: 2 * time.Second, ReceiptMax: 8 * time.Second,
		AckMedian: 25 * time.Second, AckSigma: 0.45, LateMedian: 75 * time.Second, LateSigma: 0.6, ByDeputy: 0.25}
}

// Outcome is how a post answers one alert.
type Outcome string

const (
	OnTime Outcome = "on_time" // acknowledges before the deadline
	Late   Outcome = "late"    // acknowledges after the deadline
	Never  Outcome = "never"   // shows the alert and never acknowledges
)

// Kinds of action.
const (
	ActReceipt = "receipt"
	ActAck     = "acknowledge"
)

// Action is one thing a simulated officer will do.
type Action struct {
	At       time.Time
	Kind     string // ActReceipt or ActAck
	AlertID  string
	PostID   string
	PostCode string
	Outcome  Outcome // the post's plan for this alert
	Deputy   bool    // the deputy acts, if on duty
	attempt  int
}

// NewLife returns the simulated officers; Run them.
func NewLife(d LifeDeps, o LifeOptions) *Life {
	if o.Behaviour == (Behaviour{}) {
		o.Behaviour = DefaultBehaviour()
	}
	if o.PollEvery <= 0 {
		o.PollEvery = time.Second
	}
	if o.ResumeWindow <= 0 {
		o.ResumeWindow = time.Hour
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Life{d: d, o: o, log: log.With("component", "demo life"), after: o.After,
		pending: map[string]int{}, ended: map[string]bool{}, wake: make(chan struct{}, 1)}
}

// Run simulates until ctx ends. It wakes when the outbox may have news
// (Poke, NOTIFY on PostgreSQL, and at the latest every PollEvery), when the
// next action is due, and when a test clock is moved.
func (l *Life) Run(ctx context.Context) {
	l.log.Info("simulated duty officers are at their posts", "after", l.o.After)
	go l.d.DB.Listen(ctx, events.Channel, l.Poke, l.log)
	tick := time.NewTicker(l.o.PollEvery)
	defer tick.Stop()
	for {
		changed := l.d.Clock.Changed()
		next, err := l.Step(ctx)
		if err != nil && ctx.Err() == nil {
			l.log.Warn("demo life step failed; retrying", "err", err)
		}
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(max(0, next.Sub(l.d.Clock.Now())))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-l.wake:
		case <-tick.C:
		case <-changed:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// Poke wakes Life to read the outbox (non-blocking): chain it to the
// app's outbox commits (events.Appender.AlsoWake) so a local commit is
// read at once; NOTIFY does it for other processes' commits on PostgreSQL.
func (l *Life) Poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Step reads new alert events, then does every action due by the clock's
// now, and returns when the next one is due (zero: none queued). Run calls
// it in a loop; tests call it directly after moving a fake clock.
func (l *Life) Step(ctx context.Context) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sys := auth.With(ctx, auth.System("demo"))
	var errs []error
	if !l.resumed {
		if err := l.resume(sys); err != nil {
			errs = append(errs, fmt.Errorf("pick up open alerts: %w", err))
		} else {
			l.resumed = true
		}
	}
	if err := l.poll(sys); err != nil {
		errs = append(errs, fmt.Errorf("read the outbox: %w", err))
	}
	l.runDue(sys)
	var next time.Time
	if len(l.queue) > 0 {
		next = l.queue[0].At
	}
	return next, errors.Join(errs...)
}

// Pending lists the queued actions, soonest first.
func (l *Life) Pending() []Action {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Action, len(l.queue))
	for i, a := range l.queue {
		out[i] = *a
	}
	sort.Slice(out, func(i, j int) bool { return out[i].before(&out[j]) })
	return out
}

// resume plans the open alerts sent within ResumeWindow.
func (l *Life) resume(ctx context.Context) error {
	since := l.d.Clock.Now().Add(-l.o.ResumeWindow)
	cursor := ""
	for {
		als, next, err := l.d.Alerts.List(ctx, alert.ListOptions{State: alert.StateOpen, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, al := range als {
			if al.CreatedAt.Before(since) {
				continue
			}
			if err := l.track(ctx, al.ID); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

const outboxBatch = 500

// poll reads the alert events committed after l.after. Positions are
// handed out under a lock held to commit (package events), so every row
// at or below the committed head is already visible: reading up to the
// head and moving there skips nothing.
func (l *Life) poll(ctx context.Context) error {
	var head int64
	if err := l.d.DB.QueryRow(ctx, "SELECT pos FROM outbox_head WHERE id = 1").Scan(&head); err != nil {
		return err
	}
	for l.after < head {
		rows, err := l.d.DB.Query(ctx, `SELECT pos, type, payload FROM outbox WHERE pos > ? AND pos <= ? AND type IN (?, ?, ?)
			ORDER BY pos LIMIT ?`, l.after, head, events.TypeAlertCreated, events.TypeAlertCancelled, events.TypeAlertClosed, outboxBatch)
		if err != nil {
			return err
		}
		type ev struct {
			pos     int64
			typ     string
			payload string
		}
		var evs []ev
		for rows.Next() {
			var e ev
			if err := rows.Scan(&e.pos, &e.typ, &e.payload); err != nil {
				rows.Close()
				return err
			}
			evs = append(evs, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, e := range evs {
			var al struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(e.payload), &al); err != nil || al.ID == "" {
				l.log.Warn("unreadable alert event in the outbox; skipped", "pos", e.pos, "err", err)
			} else if e.typ == events.TypeAlertCreated {
				if err := l.track(ctx, al.ID); err != nil {
					return err
				}
			} else if l.pending[al.ID] > 0 {
				l.ended[al.ID] = true
				l.log.Debug("alert ended; its simulated officers stand down", "alert", al.ID, "event", e.typ)
			}
			l.after = e.pos
		}
		if len(evs) < outboxBatch {
			l.after = head
		}
	}
	return nil
}

// track plans the simulated answers to one alert, unless already planned.
func (l *Life) track(ctx context.Context, alertID string) error {
	if l.pending[alertID] > 0 {
		return nil
	}
	al, err := l.d.Alerts.Get(ctx, alertID)
	if apperr.Is(err, apperr.KindNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	// The engine records who was on duty a moment after the alert commits;
	// if it has not yet, ask the rosters the same question for the send time.
	var unrecorded []string
	for _, d := range al.Deliveries {
		if !d.OnDutyRecorded {
			unrecorded = append(unrecorded, d.PostID)
		}
	}
	if len(unrecorded) > 0 {
		m, err := l.d.Duty.OnDutySystem(ctx, l.d.DB, unrecorded, al.CreatedAt)
		if err != nil {
			return err
		}
		for i := range al.Deliveries {
			d := &al.Deliveries[i]
			if d.OnDutyRecorded {
				continue
			}
			for _, e := range m[d.PostID] {
				d.OnDuty = append(d.OnDuty, alert.OnDuty{PersonID: e.PersonID, Name: e.Name.EN, UserID: e.UserID, Login: e.Login, Slot: string(e.Slot)})
			}
		}
	}
	if al.State != alert.StateOpen {
		return nil
	}
	for _, a := range l.Plan(al) {
		l.push(&a)
	}
	return nil
}

// Plan draws what the officers of each addressed post will do about al
// (with its deliveries): a receipt, and an acknowledgement unless the post
// never answers. A post where nobody was on duty when the alert was sent
// gets nothing: nobody is there to answer. It is a pure function of the
// seed, the alert and its deliveries.
func (l *Life) Plan(al *alert.Alert) []Action {
	b := l.o.Behaviour
	window := al.DeadlineAt.Sub(al.CreatedAt)
	var out []Action
	for _, d := range al.Deliveries {
		if len(d.OnDuty) == 0 {
			continue
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%d|%s", al.CreatedAt.UnixMicro(), d.PostCode)
		r := rand.New(rand.NewPCG(l.o.Seed, h.Sum64()))
		// Always the same draws in the same order, whatever the outcome.
		u := r.Float64()
		receipt := b.ReceiptMin + time.Duration(r.Float64()*float64(b.ReceiptMax-b.ReceiptMin))
		inTime := logNormal(r, b.AckMedian, b.AckSigma)
		after := logNormal(r, b.LateMedian, b.LateSigma)
		deputy := r.Float64() < b.ByDeputy

		outcome := OnTime
		switch {
		case u < b.Never:
			outcome = Never
		case u < b.Never+b.Late:
			outcome = Late
		}
		rAt := clock.Norm(al.CreatedAt.Add(receipt))
		base := Action{AlertID: al.ID, PostID: d.PostID, PostCode: d.PostCode, Outcome: outcome, Deputy: deputy}
		rc := base
		rc.Kind, rc.At = ActReceipt, rAt
		out = append(out, rc)
		var ackAt time.Time
		switch outcome {
		case OnTime:
			ackAt = al.CreatedAt.Add(min(inTime, window*9/10))
		case Late:
			ackAt = al.DeadlineAt.Add(time.Second + after)
		default:
			continue
		}
		if !ackAt.After(rAt) {
			ackAt = rAt.Add(time.Second)
		}
		ack := base
		ack.Kind, ack.At = ActAck, clock.Norm(ackAt)
		out = append(out, ack)
	}
	return out
}

func logNormal(r *rand.Rand, median time.Duration, sigma float64) time.Duration {
	return time.Duration(float64(median) * math.Exp(sigma*r.NormFloat64()))
}

func (l *Life) push(a *Action) {
	heap.Push(&l.queue, a)
	l.pending[a.AlertID]++
}

// done forgets an action taken off the queue.
func (l *Life) done(a *Action) {
	if l.pending[a.AlertID]--; l.pending[a.AlertID] <= 0 {
		delete(l.pending, a.AlertID)
		delete(l.ended, a.AlertID)
	}
}

// runDue does every action due now, soonest first.
func (l *Life) runDue(ctx context.Context) {
	now := l.d.Clock.Now()
	var due []*Action
	for len(l.queue) > 0 && !l.queue[0].At.After(now) {
		due = append(due, heap.Pop(&l.queue).(*Action))
	}
	fresh := map[string]*alert.Alert{} // each alert read once per step
	for _, a := range due {
		l.do(ctx, a, now, fresh)
		l.done(a)
	}
}

func (l *Life) do(ctx context.Context, a *Action, now time.Time, fresh map[string]*alert.Alert) {
	if l.ended[a.AlertID] {
		return
	}
	al, ok := fresh[a.AlertID]
	if !ok {
		var err error
		al, err = l.d.Alerts.Get(ctx, a.AlertID)
		if apperr.Is(err, apperr.KindNotFound) {
			return
		} else if err != nil {
			l.retry(a, now, err)
			return
		}
		fresh[a.AlertID] = al
	}
	if al.State != alert.StateOpen {
		return
	}
	var d *alert.Delivery
	for i := range al.Deliveries {
		if al.Deliveries[i].PostID == a.PostID {
			d = &al.Deliveries[i]
		}
	}
	switch {
	case d == nil:
		return
	case d.AckedAt != nil, a.Kind == ActReceipt && d.DeliveredAt != nil:
		l.log.Debug("already done at the post", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode)
		return
	}
	userID, login, err := l.officer(ctx, d, a.Deputy, now)
	if err != nil {
		l.retry(a, now, err)
		return
	}
	if userID == "" {
		l.log.Debug("nobody on duty to act at the post", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode)
		return
	}
	act, err := l.d.Users.ActorForUser(ctx, userID)
	if apperr.Is(err, apperr.KindNotFound) || apperr.Is(err, apperr.KindUnauthorized) {
		l.log.Debug("the officer on duty cannot sign in", "post", a.PostCode, "login", login)
		return
	} else if err != nil {
		l.retry(a, now, err)
		return
	}
	actx := auth.With(ctx, act)
	if a.Kind == ActReceipt {
		_, err = l.d.Alerts.Receipt(actx, a.AlertID, a.PostID, alert.ChannelSimulation)
	} else {
		var ack *alert.Ack
		if ack, err = l.d.Alerts.Acknowledge(actx, a.AlertID, a.PostID, alert.ChannelSimulation); err == nil && ack.Late {
			l.log.Debug("acknowledged late", "alert", a.AlertID, "post", a.PostCode, "login", login)
		}
	}
	var ae *apperr.Error
	switch {
	case err == nil:
		l.log.Debug("simulated officer acted", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode, "login", login,
			"after", now.Sub(al.CreatedAt).Round(time.Millisecond), "outcome", a.Outcome)
	case errors.As(err, &ae) && ae.Kind != apperr.KindUnavailable:
		// Refused for a reason that will not pass (the alert ended, the
		// officer may not act there): the officer gives up.
		if ae.Kind == apperr.KindConflict {
			l.ended[a.AlertID] = true
		}
		l.log.Debug("simulated action refused", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode, "login", login, "err", err)
	default:
		l.retry(a, now, err)
	}
}

// officer picks who acts at the delivery's post: a person on duty there
// now with a user (the deputy if asked and there, else the primary, else
// anyone), else one who was on duty when the alert was sent (they too may
// acknowledge). "" when there is nobody.
func (l *Life) officer(ctx context.Context, d *alert.Delivery, deputy bool, now time.Time) (userID, login string, err error) {
	m, err := l.d.Duty.OnDutySystem(ctx, l.d.DB, []string{d.PostID}, now)
	if err != nil {
		return "", "", err
	}
	type cand struct{ user, login, slot string }
	var now1, sent []cand
	for _, e := range m[d.PostID] {
		now1 = append(now1, cand{e.UserID, e.Login, string(e.Slot)})
	}
	for _, e := range d.OnDuty {
		sent = append(sent, cand{e.UserID, e.Login, e.Slot})
	}
	want := string(duty.Primary)
	if deputy {
		want = string(duty.Deputy)
	}
	for _, cs := range [][]cand{now1, sent} {
		for _, pass := range []bool{true, false} {
			for _, c := range cs {
				if c.user != "" && (!pass || c.slot == want) {
					return c.user, c.login, nil
				}
			}
		}
	}
	return "", "", nil
}

const maxAttempts = 3

// retry queues an action again after a failure that may pass (the store
// was busy or unreachable).
func (l *Life) retry(a *Action, now time.Time, err error) {
	if a.attempt++; a.attempt >= maxAttempts {
		l.log.Warn("simulated action failed; given up", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode, "err", err)
		return
	}
	l.log.Debug("simulated action failed; retrying", "action", a.Kind, "alert", a.AlertID, "post", a.PostCode, "err", err)
	b := *a
	b.At = now.Add(time.Duration(a.attempt) * 5 * time.Second)
	l.push(&b)
}

func (a *Action) before(b *Action) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	if a.Kind != b.Kind {
		return a.Kind == ActReceipt
	}
	if a.PostCode != b.PostCode {
		return a.PostCode < b.PostCode
	}
	return a.AlertID < b.AlertID
}

// actionQueue is a min-heap of actions by time.
type actionQueue []*Action

func (q actionQueue) Len() int           { return len(q) }
func (q actionQueue) Less(i, j int) bool { return q[i].before(q[j]) }
func (q actionQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *actionQueue) Push(x any)        { *q = append(*q, x.(*Action)) }
func (q *actionQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}
