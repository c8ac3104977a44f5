package alert

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Ack is an acknowledgement as the API answers it.
type Ack struct {
	DeliveryID string    `json:"delivery_id"`
	AlertID    string    `json:"alert_id"`
	PostID     string    `json:"post_id"`
	AckedAt    time.Time `json:"acked_at"`
	AckedBy    *Person   `json:"acked_by"`
	Channel    string    `json:"ack_channel"`
	Late       bool      `json:"late"`
	// Repeated is true when this answer is the first acknowledgement,
	// returned again; nothing was written.
	Repeated bool `json:"repeated"`
}

func notOnDuty(post string) error {
	return apperr.Forbidden("not-on-duty", "only a person on duty at post "+post+
		", a person this alert's escalation reached, or a token bound to that post may acknowledge for it")
}

// mayAcknowledge applies the rule of who may acknowledge for the post.
func (s *Store) mayAcknowledge(ctx context.Context, tx *db.Tx, a *auth.Actor, d *Delivery, now time.Time) (bool, error) {
	if a.Kind == auth.KindToken {
		return a.TokenPostID != "" && a.TokenPostID == d.PostID, nil
	}
	if a.Kind == auth.KindSystem || a.PersonID == "" {
		return false, nil
	}
	for _, od := range d.OnDuty {
		if od.PersonID == a.PersonID {
			return true, nil
		}
	}
	if s.roster != nil {
		ok, err := s.roster.IsOnDuty(ctx, tx, a.PersonID, d.PostID, now)
		if err != nil || ok {
			return ok, err
		}
	}
	var n int
	err := tx.QueryRowPrepared(ctx, "SELECT COUNT(*) FROM delivery_steps WHERE delivery_id = ? AND kind = 'reached' AND person_id = ?", d.ID, a.PersonID).Scan(&n)
	return n > 0, err
}

func channelFor(a *auth.Actor, asked string) (string, error) {
	switch {
	case a.Kind == auth.KindToken:
		return ChannelAPI, nil
	case asked == "" || asked == ChannelWeb:
		return ChannelWeb, nil
	case asked == ChannelEmail || asked == ChannelSimulation:
		return asked, nil
	}
	return "", apperr.Invalid(apperr.FieldError{Field: "channel", Code: "invalid_channel", Message: "web, email or simulation"})
}

// Acknowledge records that post postID (an id or code) has the alert. It is
// accepted while the alert is open, also after the deadline, after
// escalation and after "missed" (then marked late), and it stops escalation.
// A repeated acknowledgement answers the first one and writes nothing.
func (s *Store) Acknowledge(ctx context.Context, alertID, postID, channel string) (*Ack, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to acknowledge")
	}
	ch, err := channelFor(a, channel)
	if err != nil {
		return nil, err
	}
	var out *Ack
	err = s.small(ctx, func(tx *db.Tx) error {
		out = nil
		now := s.clock.Now()
		d, al, ok, err := s.deliveryToAnswer(ctx, tx, a, alertID, postID, now)
		if err != nil {
			return err
		}
		// Who may acknowledge is checked before anything else, a repeat
		// included: a click at the centre must never even look like an
		// answer from the post.
		if !ok && !(d.AckedAt != nil && a.UserID != "" && d.ackedByUser == a.UserID) {
			return notOnDuty(d.PostCode)
		}
		if d.AckedAt != nil {
			out = ackOf(d)
			out.Repeated = true
			return nil
		}
		if al.State != StateOpen {
			return apperr.Conflict("alert-"+al.State, "the alert is "+al.State+"; it can no longer be acknowledged")
		}
		late := now.After(al.DeadlineAt) || d.State == DEscalated || d.State == DMissed
		login := a.Login
		if _, err := tx.ExecPrepared(ctx, `UPDATE deliveries SET state = ?, acked_at = ?, acked_by_user = ?, acked_by_login = ?, acked_by_person = ?,
			ack_channel = ?, late = ?, due_at = NULL, updated_at = ? WHERE id = ?`,
			DAcknowledged, now, nullable(a.UserID), login, nullable(a.PersonID), ch, late, now, d.ID); err != nil {
			return err
		}
		if err := step(ctx, tx, d, now, "acknowledged", -1, ch, a.PersonID, login, ""); err != nil {
			return err
		}
		d.State, d.AckedAt, d.AckChannel, d.Late = DAcknowledged, &now, ch, late
		d.AckedBy = &Person{Login: &login}
		if login == "" {
			d.AckedBy.Login = nil
		}
		d.DueAt, d.UpdatedAt = nil, now
		if err := s.announce(ctx, tx, d); err != nil {
			return err
		}
		summary := fmt.Sprintf("acknowledged alert %q for post %s via %s", al.Title, d.PostCode, ch)
		if late {
			summary += " (late)"
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{Action: "alert.ack", ObjectType: "delivery", ObjectID: d.ID, Summary: summary,
			After: map[string]any{"alert_id": al.ID, "post": d.PostCode, "channel": ch, "late": late}}); err != nil {
			return err
		}
		out = ackOf(d)
		return nil
	})
	return out, err
}

