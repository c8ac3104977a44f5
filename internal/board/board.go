package board

import (
	"context"
	"sort"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/duty"
	"sitroom/internal/presence"
)

// Limits on how many open alerts the board shows.
const (
	DefaultAlerts = 10
	MaxAlerts     = 50
)

// Store builds the board from the stores that own its parts.
type Store struct {
	clock    clock.Clock
	duty     *duty.Store
	alerts   *alert.Store
	presence *presence.Store
}

// New returns the board read model.
func New(c clock.Clock, d *duty.Store, a *alert.Store, p *presence.Store) *Store {
	return &Store{clock: c, duty: d, alerts: a, presence: p}
}

// Options tune a board read.
type Options struct {
	// Alerts is how many of the latest open alerts get a column
	// (default 10, at most 50).
	Alerts int
}

// Board is the situation board at an instant.
type Board struct {
	At time.Time `json:"at"`
	// ConnectedWindowSeconds: a post is connected while a heartbeat of it
	// is younger than this; a reader re-evaluates LastSeenAt against its
	// own clock between reads.
	ConnectedWindowSeconds int `json:"connected_window_seconds"`
	// Alerts are the latest open alerts the caller may see, newest first;
	// each post's Deliveries follow this order.
	Alerts  []OpenAlert    `json:"alerts"`
	Posts   []PostRow      `json:"posts"`
	Summary Summary        `json:"summary"`
	States  []StateSummary `json:"states"`
}

// OpenAlert is a column of the board.
type OpenAlert struct {
	ID         string         `json:"id"`
	Title      string         `json:"title"`
	Priority   alert.Priority `json:"priority"`
	Exercise   bool           `json:"exercise"`
	CreatedAt  time.Time      `json:"created_at"`
	DeadlineAt time.Time      `json:"deadline_at"`
	Recipients int            `json:"recipients"`
	// Counts are the deliveries the caller may see, by state.
	Counts map[string]int `json:"counts"`
}

// PostRow is one post of the board.
type PostRow struct {
	Post         duty.BoardPost     `json:"post"`
	OnDuty       []duty.OnDutyEntry `json:"on_duty"`
	NobodyOnDuty bool               `json:"nobody_on_duty"`
	Connected    bool               `json:"connected"`
	LastSeenAt   *time.Time         `json:"last_seen_at"` // latest heartbeat within the last day
	// Attention is the most urgent state of the post's deliveries in the
	// open alerts shown (missed, escalated, pending, delivered,
	// confirmed_by_phone, acknowledged), or "" when none addresses it.
	Attention  string `json:"attention"`
	Deliveries []Cell `json:"deliveries"`
}

// Cell is a post's delivery of one open alert.
type Cell struct {
	AlertID   string `json:"alert_id"`
	Addressed bool   `json:"addressed"`
	// The delivery, when addressed.
	DeliveryID       string     `json:"delivery_id,omitempty"`
	State            string     `json:"state,omitempty"`
	EscalationLevel  int        `json:"escalation_level"`
	Late             bool       `json:"late"`
	AckedAt          *time.Time `json:"acked_at"`
	ConfirmedByPhone bool       `json:"confirmed_by_phone"`
}

// Summary counts the posts of the board (or of one member state).
type Summary struct {
	Posts        int `json:"posts"`
	Connected    int `json:"connected"`
	NobodyOnDuty int `json:"nobody_on_duty"`
	// Attention counts posts by their Attention ("" as "none").
	Attention map[string]int `json:"attention"`
	// Deliveries counts the deliveries shown, by state.
	Deliveries map[string]int `json:"deliveries"`
}

// StateSummary is the summary of one member state's posts ("" for the
// organisation's own posts).
type StateSummary struct {
	State string `json:"state"`
	Summary
}

// attention ranks, most urgent first.
var ranks = map[string]int{
	alert.DMissed: 6, alert.DEscalated: 5, alert.DPending: 4, alert.DDelivered: 3,
	"confirmed_by_phone": 2, alert.DAcknowledged: 1,
}

