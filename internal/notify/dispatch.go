package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Dispatcher turns new outbox events into webhook calls: for every active
// webhook it reads the events after the webhook's cursor, queues one
// outbound row per matching event and moves the cursor, all in one
// transaction, so an event is queued exactly once per webhook whatever
// crashes. The outbox hands out positions in commit order (see package
// events), so a cursor never skips an event committed late.
//
// What a webhook receives: one bound to a post gets the events whose
// audience covers that post (all; post:<its post>; alert:<id> when the
// alert addresses its post, resolved through the deliveries); one without a
// post gets every event of every post and alert. No webhook gets events
// meant for one user or for the centre only (a surprise readiness check must
// not leak before it fires). The event type filter applies on top.
type Dispatcher struct {
	n   *Notifier
	log *slog.Logger
	// Batch is how many outbox rows one transaction reads.
	Batch int
	// SafetyTick is the fallback wake-up for events whose writers cannot
	// poke this process (on SQLite the app should chain PokeDispatcher to
	// outbox commits; on PostgreSQL NOTIFY wakes it).
	SafetyTick time.Duration
	queued     prometheus.Counter
}

// dispatchLock is the advisory-lock key of the dispatcher: one replica
// moves the cursors.
const dispatchLock = 7301006

// NewDispatcher returns the dispatcher of n. reg may be nil.
func NewDispatcher(n *Notifier, log *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	d := &Dispatcher{n: n, log: log, Batch: 500, SafetyTick: 2 * time.Second,
		queued: prometheus.NewCounter(prometheus.CounterOpts{Name: "sitroom_webhook_calls_queued_total",
			Help: "Webhook calls queued from outbox events."})}
	if reg != nil {
		reg.MustRegister(d.queued)
	}
	return d
}

// Run dispatches until ctx ends, while this replica holds the lock.
func (d *Dispatcher) Run(ctx context.Context) {
	d.n.db.Leader(ctx, dispatchLock, d.log, "webhook dispatcher", d.loop)
}

func (d *Dispatcher) loop(ctx context.Context) {
	go d.n.db.Listen(ctx, events.Channel, d.n.PokeDispatcher, d.log)
	t := time.NewTicker(d.SafetyTick)
	defer t.Stop()
	for {
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("webhook dispatcher failed; retrying", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.n.dispatchWake:
		case <-t.C:
		}
	}
}

// Tick queues webhook calls for every outbox event not yet dispatched and
// returns how many calls it queued.
func (d *Dispatcher) Tick(ctx context.Context) (int, error) {
	total := 0
	for {
		read, queued, err := d.batch(ctx)
		total += queued
		if err != nil || read < d.Batch {
			return total, err
		}
	}
}

type hook struct {
	id, post, url string
	types         map[string]bool
	cursor        int64
}

type outboxRow struct {
	pos      int64
	at       time.Time
	typ      string
	audience string
	payload  string
	alertID  string
	exercise *bool
}

// Envelope is the JSON body of a webhook call.
type Envelope struct {
	ID       string          `json:"id"` // the Sitroom-Event-Id: the same on every retry
	Type     string          `json:"type"`
	Position int64           `json:"position"` // the outbox position: order events by it
	At       time.Time       `json:"at"`
	Exercise bool            `json:"exercise"`
	Data     json.RawMessage `json:"data"`
}

