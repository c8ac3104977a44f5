package events

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// Channel is the PostgreSQL NOTIFY channel that wakes hubs.
const Channel = "sitroom_outbox"

// Event types. The list is documented in the OpenAPI description of
// /api/v1/stream; add new ones here.
const (
	TypeAlertCreated    = "alert.created"
	TypeAlertCancelled  = "alert.cancelled"
	TypeAlertClosed     = "alert.closed"
	TypeDeliveryUpdated = "delivery.updated"
	TypePostStatus      = "post.status"
	TypeCaseUpdated     = "case.updated"
	TypeDutyChanged     = "duty.changed"
	TypeCheckScheduled  = "check.scheduled"
	// TypeResync tells a client its position is older than the outbox keeps:
	// reload the page.
	TypeResync = "resync"
)

// Audience says who may receive an event:
//
//	all            every signed-in user
//	centre         centre roles only
//	post:<id>      centre roles and the people of that post (and its state's scoped roles)
//	alert:<id>     centre roles and the people of every post the alert addresses
//	user:<id>      one user
type Audience string

func AudienceAll() Audience            { return "all" }
func AudienceCentre() Audience         { return "centre" }
func AudiencePost(id string) Audience  { return Audience("post:" + id) }
func AudienceAlert(id string) Audience { return Audience("alert:" + id) }
func AudienceUser(id string) Audience  { return Audience("user:" + id) }
func (a Audience) split() (string, string) {
	k, id, _ := strings.Cut(string(a), ":")
	return k, id
}

// Event is one thing to announce.
type Event struct {
	Type     string
	Audience Audience
	Payload  any // marshalled to JSON; keep it a few KiB at most
}

// Appender writes events into the outbox inside the caller's transaction.
type Appender struct {
	hub   *Hub // may be nil (CLI tools): then only NOTIFY wakes servers
	clock clock.Clock
	also  []func()
}

// Prime passes the scope of an audience to the local hub (see Hub.Prime).
func (a *Appender) Prime(aud Audience, s Scope) {
	if a != nil && a.hub != nil {
		a.hub.Prime(aud, s)
	}
}

// AlsoWake adds a function run after every commit that appended events
// (other local consumers of the outbox, such as the webhook dispatcher).
// Call it while wiring, before any Append.
func (a *Appender) AlsoWake(f func()) { a.also = append(a.also, f) }

// NewAppender returns an appender that wakes hub (if any) after commit.
func NewAppender(h *Hub, c clock.Clock) *Appender { return &Appender{hub: h, clock: c} }

// Append writes evs in tx and returns the position of the last one. The
// outbox_head row lock taken here is held until tx ends, which orders
// positions by commit. Keep the rest of such a transaction short.
func (a *Appender) Append(ctx context.Context, tx *db.Tx, evs ...Event) (int64, error) {
	if len(evs) == 0 {
		return 0, nil
	}
	var last int64
	if err := tx.QueryRowPrepared(ctx, "UPDATE outbox_head SET pos = pos + ? WHERE id = 1 RETURNING pos", len(evs)).Scan(&last); err != nil {
		return 0, fmt.Errorf("outbox position: %w", err)
	}
	first := last - int64(len(evs)) + 1
	now := a.clock.Now()
	for i, e := range evs {
		b, err := json.Marshal(e.Payload)
		if err != nil {
			return 0, fmt.Errorf("outbox payload of %s: %w", e.Type, err)
		}
		if _, err := tx.ExecPrepared(ctx, "INSERT INTO outbox (pos, at, type, audience, payload) VALUES (?, ?, ?, ?, ?)",
			first+int64(i), now, e.Type, string(e.Audience), string(b)); err != nil {
			return 0, fmt.Errorf("outbox insert: %w", err)
		}
	}
	if err := tx.Notify(ctx, Channel); err != nil {
		return 0, err
	}
	if a != nil && a.hub != nil {
		tx.AfterCommit(a.hub.Poke)
	}
	if a != nil {
		for _, f := range a.also {
			tx.AfterCommit(f)
		}
	}
	return last, nil
}