// Board reads the board as the caller sees it.
func (s *Store) Board(ctx context.Context, o Options) (*Board, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see the situation board")
	}
	all := a.IsCentre() || a.IsAdmin()
	if !all && !hasScopedGrant(a) {
		return nil, apperr.Forbidden("board", "the situation board is for the centre and the posts' own people")
	}
	n := o.Alerts
	if n <= 0 {
		n = DefaultAlerts
	}
	if n > MaxAlerts {
		return nil, apperr.Invalid(apperr.FieldError{Field: "alerts", Code: "out_of_range", Message: "at most 50 alerts"})
	}
	now := clock.Norm(s.clock.Now())
	dn, err := s.duty.Board(ctx, now)
	if err != nil {
		return nil, err
	}
	seen, err := s.presence.States(ctx, now)
	if err != nil {
		return nil, err
	}
	open, _, err := s.alerts.List(ctx, alert.ListOptions{State: alert.StateOpen, Limit: n})
	if err != nil {
		return nil, err
	}
	b := &Board{At: now, ConnectedWindowSeconds: int(presence.Window / time.Second), Alerts: []OpenAlert{}, Posts: []PostRow{}}
	// deliveries[alert][post]
	deliveries := make([]map[string]alert.Delivery, 0, len(open))
	for _, al := range open {
		full, err := s.alerts.Get(ctx, al.ID)
		if apperr.Is(err, apperr.KindNotFound) {
			continue // ended or out of scope since the list was read
		} else if err != nil {
			return nil, err
		}
		m := make(map[string]alert.Delivery, len(full.Deliveries))
		for _, d := range full.Deliveries {
			m[d.PostID] = d
		}
		deliveries = append(deliveries, m)
		counts := al.Counts
		if counts == nil {
			counts = map[string]int{}
		}
		b.Alerts = append(b.Alerts, OpenAlert{ID: al.ID, Title: al.Title, Priority: al.Priority, Exercise: al.Exercise,
			CreatedAt: al.CreatedAt, DeadlineAt: al.DeadlineAt, Recipients: al.Recipients, Counts: counts})
	}
	b.Summary = newSummary()
	byState := map[string]*StateSummary{}
	for _, it := range dn.Items {
		if !all && !ownPost(a, it.Post.ID, it.Post.StateID) {
			continue
		}
		row := PostRow{Post: it.Post, OnDuty: it.OnDuty, NobodyOnDuty: len(it.OnDuty) == 0, Deliveries: make([]Cell, len(b.Alerts))}
		if row.OnDuty == nil {
			row.OnDuty = []duty.OnDutyEntry{}
		}
		if st, ok := seen[it.Post.ID]; ok {
			t := st.LastAt
			row.Connected, row.LastSeenAt = st.Connected, &t
		}
		for i, al := range b.Alerts {
			c := Cell{AlertID: al.ID}
			if d, ok := deliveries[i][it.Post.ID]; ok {
				c.Addressed, c.DeliveryID, c.State, c.EscalationLevel, c.Late, c.AckedAt = true, d.ID, d.State, d.EscalationLevel, d.Late, d.AckedAt
				c.ConfirmedByPhone = d.PhoneAt != nil
				key := d.State
				if c.ConfirmedByPhone && d.AckedAt == nil {
					key = "confirmed_by_phone"
				}
				if ranks[key] > ranks[row.Attention] {
					row.Attention = key
				}
			}
			row.Deliveries[i] = c
		}
		b.Posts = append(b.Posts, row)
		ss := byState[it.Post.State]
		if ss == nil {
			ss = &StateSummary{State: it.Post.State, Summary: newSummary()}
			byState[it.Post.State] = ss
		}
		b.Summary.add(row)
		ss.add(row)
	}
	b.States = make([]StateSummary, 0, len(byState))
	for _, ss := range byState {
		b.States = append(b.States, *ss)
	}
	sort.Slice(b.States, func(i, j int) bool { return b.States[i].State < b.States[j].State })
	return b, nil
}

func newSummary() Summary {
	return Summary{Attention: map[string]int{}, Deliveries: map[string]int{}}
}

func (s *Summary) add(r PostRow) {
	s.Posts++
	if r.Connected {
		s.Connected++
	}
	if r.NobodyOnDuty {
		s.NobodyOnDuty++
	}
	att := r.Attention
	if att == "" {
		att = "none"
	}
	s.Attention[att]++
	for _, c := range r.Deliveries {
		if c.Addressed {
			s.Deliveries[c.State]++
		}
	}
}

// hasScopedGrant: the actor holds a role for a member state or a post.
func hasScopedGrant(a *auth.Actor) bool {
	for _, g := range a.Grants {
		if g.ScopeKind == auth.ScopePost || g.ScopeKind == auth.ScopeState {
			return true
		}
	}
	return false
}

// ownPost: one of the actor's scoped grants covers the post.
func ownPost(a *auth.Actor, postID, stateID string) bool {
	for _, g := range a.Grants {
		switch {
		case g.ScopeKind == auth.ScopePost && g.ScopeID == postID:
			return true
		case g.ScopeKind == auth.ScopeState && stateID != "" && g.ScopeID == stateID:
			return true
		}
	}
	return false
}
