package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Store is the alert service.
type Store struct {
	db     *db.DB
	clock  clock.Clock
	audit  *audit.Log
	out    *events.Appender
	roster Roster
	notify Notifier
	group  *db.Group // acknowledgements and receipts commit in groups when set
	wake   func()    // wakes the engine after a commit that set timers
}

// SetGroup makes acknowledgements and receipts share transactions (group
// commit); g.Run must be running.
func (s *Store) SetGroup(g *db.Group) { s.group = g }

// small runs a short write: in a group commit when configured, else alone.
func (s *Store) small(ctx context.Context, fn func(tx *db.Tx) error) error {
	if s.group != nil {
		return s.group.Do(ctx, fn)
	}
	return s.db.RunInTx(ctx, fn)
}

// SetNotifier plugs in the off-line channels (built after the store).
func (s *Store) SetNotifier(n Notifier) { s.notify = n }

// New returns the alert service. wake may be nil.
func New(d *db.DB, c clock.Clock, a *audit.Log, out *events.Appender, r Roster) *Store {
	return &Store{db: d, clock: c, audit: a, out: out, roster: r, wake: func() {}}
}

// SetWake sets the function that wakes the engine after commits that change
// timers (the engine is built after the store).
func (s *Store) SetWake(f func()) { s.wake = f }

// Limits of an alert.
const (
	MaxTitle      = 200
	MaxBody       = 20000
	MinAckWithin  = 30
	MaxAckWithin  = 7 * 24 * 3600
	maxInsertRows = 400
)

func validate(in *NewAlert) error {
	var f apperr.Fields
	in.Title = strings.TrimSpace(in.Title)
	switch {
	case in.Title == "":
		f.Add("title", "required", "a title is required")
	case utf8.RuneCountInString(in.Title) > MaxTitle:
		f.Add("title", "too_long", "at most %d characters", MaxTitle)
	}
	if utf8.RuneCountInString(in.Body) > MaxBody {
		f.Add("body", "too_long", "at most %d characters", MaxBody)
	}
	switch in.Priority {
	case Routine, Urgent, Flash:
	case "":
		in.Priority = Routine
	default:
		f.Add("priority", "invalid_priority", "routine, urgent or flash")
	}
	if in.AckWithinSeconds < MinAckWithin || in.AckWithinSeconds > MaxAckWithin {
		f.Add("ack_within_seconds", "out_of_range", "from %d seconds to 7 days", MinAckWithin)
	}
	t := in.Targets
	if !t.All && len(t.States) == 0 && len(t.MinistryKinds) == 0 && len(t.Posts) == 0 {
		f.Add("targets", "required", `address the alert: {"all": true} or states, ministry_kinds, posts`)
	}
	if t.All && (len(t.States) > 0 || len(t.MinistryKinds) > 0 || len(t.Posts) > 0) {
		f.Add("targets", "conflicting_targets", `"all" cannot be combined with other targets`)
	}
	return f.Err()
}

// target is a post an alert may reach.
type target struct {
	id, code, stateID, stateCode, kind, ministry string
	active                                       bool
	why                                          string // why an explicitly named post is excluded
}

