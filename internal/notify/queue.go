package notify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Message is a queue row as the centre and administrators see it.
type Message struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	Target         string     `json:"target"`
	Purpose        string     `json:"purpose"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastError      string     `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	FirstAttemptAt *time.Time `json:"first_attempt_at"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	SentAt         *time.Time `json:"sent_at"`
	DeadAt         *time.Time `json:"dead_at"`
	AlertID        *string    `json:"alert_id"`
	AlertTitle     string     `json:"alert_title,omitempty"`
	DeliveryID     *string    `json:"delivery_id"`
	PersonID       *string    `json:"person_id"`
	WebhookID      *string    `json:"webhook_id"`
	WebhookName    string     `json:"webhook_name,omitempty"`
}

const messageCols = `o.id, o.kind, o.target, o.purpose, o.status, o.attempts, o.last_error, o.created_at, o.first_attempt_at,
	o.next_attempt_at, o.sent_at, o.dead_at, o.alert_id, COALESCE(a.title, ''), o.delivery_id, o.person_id, o.webhook_id, COALESCE(w.name, '')`

const messageFrom = ` FROM notify_outbound o LEFT JOIN alerts a ON a.id = o.alert_id LEFT JOIN webhooks w ON w.id = o.webhook_id`

func scanMessage(sc interface{ Scan(...any) error }) (*Message, error) {
	var m Message
	var first, next, sent, dead sql.NullTime
	var alertID, deliveryID, personID, webhookID sql.NullString
	if err := sc.Scan(&m.ID, &m.Kind, &m.Target, &m.Purpose, &m.Status, &m.Attempts, &m.LastError, &m.CreatedAt, &first, &next, &sent, &dead,
		&alertID, &m.AlertTitle, &deliveryID, &personID, &webhookID, &m.WebhookName); err != nil {
		return nil, err
	}
	m.CreatedAt = m.CreatedAt.UTC()
	m.FirstAttemptAt, m.NextAttemptAt, m.SentAt, m.DeadAt = ntime(first), ntime(next), ntime(sent), ntime(dead)
	if m.Status == StatusSent || m.Status == StatusDead {
		m.NextAttemptAt = nil
	}
	m.AlertID, m.DeliveryID, m.PersonID, m.WebhookID = nstr(alertID), nstr(deliveryID), nstr(personID), nstr(webhookID)
	return &m, nil
}

func ntime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

func nstr(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

// mayOperate: the queue holds people's addresses and the centre's traffic;
// centre roles and administrators only.
func mayOperate(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in")
	}
	if !a.IsCentre() && !a.IsAdmin() {
		return nil, apperr.Forbidden("", "only the centre and administrators see the notification queue")
	}
	return a, nil
}

// ListOptions page through messages.
type ListOptions struct {
	Kind   string // email, webhook; "" = both
	Limit  int    // default 100, at most 500
	Cursor string // the id of the last message of the previous page
}

// DeadLetters lists the messages given up after failing for 24 h, newest
// first, for the centre and administrators.
func (n *Notifier) DeadLetters(ctx context.Context, o ListOptions) ([]Message, string, error) {
	if _, err := mayOperate(ctx); err != nil {
		return nil, "", err
	}
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 100
	}
	where := []string{"o.status = 'dead'"} // a literal: the partial index notify_outbound_dead
	var args []any
	if o.Kind != "" {
		if o.Kind != KindEmail && o.Kind != KindWebhook {
			return nil, "", apperr.Invalid(apperr.FieldError{Field: "kind", Code: "invalid_kind", Message: "email or webhook"})
		}
		where = append(where, "o.kind = ?")
		args = append(args, o.Kind)
	}
	if o.Cursor != "" {
		where = append(where, "o.id < ?")
		args = append(args, o.Cursor)
	}
	args = append(args, o.Limit+1)
	rows, err := n.db.Query(ctx, "SELECT "+messageCols+messageFrom+" WHERE "+strings.Join(where, " AND ")+" ORDER BY o.id DESC LIMIT ?", args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *m)
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

// AlertMessages lists every e-mail and webhook call about an alert (alert
// detail page: who was e-mailed, what is still being retried).
func (n *Notifier) AlertMessages(ctx context.Context, alertID string) ([]Message, error) {
	if _, err := mayOperate(ctx); err != nil {
		return nil, err
	}
	rows, err := n.db.Query(ctx, "SELECT "+messageCols+messageFrom+" WHERE o.alert_id = ? ORDER BY o.id", alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Message{}
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *m)
	}
	return out, rows.Err()
}

// Retry gives a dead message a fresh start: due now, with another 24 h
// of retries. The id stays, so a receiver that did get an earlier attempt
// can still recognise it.
func (n *Notifier) Retry(ctx context.Context, id string) (*Message, error) {
	if _, err := mayOperate(ctx); err != nil {
		return nil, err
	}
	var out *Message
	err := n.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := n.clock.Now()
		m, err := scanMessage(tx.QueryRow(ctx, "SELECT "+messageCols+messageFrom+" WHERE o.id = ?"+tx.ForUpdate("o"), id))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFound("message")
		} else if err != nil {
			return err
		}
		if m.Status != StatusDead {
			return apperr.Conflict("not-dead", "only a dead message can be retried; this one is "+m.Status)
		}
		if m.WebhookID != nil {
			var active bool
			if err := tx.QueryRow(ctx, "SELECT active FROM webhooks WHERE id = ?", *m.WebhookID).Scan(&active); err != nil {
				return err
			}
			if !active {
				return apperr.Conflict("webhook-disabled", "the webhook of this message is disabled")
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE notify_outbound SET status = ?, attempts = 0, first_attempt_at = NULL, next_attempt_at = ?,
			dead_at = NULL, lease_owner = '' WHERE id = ?`, StatusPending, now, id); err != nil {
			return err
		}
		before := m.Status
		m.Status, m.Attempts, m.FirstAttemptAt, m.DeadAt, m.NextAttemptAt = StatusPending, 0, nil, nil, &now
		out = m
		if err := n.audit.Record(ctx, tx, audit.Entry{Action: "notify.retry", ObjectType: "notify_message", ObjectID: id,
			Summary: fmt.Sprintf("dead %s message retried (%s)", m.Kind, m.Purpose),
			Before:  map[string]any{"status": before, "last_error": m.LastError}, After: map[string]any{"status": StatusPending}}); err != nil {
			return err
		}
		return n.queued(ctx, tx)
	})
	return out, err
}