func ackOf(d *Delivery) *Ack {
	return &Ack{DeliveryID: d.ID, AlertID: d.AlertID, PostID: d.PostID, AckedAt: *d.AckedAt, AckedBy: d.AckedBy, Channel: d.AckChannel, Late: d.Late}
}

// deliveryToAnswer loads and locks the delivery and tells whether the
// caller may acknowledge for its post (asked once: it may query the rosters
// and the timeline). A caller who may neither acknowledge nor see the
// delivery gets NotFound (its existence is not disclosed); whoever may
// acknowledge — e.g. a person from another body whom an escalation step
// reached — may see it.
func (s *Store) deliveryToAnswer(ctx context.Context, tx *db.Tx, a *auth.Actor, alertID, postID string, now time.Time) (*Delivery, *Alert, bool, error) {
	d, al, err := deliveryFor(ctx, tx, alertID, postID)
	if err != nil {
		return nil, nil, false, err
	}
	may, err := s.mayAcknowledge(ctx, tx, a, d, now)
	if err != nil || may {
		return d, al, may, err
	}
	v, err := scopeOf(a)
	if err != nil {
		return nil, nil, false, err
	}
	if !v.all {
		cond, args := v.deliveryFilter()
		var n int
		if err := tx.QueryRowPrepared(ctx, "SELECT COUNT(*) FROM deliveries d WHERE d.id = ? AND "+cond, append([]any{d.ID}, args...)...).Scan(&n); err != nil {
			return nil, nil, false, err
		}
		if n == 0 {
			return nil, nil, false, apperr.NotFound("alert")
		}
	}
	return d, al, false, nil
}

// DeliveryByID returns the alert id and post id of a delivery (for routes
// addressed by delivery id).
func (s *Store) DeliveryByID(ctx context.Context, id string) (alertID, postID string, err error) {
	err = s.db.QueryRow(ctx, "SELECT alert_id, post_id FROM deliveries WHERE id = ?", id).Scan(&alertID, &postID)
	if err != nil {
		return "", "", apperr.NotFound("delivery")
	}
	return alertID, postID, nil
}

// Receipt records that a terminal of someone who may acknowledge for the
// post has shown the alert. Centre screens never mark deliveries: a receipt
// from anyone who may not acknowledge is refused like an acknowledgement.
// via names the channel: web, api, email (250 reply), webhook (2xx).
func (s *Store) Receipt(ctx context.Context, alertID, postID, via string) (*Delivery, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in")
	}
	if a.Kind == auth.KindToken {
		via = ChannelAPI
	} else if via == "" {
		via = ChannelWeb
	}
	var out *Delivery
	err := s.small(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		d, _, ok, err := s.deliveryToAnswer(ctx, tx, a, alertID, postID, now)
		if err != nil {
			return err
		}
		if a.Kind != auth.KindSystem && !ok {
			return notOnDuty(d.PostCode)
		}
		out = d
		if d.DeliveredAt != nil {
			return nil
		}
		state := d.State
		if state == DPending {
			state = DDelivered
		}
		if _, err := tx.Exec(ctx, "UPDATE deliveries SET state = ?, delivered_at = ?, delivered_via = ?, updated_at = ? WHERE id = ?",
			state, now, via, now, d.ID); err != nil {
			return err
		}
		if err := step(ctx, tx, d, now, "delivered", -1, via, a.PersonID, a.Login, ""); err != nil {
			return err
		}
		d.State, d.DeliveredAt, d.DeliveredVia, d.UpdatedAt = state, &now, via, now
		return s.announce(ctx, tx, d)
	})
	return out, err
}

// ConfirmByPhone lets the centre record that it reached the post by phone:
// escalation stops, and reports show it apart from acknowledgements.
func (s *Store) ConfirmByPhone(ctx context.Context, alertID, postID, note string) (*Delivery, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in")
	}
	if _, err := s.Get(ctx, alertID); err != nil {
		return nil, err // not visible: not disclosed
	}
	if !a.IsCentre() {
		return nil, apperr.Forbidden("", "only the centre's duty officers record phone confirmations")
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, apperr.Invalid(apperr.FieldError{Field: "note", Code: "required", Message: "say whom you spoke to"})
	}
	var out *Delivery
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		d, al, err := deliveryFor(ctx, tx, alertID, postID)
		if err != nil {
			return err
		}
		if al.State != StateOpen {
			return apperr.Conflict("alert-"+al.State, "the alert is "+al.State)
		}
		out = d
		if d.AckedAt != nil || d.PhoneAt != nil {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE deliveries SET phone_at = ?, phone_by = ?, phone_note = ?, due_at = NULL, updated_at = ? WHERE id = ?",
			now, a.Label(), note, now, d.ID); err != nil {
			return err
		}
		if err := step(ctx, tx, d, now, "confirmed_by_phone", -1, "phone", a.PersonID, a.Login, note); err != nil {
			return err
		}
		d.PhoneAt, d.PhoneBy, d.PhoneNote, d.DueAt, d.UpdatedAt = &now, a.Label(), note, nil, now
		if err := s.announce(ctx, tx, d); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "alert.phone_confirm", ObjectType: "delivery", ObjectID: d.ID,
			Summary: fmt.Sprintf("post %s confirmed by phone for alert %q", d.PostCode, al.Title), After: map[string]any{"note": note}})
	})
	return out, err
}