// activePosts loads every post with whether it may receive alerts today:
// active post, and (for a member state's post) an active state whose status
// in force is "active". Loading all posts and filtering in Go keeps one
// query for 10,000 posts and one place for the rule.
func activePosts(ctx context.Context, q db.Querier, now time.Time) ([]target, error) {
	today := now.Format("2006-01-02")
	rows, err := q.Query(ctx, `SELECT p.id, p.code, COALESCE(p.state_id, ''), COALESCE(s.code, ''), p.kind, p.ministry_kind,
		CASE WHEN p.active_to IS NOT NULL AND p.active_to <= ? THEN 'post archived'
		     WHEN p.state_id IS NULL THEN ''
		     WHEN s.active_to IS NOT NULL AND s.active_to <= ? THEN 'member state archived'
		     ELSE COALESCE((SELECT st.status FROM member_state_statuses st WHERE st.state_id = p.state_id AND st.valid_from <= ?
		                    ORDER BY st.valid_from DESC LIMIT 1), '') END
		FROM posts p LEFT JOIN member_states s ON s.id = p.state_id ORDER BY p.code`, now, now, today)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []target
	for rows.Next() {
		var t target
		var why string
		if err := rows.Scan(&t.id, &t.code, &t.stateID, &t.stateCode, &t.kind, &t.ministry, &why); err != nil {
			return nil, err
		}
		switch why {
		case "", "active":
			t.active = true
		case "suspended", "withdrawn":
			t.why = "member state " + why
		default:
			t.why = why
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Resolution is the outcome of addressing: who will be reached and who not.
type Resolution struct {
	Posts    []target
	Excluded []Excluded
	Unknown  []string
}

// Excluded is a post named or matched that will not be reached, and why.
type Excluded struct {
	PostID string `json:"post_id"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// resolve applies targets to the posts: (states ∩ ministry kinds) ∪ posts,
// active ones only, the sender excluded.
func resolve(all []target, t Targets, senderPostID string) Resolution {
	var r Resolution
	states := map[string]bool{}
	for _, s := range t.States {
		states[strings.ToUpper(strings.TrimSpace(s))] = true
	}
	kinds := map[string]bool{}
	for _, k := range t.MinistryKinds {
		kinds[strings.TrimSpace(k)] = true
	}
	named := map[string]bool{}
	for _, p := range t.Posts {
		named[strings.TrimSpace(p)] = true
	}
	found := map[string]bool{}
	for _, p := range all {
		byName := named[p.id] || named[p.code]
		if byName {
			found[p.id], found[p.code] = true, true
		}
		matched := t.All || byName
		if !matched && (len(states) > 0 || len(kinds) > 0) {
			matched = (len(states) == 0 || states[p.stateCode] || states[p.stateID]) &&
				(len(kinds) == 0 || kinds[p.ministry])
		}
		if !matched {
			continue
		}
		switch {
		case p.id == senderPostID:
			if byName {
				r.Excluded = append(r.Excluded, Excluded{p.id, p.code, "the sending post"})
			}
		case !p.active:
			r.Excluded = append(r.Excluded, Excluded{p.id, p.code, p.why})
		default:
			r.Posts = append(r.Posts, p)
		}
	}
	for n := range named {
		if !found[n] {
			r.Unknown = append(r.Unknown, n)
		}
	}
	slices.Sort(r.Unknown)
	return r
}

// senderPost is the centre post the sender acts from: the centre post where
// the sender is on duty, else the first centre post (by code).
func (s *Store) senderPost(ctx context.Context, q db.Querier, a *auth.Actor, now time.Time) (string, error) {
	if a.TokenPostID != "" {
		return a.TokenPostID, nil
	}
	rows, err := q.Query(ctx, "SELECT id FROM posts WHERE kind = 'centre' AND (active_to IS NULL OR active_to > ?) ORDER BY code", now)
	if err != nil {
		return "", err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return "", err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) == 0 {
		return "", nil
	}
	if a.PersonID != "" && s.roster != nil {
		for _, id := range ids {
			if ok, err := s.roster.IsOnDuty(ctx, q, a.PersonID, id, now); err == nil && ok {
				return id, nil
			}
		}
	}
	return ids[0], nil
}

// canSend: centre roles send alerts (and the system: scheduled checks).
func canSend(a *auth.Actor) bool {
	return a != nil && (a.IsCentre() || a.Kind == auth.KindSystem)
}

// Preview tells, without sending, which posts the targets reach, which are
// excluded and why, and which have nobody on duty now.
type Preview struct {
	Recipients  int        `json:"recipients"`
	Posts       []PostInfo `json:"posts"`
	Excluded    []Excluded `json:"excluded"`
	Unknown     []string   `json:"unknown"`
	NobodyCount int        `json:"nobody_on_duty"`
}

// PostInfo is a reached post in a preview.
type PostInfo struct {
	ID           string   `json:"id"`
	Code         string   `json:"code"`
	NobodyOnDuty bool     `json:"nobody_on_duty"`
	OnDuty       []OnDuty `json:"on_duty"`
}

// Preview resolves targets for the composer.
func (s *Store) Preview(ctx context.Context, t Targets) (*Preview, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to send alerts")
	}
	if !canSend(a) {
		return nil, apperr.Forbidden("", "only the centre's duty officers send alerts")
	}
	now := s.clock.Now()
	all, err := activePosts(ctx, s.db, now)
	if err != nil {
		return nil, err
	}
	sender, err := s.senderPost(ctx, s.db, a, now)
	if err != nil {
		return nil, err
	}
	r := resolve(all, t, sender)
	ids := make([]string, len(r.Posts))
	for i, p := range r.Posts {
		ids[i] = p.id
	}
	duty := map[string][]OnDuty{}
	if s.roster != nil && len(ids) > 0 {
		if duty, err = s.roster.OnDutyAt(ctx, s.db, ids, now); err != nil {
			return nil, err
		}
	}
	p := &Preview{Recipients: len(r.Posts), Excluded: r.Excluded, Unknown: r.Unknown, Posts: make([]PostInfo, 0, len(r.Posts))}
	if p.Excluded == nil {
		p.Excluded = []Excluded{}
	}
	if p.Unknown == nil {
		p.Unknown = []string{}
	}
	for _, t := range r.Posts {
		od := duty[t.id]
		if od == nil {
			od = []OnDuty{}
		}
		pi := PostInfo{ID: t.id, Code: t.code, OnDuty: od, NobodyOnDuty: len(od) == 0}
		if pi.NobodyOnDuty {
			p.NobodyCount++
		}
		p.Posts = append(p.Posts, pi)
	}
	return p, nil
}

// Send sends an alert: one transaction writes it, its deliveries with who is
// on duty, their first timers, one outbox event and one audit entry.
func (s *Store) Send(ctx context.Context, in NewAlert) (*Alert, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to send alerts")
	}
	if !canSend(a) {
		return nil, apperr.Forbidden("", "only the centre's duty officers send alerts")
	}
	if err := validate(&in); err != nil {
		return nil, err
	}
	targetsJSON, _ := json.Marshal(in.Targets)
	var out *Alert
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		if in.Corrects != "" {
			var st string
			err := tx.QueryRow(ctx, "SELECT state FROM alerts WHERE id = ?", in.Corrects).Scan(&st)
			if err == sql.ErrNoRows {
				return apperr.Invalid(apperr.FieldError{Field: "corrects", Code: "unknown_alert", Message: "no such alert to correct"})
			} else if err != nil {
				return err
			}
		}
		all, err := activePosts(ctx, tx, now)
		if err != nil {
			return err
		}
		sender, err := s.senderPost(ctx, tx, a, now)
		if err != nil {
			return err
		}
		r := resolve(all, in.Targets, sender)
		if len(r.Unknown) > 0 {
			return apperr.Invalid(apperr.FieldError{Field: "targets.posts", Code: "unknown_post",
				Message: "unknown posts: " + strings.Join(r.Unknown, ", ")})
		}
		if len(r.Posts) == 0 {
			return &apperr.Error{Kind: apperr.KindInvalid, Type: "no-recipients",
				Detail: "the targets reach no active post of an active member state",
				Fields: []apperr.FieldError{{Field: "targets", Code: "no_recipients", Message: "no active post matches"}}}
		}
		ids := make([]string, len(r.Posts))
		for i, p := range r.Posts {
			ids[i] = p.id
		}
		al := &Alert{ID: db.NewID(), Title: in.Title, Body: in.Body, Priority: in.Priority, Exercise: in.Exercise,
			AckWithinSeconds: in.AckWithinSeconds, DeadlineAt: now.Add(time.Duration(in.AckWithinSeconds) * time.Second),
			Targets: in.Targets, Recipients: len(ids), State: StateOpen, CreatedAt: now, CreatedBy: a.Label(),
			CaseID: nullable(in.CaseID), CheckID: nullable(in.CheckID), Corrects: nullable(in.Corrects), SenderPostID: nullable(sender)}
		if _, err := tx.Exec(ctx, `INSERT INTO alerts (id, title, body, priority, exercise, ack_within_seconds, deadline_at, case_id,
			check_id, corrects_id, sender_post_id, targets, recipients, state, created_at, created_by, created_by_user)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			al.ID, al.Title, al.Body, al.Priority, al.Exercise, al.AckWithinSeconds, al.DeadlineAt, al.CaseID,
			al.CheckID, al.Corrects, al.SenderPostID, string(targetsJSON), al.Recipients, al.State, now, al.CreatedBy, nullable(a.UserID)); err != nil {
			return err
		}
		dids, err := insertDeliveries(ctx, tx, al, ids, now)
		if err != nil {
			return err
		}
		scope := events.Scope{Posts: make(map[string]bool, len(r.Posts)), States: map[string]bool{}}
		for _, p := range r.Posts {
			scope.Posts[p.id] = true
			if p.stateID != "" {
				scope.States[p.stateID] = true
			}
		}
		s.out.Prime(events.AudienceAlert(al.ID), scope)
		if _, err := s.out.Append(ctx, tx, events.Event{Type: events.TypeAlertCreated, Audience: events.AudienceAlert(al.ID), Payload: al}); err != nil {
			return err
		}
		summary := fmt.Sprintf("%s alert %q to %d posts", al.Priority, al.Title, al.Recipients)
		if al.Exercise {
			summary = "EXERCISE: " + summary
		}
		if err := s.audit.Record(ctx, tx, audit.Entry{Action: "alert.send", ObjectType: "alert", ObjectID: al.ID, Summary: summary,
			After: map[string]any{"title": al.Title, "priority": al.Priority, "exercise": al.Exercise, "targets": al.Targets,
				"recipients": al.Recipients, "excluded": r.Excluded, "deadline_at": al.DeadlineAt}}); err != nil {
			return err
		}
		tx.AfterCommit(s.wake)
		// The answer carries the deliveries as written (the event above
		// was encoded without them), so the caller need not read 10,000
		// rows back.
		al.Deliveries = make([]Delivery, len(ids))
		dl := al.DeadlineAt
		for i, p := range r.Posts {
			al.Deliveries[i] = Delivery{ID: dids[i], AlertID: al.ID, PostID: p.id, PostCode: p.code, State: DPending,
				OnDuty: []OnDuty{}, DueAt: &dl, UpdatedAt: now}
		}
		al.Counts = map[string]int{DPending: len(ids)}
		out = al
		return nil
	})
	return out, err
}

