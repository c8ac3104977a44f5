package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// Kinds of outbound messages.
const (
	KindEmail   = "email"
	KindWebhook = "webhook"
)

// Statuses of outbound messages.
const (
	StatusPending = "pending"
	StatusSending = "sending"
	StatusSent    = "sent"
	StatusDead    = "dead"
)

// Purposes of e-mails (webhook rows carry the event type instead).
const (
	PurposeAlert      = "alert"
	PurposeEscalation = "escalation"
	PurposeEnded      = "ended"
)

// wakeChannel is the PostgreSQL NOTIFY channel that wakes the senders of
// every replica when a transaction queued rows.
const wakeChannel = "sitroom_notify"

// Options configure a Notifier.
type Options struct {
	// BaseURL is the public URL of the site; e-mail links start with it.
	BaseURL string
	// AckPath is the path of the confirmation page; the token follows it
	// (default "/ack/", so links are BaseURL/ack/<token>).
	AckPath string
	// LinkValidity is how long an e-mail link acknowledges after the
	// alert's deadline, or after the e-mail was queued if that is later
	// (escalations reach people after the deadline). Default 24 h.
	LinkValidity time.Duration
	// Email queues e-mails; leave it false when no SMTP server is
	// configured, so nothing piles up that no sender will ever take.
	Email bool
	// ActorForPerson returns the actor of the active user of a person, or
	// an error (apperr.NotFound) when the person has none. It is used to
	// acknowledge through a link and to record e-mail receipts in that
	// person's name. See PersonActor.
	ActorForPerson func(ctx context.Context, personID string) (*auth.Actor, error)
	Log            *slog.Logger
}

// Notifier queues e-mails (implementing alert.Notifier), keeps webhook
// subscriptions, verifies e-mail links and shows the dead letters.
type Notifier struct {
	db     *db.DB
	clock  clock.Clock
	audit  *audit.Log
	alerts *alert.Store
	opts   Options
	log    *slog.Logger
	links  *Links

	sendWake     chan struct{}
	dispatchWake chan struct{}
}

var _ alert.Notifier = (*Notifier)(nil)

// New returns the notifier and plugs it into alerts (alerts.SetNotifier),
// so that sends, escalations and ends queue their e-mails. It loads the
// link-signing key, creating it on first use.
func New(ctx context.Context, d *db.DB, c clock.Clock, a *audit.Log, alerts *alert.Store, o Options) (*Notifier, error) {
	if o.AckPath == "" {
		o.AckPath = "/ack/"
	}
	if o.LinkValidity <= 0 {
		o.LinkValidity = 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	links, err := NewLinks(ctx, d)
	if err != nil {
		return nil, err
	}
	n := &Notifier{db: d, clock: c, audit: a, alerts: alerts, opts: o, log: o.Log, links: links,
		sendWake: make(chan struct{}, 1), dispatchWake: make(chan struct{}, 1)}
	if alerts != nil {
		alerts.SetNotifier(n)
	}
	return n, nil
}

// Links returns the signer of e-mail links.
func (n *Notifier) Links() *Links { return n.links }

// PokeSender wakes the sender (non-blocking); called after commits that
// queued rows.
func (n *Notifier) PokeSender() {
	select {
	case n.sendWake <- struct{}{}:
	default:
	}
}

// PokeDispatcher wakes the webhook dispatcher (non-blocking); the app should
// call it after every outbox commit (the outbox appender pokes only the hub).
func (n *Notifier) PokeDispatcher() {
	select {
	case n.dispatchWake <- struct{}{}:
	default:
	}
}

// PersonActor adapts the users package (ActorForUser) to
// Options.ActorForPerson: a person has at most one user (users.person_id is
// unique); a person without an active user gets NotFound.
func PersonActor(d *db.DB, actorForUser func(ctx context.Context, userID string) (*auth.Actor, error)) func(ctx context.Context, personID string) (*auth.Actor, error) {
	return func(ctx context.Context, personID string) (*auth.Actor, error) {
		var uid string
		err := d.QueryRow(ctx, "SELECT id FROM users WHERE person_id = ? AND active = TRUE", personID).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, apperr.NotFound("user of this person")
		} else if err != nil {
			return nil, err
		}
		return actorForUser(ctx, uid)
	}
}

// outRow is a queue row to insert.
type outRow struct {
	id, kind, target, purpose, payload string
	alertID, deliveryID, personID      string
	webhookID                          string
	eventPos                           int64
}

const outCols = 13

// insertRows writes rows in multi-row statements (a 10,000-post alert is a
// few dozen statements, not 10,000). A webhook row whose (webhook, event)
// is already queued is skipped.
func insertRows(ctx context.Context, tx *db.Tx, rows []outRow, now time.Time) error {
	const per = 200
	for start := 0; start < len(rows); start += per {
		end := min(start+per, len(rows))
		var b strings.Builder
		b.WriteString(`INSERT INTO notify_outbound (id, kind, target, purpose, payload, status, next_attempt_at, created_at,
			alert_id, delivery_id, person_id, webhook_id, event_pos) VALUES `)
		args := make([]any, 0, (end-start)*outCols)
		for i, r := range rows[start:end] {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			var pos any
			if r.webhookID != "" {
				pos = r.eventPos
			}
			args = append(args, r.id, r.kind, r.target, r.purpose, r.payload, StatusPending, now, now,
				nullable(r.alertID), nullable(r.deliveryID), nullable(r.personID), nullable(r.webhookID), pos)
		}
		b.WriteString(" ON CONFLICT DO NOTHING")
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("queue messages: %w", err)
		}
	}
	return nil
}