func (d *Dispatcher) batch(ctx context.Context) (read, queued int, err error) {
	n := d.n
	err = n.db.RunInTx(ctx, func(tx *db.Tx) error {
		read, queued = 0, 0
		hooks, err := activeHooks(ctx, tx)
		if err != nil || len(hooks) == 0 {
			return err
		}
		from := hooks[0].cursor
		for _, h := range hooks {
			from = min(from, h.cursor)
		}
		evs, err := readOutbox(ctx, tx, from, d.Batch)
		if err != nil || len(evs) == 0 {
			return err
		}
		read = len(evs)
		last := evs[len(evs)-1].pos
		for _, h := range hooks {
			if h.cursor < evs[0].pos-1 {
				d.log.Warn("webhook missed events the outbox no longer keeps", "webhook", h.id, "from", h.cursor+1, "to", evs[0].pos-1)
			}
		}
		// Set-based lookups: the alerts the events are about, and for
		// post-bound webhooks which of those alerts address their posts.
		alertIDs := map[string]bool{}
		for i := range evs {
			e := &evs[i]
			var p struct {
				ID       string `json:"id"`
				AlertID  string `json:"alert_id"`
				Exercise *bool  `json:"exercise"`
			}
			_ = json.Unmarshal([]byte(e.payload), &p)
			e.alertID, e.exercise = p.AlertID, p.Exercise
			if kind, id, _ := strings.Cut(e.audience, ":"); kind == "alert" {
				e.alertID = id
			} else if strings.HasPrefix(e.typ, "alert.") && p.ID != "" {
				e.alertID = p.ID
			}
			if e.alertID != "" {
				alertIDs[e.alertID] = true
			}
		}
		exercise, err := alertsExercise(ctx, tx, alertIDs)
		if err != nil {
			return err
		}
		var posts []string
		for _, h := range hooks {
			if h.post != "" {
				posts = append(posts, h.post)
			}
		}
		addressed, err := deliveriesOf(ctx, tx, alertIDs, posts)
		if err != nil {
			return err
		}
		now := n.clock.Now()
		var out []outRow
		for _, e := range evs {
			kind, id, _ := strings.Cut(e.audience, ":")
			ex, known := exercise[e.alertID]
			if e.exercise != nil {
				ex = *e.exercise
			}
			for _, h := range hooks {
				if e.pos <= h.cursor || (len(h.types) > 0 && !h.types[e.typ]) {
					continue
				}
				deliveryID := ""
				switch {
				case kind == "user" || kind == "centre":
					// Personal events stay personal; centre-only ones
					// (e.g. a surprise check before it fires) never leave
					// the system.
					continue
				case h.post == "":
					if kind != "all" && kind != "post" && kind != "alert" {
						continue
					}
				case kind == "all":
				case kind == "post":
					if id != h.post {
						continue
					}
				case kind == "alert":
					did, ok := addressed[id+"|"+h.post]
					if !ok {
						continue
					}
					if e.typ == events.TypeAlertCreated {
						deliveryID = did
					}
				default:
					continue
				}
				r := outRow{id: db.NewID(), kind: KindWebhook, target: h.url, purpose: e.typ, webhookID: h.id, eventPos: e.pos, deliveryID: deliveryID}
				if known {
					r.alertID = e.alertID
				}
				body, err := json.Marshal(Envelope{ID: r.id, Type: e.typ, Position: e.pos, At: e.at, Exercise: ex, Data: json.RawMessage(e.payload)})
				if err != nil {
					return fmt.Errorf("webhook body of event %d: %w", e.pos, err)
				}
				r.payload = string(body)
				out = append(out, r)
			}
		}
		if len(out) > 0 {
			if err := insertRows(ctx, tx, out, now); err != nil {
				return err
			}
			if err := n.queued(ctx, tx); err != nil {
				return err
			}
		}
		for _, h := range hooks {
			if h.cursor < last {
				if _, err := tx.Exec(ctx, "UPDATE webhooks SET cursor_pos = ? WHERE id = ?", last, h.id); err != nil {
					return err
				}
			}
		}
		queued = len(out)
		return nil
	})
	if err == nil && queued > 0 {
		d.queued.Add(float64(queued))
	}
	return read, queued, err
}

func activeHooks(ctx context.Context, tx *db.Tx) ([]hook, error) {
	rows, err := tx.Query(ctx, "SELECT w.id, COALESCE(w.post_id, ''), w.url, w.event_types, w.cursor_pos FROM webhooks w WHERE w.active = TRUE ORDER BY w.id"+tx.ForUpdate("w"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hooks []hook
	for rows.Next() {
		var h hook
		var types string
		if err := rows.Scan(&h.id, &h.post, &h.url, &types, &h.cursor); err != nil {
			return nil, err
		}
		var ts []string
		_ = json.Unmarshal([]byte(types), &ts)
		if len(ts) > 0 {
			h.types = map[string]bool{}
			for _, t := range ts {
				h.types[t] = true
			}
		}
		hooks = append(hooks, h)
	}
	return hooks, rows.Err()
}

func readOutbox(ctx context.Context, tx *db.Tx, after int64, limit int) ([]outboxRow, error) {
	rows, err := tx.Query(ctx, "SELECT pos, at, type, audience, payload FROM outbox WHERE pos > ? ORDER BY pos LIMIT ?", after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.pos, &r.at, &r.typ, &r.audience, &r.payload); err != nil {
			return nil, err
		}
		r.at = r.at.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// alertsExercise returns the exercise flag of each existing alert of ids.
func alertsExercise(ctx context.Context, q db.Querier, ids map[string]bool) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(ids))
	for id := range ids {
		args = append(args, id)
	}
	rows, err := q.Query(ctx, "SELECT id, exercise FROM alerts WHERE id IN ("+ph(len(args))+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var ex bool
		if err := rows.Scan(&id, &ex); err != nil {
			return nil, err
		}
		out[id] = ex
	}
	return out, rows.Err()
}

// deliveriesOf maps "alertID|postID" to the delivery id, for the alerts and
// posts given.
func deliveriesOf(ctx context.Context, q db.Querier, alertIDs map[string]bool, posts []string) (map[string]string, error) {
	out := map[string]string{}
	if len(alertIDs) == 0 || len(posts) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(alertIDs)+len(posts))
	for id := range alertIDs {
		args = append(args, id)
	}
	for _, p := range posts {
		args = append(args, p)
	}
	rows, err := q.Query(ctx, "SELECT alert_id, post_id, id FROM deliveries WHERE alert_id IN ("+ph(len(alertIDs))+") AND post_id IN ("+ph(len(posts))+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var a, p, id string
		if err := rows.Scan(&a, &p, &id); err != nil {
			return nil, err
		}
		out[a+"|"+p] = id
	}
	return out, rows.Err()
}