// insertDeliveries writes one delivery per post in multi-row statements,
// due at the deadline (level 1). Who was on duty at the send time is
// recorded by the engine right after commit (on_duty = ” until then), and
// a post with nobody on duty is escalated to level 1 at that moment. Doing
// that after commit keeps the roster lookup for thousands of posts off the
// path between "send" and the alert reaching every screen; the alert and
// its resolved recipients are committed before any subscriber hears of it.
func insertDeliveries(ctx context.Context, tx *db.Tx, al *Alert, ids []string, now time.Time) ([]string, error) {
	const cols = 6
	dids := make([]string, len(ids))
	for start := 0; start < len(ids); start += maxInsertRows {
		end := min(start+maxInsertRows, len(ids))
		var b strings.Builder
		b.WriteString("INSERT INTO deliveries (id, alert_id, post_id, state, on_duty, due_at, updated_at) VALUES ")
		args := make([]any, 0, (end-start)*cols)
		for i, pid := range ids[start:end] {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?, ?, ?, ?, '', ?, ?)")
			dids[start+i] = db.NewID()
			args = append(args, dids[start+i], al.ID, pid, DPending, al.DeadlineAt, now)
		}
		if _, err := tx.ExecPrepared(ctx, b.String(), args...); err != nil {
			return nil, fmt.Errorf("insert deliveries: %w", err)
		}
	}
	return dids, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