// queued wakes the local sender after commit and every replica's sender
// through NOTIFY on PostgreSQL.
func (n *Notifier) queued(ctx context.Context, tx *db.Tx) error {
	tx.AfterCommit(n.PokeSender)
	return tx.Notify(ctx, wakeChannel)
}

// inThreshold is the most ids one IN list carries; beyond it the query
// reads every candidate row and filters in Go, so that a call stays one
// query whatever its size (SQLite caps bound parameters).
const inThreshold = 1000

// emailsOf returns the valid e-mail address of each person that has one,
// in one query.
func emailsOf(ctx context.Context, q db.Querier, ids []string) (map[string]string, error) {
	out := map[string]string{}
	if len(ids) == 0 {
		return out, nil
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	query := "SELECT id, email FROM people WHERE email <> ''"
	var args []any
	if len(want) <= inThreshold {
		query += " AND id IN (" + ph(len(want)) + ")"
		for id := range want {
			args = append(args, id)
		}
	}
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("e-mail addresses: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, err
		}
		if !want[id] {
			continue
		}
		if addr, err := mail.ParseAddress(strings.TrimSpace(email)); err == nil {
			out[id] = addr.Address
		}
	}
	return out, rows.Err()
}

// Sent queues the alert e-mail to every person on duty at each addressed
// post who has an e-mail address: one row per (delivery, person), each with
// its own acknowledgement link. Cost: one people query and a few multi-row
// inserts, whatever the number of posts.
func (n *Notifier) Sent(ctx context.Context, tx *db.Tx, al *alert.Alert, ds []alert.SentDelivery) error {
	tx.AfterCommit(n.PokeDispatcher)
	if !n.opts.Email {
		return nil
	}
	var ids []string
	for _, d := range ds {
		for _, od := range d.OnDuty {
			if od.PersonID != "" {
				ids = append(ids, od.PersonID)
			}
		}
	}
	emails, err := emailsOf(ctx, tx, ids)
	if err != nil {
		return err
	}
	var rows []outRow
	for _, d := range ds {
		seen := map[string]bool{}
		for _, od := range d.OnDuty {
			e := emails[od.PersonID]
			if e == "" || seen[od.PersonID] {
				continue
			}
			seen[od.PersonID] = true
			rows = append(rows, outRow{id: db.NewID(), kind: KindEmail, target: e, purpose: PurposeAlert, payload: "{}",
				alertID: al.ID, deliveryID: d.DeliveryID, personID: od.PersonID})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := insertRows(ctx, tx, rows, n.clock.Now()); err != nil {
		return err
	}
	return n.queued(ctx, tx)
}

// emailPayload is what an e-mail row keeps beside its links.
type emailPayload struct {
	Level int    `json:"level,omitempty"` // escalation level
	State string `json:"state,omitempty"` // ended: cancelled or closed
	Ref   string `json:"ref,omitempty"`   // ended: the id of the first e-mail about the alert (threading)
}

// Escalated queues an e-mail to each person an escalation level reached who
// has an e-mail address.
func (n *Notifier) Escalated(ctx context.Context, tx *db.Tx, alertID, deliveryID, postID string, level int, people []alert.Recipient) error {
	tx.AfterCommit(n.PokeDispatcher)
	if !n.opts.Email || len(people) == 0 {
		return nil
	}
	ids := make([]string, 0, len(people))
	for _, p := range people {
		if p.PersonID != "" {
			ids = append(ids, p.PersonID)
		}
	}
	emails, err := emailsOf(ctx, tx, ids)
	if err != nil {
		return err
	}
	payload, _ := json.Marshal(emailPayload{Level: level})
	var rows []outRow
	seen := map[string]bool{}
	for _, p := range people {
		e := emails[p.PersonID]
		if e == "" || seen[p.PersonID] {
			continue
		}
		seen[p.PersonID] = true
		rows = append(rows, outRow{id: db.NewID(), kind: KindEmail, target: e, purpose: PurposeEscalation, payload: string(payload),
			alertID: alertID, deliveryID: deliveryID, personID: p.PersonID})
	}
	if len(rows) == 0 {
		return nil
	}
	if err := insertRows(ctx, tx, rows, n.clock.Now()); err != nil {
		return err
	}
	return n.queued(ctx, tx)
}

// Ended queues one cancellation or closing e-mail to every address that was
// e-mailed about the alert (once per person and address, whatever the
// number of posts they were e-mailed for). Webhooks hear of the end through
// the outbox event the alert package writes in the same transaction.
func (n *Notifier) Ended(ctx context.Context, tx *db.Tx, al *alert.Alert) error {
	tx.AfterCommit(n.PokeDispatcher)
	if !n.opts.Email {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT COALESCE(person_id, ''), target, MIN(id) FROM notify_outbound
		WHERE alert_id = ? AND kind = ? AND purpose IN (?, ?) GROUP BY person_id, target`, al.ID, KindEmail, PurposeAlert, PurposeEscalation)
	if err != nil {
		return fmt.Errorf("who was e-mailed: %w", err)
	}
	var out []outRow
	for rows.Next() {
		var person, target, ref string
		if err := rows.Scan(&person, &target, &ref); err != nil {
			rows.Close()
			return err
		}
		payload, _ := json.Marshal(emailPayload{State: al.State, Ref: ref})
		out = append(out, outRow{id: db.NewID(), kind: KindEmail, target: target, purpose: PurposeEnded, payload: string(payload),
			alertID: al.ID, personID: person})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	if err := insertRows(ctx, tx, out, n.clock.Now()); err != nil {
		return err
	}
	return n.queued(ctx, tx)
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func ph(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }
