package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Who sees what. Alerts are operational: the centre roles see every alert and
// delivery, and so does the administrator (read only: an admin never
// acknowledges). Anyone else sees an alert only if it addresses a post in
// their scope (a post grant, or a state grant covering the post's state), and
// then only the deliveries of those posts. Other global roles (planner,
// press, viewer, auditor) see no alerts: the names of officers on duty in
// another state are not theirs to read.

type viewScope struct {
	all    bool
	posts  []string
	states []string
}

func scopeOf(a *auth.Actor) (viewScope, error) {
	if a == nil {
		return viewScope{}, apperr.Unauthorized("sign in to see alerts")
	}
	if a.IsCentre() || a.IsAdmin() || a.Kind == auth.KindSystem {
		return viewScope{all: true}, nil
	}
	var v viewScope
	for _, g := range a.Grants {
		switch g.ScopeKind {
		case auth.ScopePost:
			v.posts = append(v.posts, g.ScopeID)
		case auth.ScopeState:
			v.states = append(v.states, g.ScopeID)
		}
	}
	return v, nil
}

// deliveryFilter returns an SQL condition on deliveries alias d (and its
// arguments) limiting rows to the scope.
func (v viewScope) deliveryFilter() (string, []any) {
	if v.all {
		return "1=1", nil
	}
	var parts []string
	var args []any
	if len(v.posts) > 0 {
		parts = append(parts, "d.post_id IN ("+ph(len(v.posts))+")")
		for _, p := range v.posts {
			args = append(args, p)
		}
	}
	if len(v.states) > 0 {
		parts = append(parts, "d.post_id IN (SELECT id FROM posts WHERE state_id IN ("+ph(len(v.states))+"))")
		for _, s := range v.states {
			args = append(args, s)
		}
	}
	if len(parts) == 0 {
		return "1=0", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}

func ph(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

const alertCols = `a.id, a.title, a.body, a.priority, a.exercise, a.ack_within_seconds, a.deadline_at, a.case_id, a.check_id,
	a.corrects_id, a.sender_post_id, a.targets, a.recipients, a.state, a.created_at, a.created_by, a.ended_at, a.ended_by, a.end_comment`

func scanAlert(sc interface{ Scan(...any) error }) (*Alert, error) {
	var al Alert
	var caseID, checkID, corr, sender sql.NullString
	var targets string
	var ended sql.NullTime
	if err := sc.Scan(&al.ID, &al.Title, &al.Body, &al.Priority, &al.Exercise, &al.AckWithinSeconds, &al.DeadlineAt, &caseID, &checkID,
		&corr, &sender, &targets, &al.Recipients, &al.State, &al.CreatedAt, &al.CreatedBy, &ended, &al.EndedBy, &al.EndComment); err != nil {
		return nil, err
	}
	al.CaseID, al.CheckID, al.Corrects, al.SenderPostID = ns(caseID), ns(checkID), ns(corr), ns(sender)
	_ = json.Unmarshal([]byte(targets), &al.Targets)
	al.DeadlineAt, al.CreatedAt = al.DeadlineAt.UTC(), al.CreatedAt.UTC()
	if ended.Valid {
		t := ended.Time.UTC()
		al.EndedAt = &t
	}
	return &al, nil
}

func ns(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

func nt(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	u := t.Time.UTC()
	return &u
}

const deliveryCols = `d.id, d.alert_id, d.post_id, p.code, d.state, d.on_duty, d.delivered_at, d.delivered_via, d.acked_at,
	d.acked_by_login, d.ack_channel, d.late, d.phone_at, d.phone_by, d.phone_note, d.escalation_level, d.due_at, d.missed_at, d.updated_at,
	COALESCE(d.acked_by_user, '')`

func scanDelivery(sc interface{ Scan(...any) error }) (*Delivery, error) {
	var d Delivery
	var onDuty, ackLogin string
	var delivered, acked, phone, due, missed sql.NullTime
	if err := sc.Scan(&d.ID, &d.AlertID, &d.PostID, &d.PostCode, &d.State, &onDuty, &delivered, &d.DeliveredVia, &acked,
		&ackLogin, &d.AckChannel, &d.Late, &phone, &d.PhoneBy, &d.PhoneNote, &d.EscalationLevel, &due, &missed, &d.UpdatedAt, &d.ackedByUser); err != nil {
		return nil, err
	}
	d.OnDutyRecorded = onDuty != ""
	_ = json.Unmarshal([]byte(onDuty), &d.OnDuty)
	if d.OnDuty == nil {
		d.OnDuty = []OnDuty{}
	}
	d.DeliveredAt, d.AckedAt, d.PhoneAt, d.DueAt, d.MissedAt = nt(delivered), nt(acked), nt(phone), nt(due), nt(missed)
	if d.AckedAt != nil {
		l := ackLogin
		d.AckedBy = &Person{Login: &l}
		if l == "" {
			d.AckedBy.Login = nil
		}
	}
	d.UpdatedAt = d.UpdatedAt.UTC()
	return &d, nil
}

// Get returns an alert with the deliveries the caller may see (and their
// timelines). Outside the caller's scope: NotFound.
func (s *Store) Get(ctx context.Context, id string) (*Alert, error) {
	v, err := scopeOf(auth.From(ctx))
	if err != nil {
		return nil, err
	}
	al, err := scanAlert(s.db.QueryRow(ctx, "SELECT "+alertCols+" FROM alerts a WHERE a.id = ?", id))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("alert")
	} else if err != nil {
		return nil, err
	}
	cond, args := v.deliveryFilter()
	rows, err := s.db.Query(ctx, "SELECT "+deliveryCols+" FROM deliveries d JOIN posts p ON p.id = d.post_id WHERE d.alert_id = ? AND "+
		cond+" ORDER BY p.code", append([]any{id}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := map[string]int{}
	al.Deliveries = []Delivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		byID[d.ID] = len(al.Deliveries)
		al.Deliveries = append(al.Deliveries, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !v.all && len(al.Deliveries) == 0 {
		return nil, apperr.NotFound("alert")
	}
	if err := s.loadSteps(ctx, al, byID); err != nil {
		return nil, err
	}
	al.Counts = map[string]int{}
	for _, d := range al.Deliveries {
		al.Counts[d.State]++
	}
	return al, nil
}

func (s *Store) loadSteps(ctx context.Context, al *Alert, byID map[string]int) error {
	if len(byID) == 0 {
		return nil
	}
	rows, err := s.db.Query(ctx, "SELECT delivery_id, at, kind, level, channel, login, detail FROM delivery_steps WHERE alert_id = ? ORDER BY id", al.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var did string
		var st Step
		if err := rows.Scan(&did, &st.At, &st.Kind, &st.Level, &st.Channel, &st.Login, &st.Detail); err != nil {
			return err
		}
		st.At = st.At.UTC()
		if i, ok := byID[did]; ok {
			al.Deliveries[i].Steps = append(al.Deliveries[i].Steps, st)
		}
	}
	return rows.Err()
}

// ListOptions filter the alert list.
type ListOptions struct {
	State    string // open, cancelled, closed; "" = any
	Exercise *bool
	Limit    int
	Cursor   string // the id of the last alert of the previous page
}

// List returns alerts the caller may see, newest first, with counts of
// their visible deliveries by state.
func (s *Store) List(ctx context.Context, o ListOptions) ([]Alert, string, error) {
	v, err := scopeOf(auth.From(ctx))
	if err != nil {
		return nil, "", err
	}
	if o.Limit <= 0 || o.Limit > 500 {
		o.Limit = 100
	}
	var where []string
	var args []any
	if o.State != "" {
		where = append(where, "a.state = ?")
		args = append(args, o.State)
	}
	if o.Exercise != nil {
		where = append(where, "a.exercise = ?")
		args = append(args, *o.Exercise)
	}
	if o.Cursor != "" {
		where = append(where, "a.id < ?")
		args = append(args, o.Cursor)
	}
	if !v.all {
		cond, cargs := v.deliveryFilter()
		where = append(where, "EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND "+cond+")")
		args = append(args, cargs...)
	}
	q := "SELECT " + alertCols + " FROM alerts a"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY a.id DESC LIMIT ?"
	args = append(args, o.Limit+1)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	var out []Alert
	for rows.Next() {
		al, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, *al)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > o.Limit {
		out = out[:o.Limit]
		next = out[len(out)-1].ID
	}
	for i := range out {
		if out[i].Counts, err = s.counts(ctx, v, out[i].ID); err != nil {
			return nil, "", err
		}
	}
	if out == nil {
		out = []Alert{}
	}
	return out, next, nil
}

func (s *Store) counts(ctx context.Context, v viewScope, alertID string) (map[string]int, error) {
	cond, args := v.deliveryFilter()
	rows, err := s.db.Query(ctx, "SELECT d.state, COUNT(*) FROM deliveries d WHERE d.alert_id = ? AND "+cond+" GROUP BY d.state",
		append([]any{alertID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		m[st] = n
	}
	return m, rows.Err()
}

// deliveryFor loads the delivery of alert at post inside tx, locking it on
// PostgreSQL so concurrent acknowledgements of the same delivery serialise.
func deliveryFor(ctx context.Context, tx *db.Tx, alertID, postID string) (*Delivery, *Alert, error) {
	al, err := scanAlert(tx.QueryRowPrepared(ctx, "SELECT "+alertCols+" FROM alerts a WHERE a.id = ?", alertID))
	if err == sql.ErrNoRows {
		return nil, nil, apperr.NotFound("alert")
	} else if err != nil {
		return nil, nil, err
	}
	// Resolve the post first, so the delivery is found through its
	// (alert_id, post_id) index rather than by scanning the alert's
	// thousands of deliveries on every acknowledgement.
	var pid string
	if err := tx.QueryRowPrepared(ctx, "SELECT id FROM posts WHERE id = ? OR code = ?", postID, postID).Scan(&pid); err == sql.ErrNoRows {
		return nil, nil, apperr.NotFound("delivery of this alert to that post")
	} else if err != nil {
		return nil, nil, err
	}
	d, err := scanDelivery(tx.QueryRowPrepared(ctx, "SELECT "+deliveryCols+" FROM deliveries d JOIN posts p ON p.id = d.post_id WHERE d.alert_id = ? AND d.post_id = ?"+
		tx.ForUpdate("d"), alertID, pid))
	if err == sql.ErrNoRows {
		return nil, nil, apperr.NotFound("delivery of this alert to that post")
	} else if err != nil {
		return nil, nil, err
	}
	return d, al, nil
}
