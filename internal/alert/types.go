package alert

import (
	"context"
	"time"

	"sitroom/internal/db"
)

// Priority of an alert.
type Priority string

const (
	Routine Priority = "routine"
	Urgent  Priority = "urgent"
	Flash   Priority = "flash"
)

// State of an alert.
const (
	StateOpen      = "open"
	StateCancelled = "cancelled"
	StateClosed    = "closed"
)

// Delivery states.
const (
	DPending      = "pending"
	DDelivered    = "delivered"
	DAcknowledged = "acknowledged"
	DEscalated    = "escalated"
	DMissed       = "missed"
	DCancelled    = "cancelled"
)

// Acknowledgement channels.
const (
	ChannelWeb        = "web"
	ChannelAPI        = "api"
	ChannelEmail      = "email"
	ChannelWebhook    = "webhook"
	ChannelSimulation = "simulation"
)

// Targets address an alert: {"all": true} or any of states, ministry kinds
// and posts (codes or ids), resolved once at send time to
// (states ∩ ministry kinds) ∪ posts, active posts of active member states.
type Targets struct {
	All           bool     `json:"all,omitempty"`
	States        []string `json:"states,omitempty"`
	MinistryKinds []string `json:"ministry_kinds,omitempty"`
	Posts         []string `json:"posts,omitempty"`
}

// NewAlert is what a sender gives.
type NewAlert struct {
	Title            string   `json:"title"`
	Body             string   `json:"body"`
	Priority         Priority `json:"priority"`
	AckWithinSeconds int      `json:"ack_within_seconds"`
	Exercise         bool     `json:"exercise"`
	CaseID           string   `json:"case_id,omitempty"`
	Corrects         string   `json:"corrects,omitempty"`
	Targets          Targets  `json:"targets"`
	// CheckID is set by the readiness-check scheduler, not by API callers.
	CheckID string `json:"-"`
}

// Person is a login-able person as shown on a delivery.
type Person struct {
	Login *string `json:"login"`
}

// OnDuty is a person on duty at a post when the alert was sent.
type OnDuty struct {
	PersonID string `json:"person_id"`
	Name     string `json:"name"`
	UserID   string `json:"user_id,omitempty"`
	Login    string `json:"login,omitempty"`
	Slot     string `json:"slot"`
}

// Delivery is an alert's life at one post.
type Delivery struct {
	ID       string   `json:"id"`
	AlertID  string   `json:"alert_id"`
	PostID   string   `json:"post_id"`
	PostCode string   `json:"post_code"`
	State    string   `json:"state"`
	OnDuty   []OnDuty `json:"on_duty"`
	// OnDutyRecorded is false for the moment between the alert's commit and
	// the engine recording who was on duty at the send time.
	OnDutyRecorded  bool       `json:"on_duty_recorded"`
	DeliveredAt     *time.Time `json:"delivered_at"`
	DeliveredVia    string     `json:"delivered_via"`
	AckedAt         *time.Time `json:"acked_at"`
	AckedBy         *Person    `json:"acked_by"`
	AckChannel      string     `json:"ack_channel"`
	Late            bool       `json:"late"`
	PhoneAt         *time.Time `json:"confirmed_by_phone_at"`
	PhoneBy         string     `json:"confirmed_by_phone_by,omitempty"`
	PhoneNote       string     `json:"confirmed_by_phone_note,omitempty"`
	EscalationLevel int        `json:"escalation_level"`
	DueAt           *time.Time `json:"next_step_at"`
	MissedAt        *time.Time `json:"missed_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	Steps           []Step     `json:"steps,omitempty"`

	ackedByUser string // who acknowledged (user id), for the repeat rule
}

// Step is one entry of a delivery's timeline.
type Step struct {
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"` // notified, escalated, delivered, acknowledged, confirmed_by_phone, missed, cancelled
	Level   int       `json:"level"`
	Channel string    `json:"channel,omitempty"`
	Login   string    `json:"login,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Alert is a sent alert. Events carry it without deliveries.
type Alert struct {
	ID               string     `json:"id"`
	Title            string     `json:"title"`
	Body             string     `json:"body"`
	Priority         Priority   `json:"priority"`
	Exercise         bool       `json:"exercise"`
	AckWithinSeconds int        `json:"ack_within_seconds"`
	DeadlineAt       time.Time  `json:"deadline_at"`
	CaseID           *string    `json:"case_id"`
	CheckID          *string    `json:"check_id,omitempty"`
	Corrects         *string    `json:"corrects"`
	SenderPostID     *string    `json:"sender_post_id"`
	Targets          Targets    `json:"targets"`
	Recipients       int        `json:"recipients"`
	State            string     `json:"state"`
	CreatedAt        time.Time  `json:"created_at"`
	CreatedBy        string     `json:"created_by"`
	EndedAt          *time.Time `json:"ended_at,omitempty"`
	EndedBy          string     `json:"ended_by,omitempty"`
	EndComment       string     `json:"end_comment,omitempty"`
	Deliveries       []Delivery `json:"deliveries,omitempty"`
	// Counts summarise deliveries by state (lists and board).
	Counts map[string]int `json:"counts,omitempty"`
}

// Recipient is a person an escalation level reaches.
type Recipient struct {
	PersonID string
	UserID   string
	Login    string
	Name     string
	Email    string
	Phone    string
}

// Level is one step of a post's escalation path as it applies now.
type Level struct {
	Exists bool
	// After is how long after the previous step this level fires; ignored
	// for level 1, which fires at the alert's deadline.
	After time.Duration
	// People the level reaches now (may be empty: nobody on duty).
	People []Recipient
}

// Roster is what alerts need from the duty rosters, adapted by the app.
// Every method is a system read: no permission filtering.
type Roster interface {
	OnDutyAt(ctx context.Context, q db.Querier, postIDs []string, at time.Time) (map[string][]OnDuty, error)
	IsOnDuty(ctx context.Context, q db.Querier, personID, postID string, at time.Time) (bool, error)
	// Levels returns level n of each post's escalation path, as it applies
	// at the given time (set-based: the engine asks for thousands at once).
	Levels(ctx context.Context, q db.Querier, postIDs []string, level int, at time.Time) (map[string]Level, error)
}

// SentDelivery tells a notifier who was addressed at send time.
type SentDelivery struct {
	DeliveryID string
	PostID     string
	OnDuty     []OnDuty
}

// Notifier queues off-line notifications (e-mail, webhooks) as rows in the
// caller's transaction; senders deliver them after commit, at least once,
// with a stable id. A nil Notifier queues nothing.
type Notifier interface {
	// Sent: level 0, the people on duty at each addressed post.
	Sent(ctx context.Context, tx *db.Tx, al *Alert, ds []SentDelivery) error
	// Escalated: the people an escalation level reached for one delivery.
	Escalated(ctx context.Context, tx *db.Tx, alertID, deliveryID, postID string, level int, people []Recipient) error
	// Ended: the alert was cancelled or closed; everyone notified of it
	// off-line hears of that on the same channel.
	Ended(ctx context.Context, tx *db.Tx, al *Alert) error
}