// Cancel withdraws an open alert: every pending timer stops in the same
// transaction, unacknowledged deliveries become cancelled, and the
// cancellation reaches every addressed post.
func (s *Store) Cancel(ctx context.Context, alertID, comment string) (*Alert, error) {
	return s.end(ctx, alertID, StateCancelled, comment)
}

// Close ends an open alert with a comment: timers stop; deliveries keep
// their state (a silent post stays visible as such in the record).
func (s *Store) Close(ctx context.Context, alertID, comment string) (*Alert, error) {
	return s.end(ctx, alertID, StateClosed, comment)
}

func (s *Store) end(ctx context.Context, alertID, state, comment string) (*Alert, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in")
	}
	if _, err := s.Get(ctx, alertID); err != nil {
		return nil, err
	}
	if !canSend(a) {
		return nil, apperr.Forbidden("", "only the centre's duty officers cancel or close alerts")
	}
	comment = strings.TrimSpace(comment)
	if state == StateClosed && comment == "" {
		return nil, apperr.Invalid(apperr.FieldError{Field: "comment", Code: "required", Message: "say why the alert is closed"})
	}
	var out *Alert
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		al, err := scanAlert(tx.QueryRow(ctx, "SELECT "+alertCols+" FROM alerts a WHERE a.id = ?", alertID))
		if err != nil {
			return err
		}
		if al.State != StateOpen {
			return apperr.Conflict("alert-"+al.State, "the alert is already "+al.State)
		}
		if _, err := tx.Exec(ctx, "UPDATE alerts SET state = ?, ended_at = ?, ended_by = ?, end_comment = ? WHERE id = ?",
			state, now, a.Label(), comment, alertID); err != nil {
			return err
		}
		if state == StateCancelled {
			if _, err := tx.Exec(ctx, "UPDATE deliveries SET state = ?, due_at = NULL, updated_at = ? WHERE alert_id = ? AND state <> ?",
				DCancelled, now, alertID, DAcknowledged); err != nil {
				return err
			}
		} else if _, err := tx.Exec(ctx, "UPDATE deliveries SET due_at = NULL, updated_at = ? WHERE alert_id = ? AND due_at IS NOT NULL", now, alertID); err != nil {
			return err
		}
		al.State, al.EndedAt, al.EndedBy, al.EndComment = state, &now, a.Label(), comment
		typ := events.TypeAlertClosed
		if state == StateCancelled {
			typ = events.TypeAlertCancelled
		}
		if _, err := s.out.Append(ctx, tx, events.Event{Type: typ, Audience: events.AudienceAlert(al.ID), Payload: al}); err != nil {
			return err
		}
		if s.notify != nil {
			if err := s.notify.Ended(ctx, tx, al); err != nil {
				return fmt.Errorf("queue notifications: %w", err)
			}
		}
		out = al
		return s.audit.Record(ctx, tx, audit.Entry{Action: map[string]string{StateCancelled: "alert.cancel", StateClosed: "alert.close"}[state],
			ObjectType: "alert", ObjectID: al.ID, Summary: fmt.Sprintf("alert %q %s: %s", al.Title, state, comment),
			Before: map[string]any{"state": StateOpen}, After: map[string]any{"state": state, "comment": comment}})
	})
	return out, err
}

// step appends to a delivery's timeline.
func step(ctx context.Context, tx *db.Tx, d *Delivery, at time.Time, kind string, level int, channel, personID, login, detail string) error {
	_, err := tx.ExecPrepared(ctx, `INSERT INTO delivery_steps (delivery_id, alert_id, at, kind, level, channel, person_id, login, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, d.ID, d.AlertID, at, kind, level, channel, nullable(personID), login, detail)
	return err
}

// announce writes delivery.updated for the centre and the post's people.
func (s *Store) announce(ctx context.Context, tx *db.Tx, d *Delivery) error {
	_, err := s.out.Append(ctx, tx, deliveryEvent(d))
	return err
}

// deliveryEvent is the delivery.updated event of d (without its timeline).
func deliveryEvent(d *Delivery) events.Event {
	c := *d
	c.Steps = nil
	return events.Event{Type: events.TypeDeliveryUpdated, Audience: events.AudiencePost(d.PostID), Payload: c}
}
