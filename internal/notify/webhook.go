package notify

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

// EventTypes are the outbox event types a webhook may subscribe to.
var EventTypes = []string{
	events.TypeAlertCreated, events.TypeAlertCancelled, events.TypeAlertClosed, events.TypeDeliveryUpdated,
	events.TypePostStatus, events.TypeCaseUpdated, events.TypeDutyChanged, events.TypeCheckScheduled,
}

// DefaultRotationOverlap is how long the previous secret stays valid after
// a rotation unless the caller says otherwise.
const DefaultRotationOverlap = 24 * time.Hour

// MaxRotationOverlap bounds the overlap.
const MaxRotationOverlap = 7 * 24 * time.Hour

// Webhook is a subscription as shown to the people who manage it. The
// secret is never shown again after it is created or rotated.
type Webhook struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	URL            string     `json:"url"`
	PostID         *string    `json:"post_id"`
	PostCode       string     `json:"post_code,omitempty"`
	EventTypes     []string   `json:"event_types"`
	Active         bool       `json:"active"`
	PrevValidUntil *time.Time `json:"previous_secret_valid_until"`
	CreatedAt      time.Time  `json:"created_at"`
	CreatedBy      string     `json:"created_by"`
	UpdatedAt      time.Time  `json:"updated_at"`
	DisabledAt     *time.Time `json:"disabled_at"`
	stateID        string
}

// NewWebhook is what a manager gives to create a webhook.
type NewWebhook struct {
	Name string `json:"name"`
	URL  string `json:"url"`
	// PostID (id or code) binds the webhook to a post: it then receives
	// only the events whose audience covers that post.
	PostID     string   `json:"post_id"`
	EventTypes []string `json:"event_types"` // empty: every type
}

// canManage: administrators and centre supervisors manage every webhook; a
// head of post manages the webhooks bound to their post.
func canManage(a *auth.Actor, postID, stateID string) bool {
	if a.IsAdmin() || a.HasGlobal(auth.CentreSupervisor) {
		return true
	}
	return postID != "" && a.HasForPost(auth.PostHead, postID, stateID)
}

func managesAny(a *auth.Actor) bool {
	return a.IsAdmin() || a.HasGlobal(auth.CentreSupervisor) || a.Has(auth.PostHead)
}

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported systems
	}
	return "whsec_" + base64.RawURLEncoding.EncodeToString(b)
}

func validateWebhook(in *NewWebhook) error {
	var f apperr.Fields
	in.Name = strings.TrimSpace(in.Name)
	in.URL = strings.TrimSpace(in.URL)
	if utf8.RuneCountInString(in.Name) > 200 {
		f.Add("name", "too_long", "at most 200 characters")
	}
	u, err := url.Parse(in.URL)
	switch {
	case in.URL == "":
		f.Add("url", "required", "the URL to call is required")
	case len(in.URL) > 2000:
		f.Add("url", "too_long", "at most 2000 characters")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "":
		f.Add("url", "invalid_url", "an absolute http:// or https:// URL without a fragment")
	}
	seen := map[string]bool{}
	var types []string
	for _, t := range in.EventTypes {
		t = strings.TrimSpace(t)
		if seen[t] {
			continue
		}
		seen[t] = true
		if !slices.Contains(EventTypes, t) {
			f.Add("event_types", "unknown_event_type", "unknown event type %q; known: %s", t, strings.Join(EventTypes, ", "))
			continue
		}
		types = append(types, t)
	}
	slices.Sort(types)
	in.EventTypes = types
	return f.Err()
}

// CreateWebhook creates a subscription and returns it with its secret,
// shown this once. It starts at the current end of the outbox: it receives
// what happens from now on.
func (n *Notifier) CreateWebhook(ctx context.Context, in NewWebhook) (*Webhook, string, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, "", apperr.Unauthorized("sign in to manage webhooks")
	}
	if !managesAny(a) {
		return nil, "", apperr.Forbidden("", "only administrators, centre supervisors and heads of post manage webhooks")
	}
	if err := validateWebhook(&in); err != nil {
		return nil, "", err
	}
	secret := newSecret()
	var out *Webhook
	err := n.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := n.clock.Now()
		var postID any
		var postCode, stateID string
		if p := strings.TrimSpace(in.PostID); p != "" {
			var id string
			err := tx.QueryRow(ctx, "SELECT id, code, COALESCE(state_id, '') FROM posts WHERE id = ? OR code = ?", p, p).Scan(&id, &postCode, &stateID)
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.Invalid(apperr.FieldError{Field: "post_id", Code: "unknown_post", Message: "no such post"})
			} else if err != nil {
				return err
			}
			postID = id
			in.PostID = id
		}
		if !canManage(a, in.PostID, stateID) {
			return apperr.Forbidden("", "a head of post manages only the webhooks bound to their own post")
		}
		var head int64
		if err := tx.QueryRow(ctx, "SELECT pos FROM outbox_head WHERE id = 1").Scan(&head); err != nil {
			return err
		}
		types, _ := json.Marshal(nonNil(in.EventTypes))
		w := &Webhook{ID: db.NewID(), Name: in.Name, URL: in.URL, PostCode: postCode, EventTypes: nonNil(in.EventTypes), Active: true,
			CreatedAt: now, CreatedBy: a.Label(), UpdatedAt: now}
		if in.PostID != "" {
			w.PostID = &in.PostID
		}
		if _, err := tx.Exec(ctx, `INSERT INTO webhooks (id, name, url, post_id, secret, event_types, active, cursor_pos, created_at, created_by, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, TRUE, ?, ?, ?, ?)`, w.ID, w.Name, w.URL, postID, secret, string(types), head, now, w.CreatedBy, now); err != nil {
			return err
		}
		out = w
		return n.audit.Record(ctx, tx, audit.Entry{Action: "webhook.create", ObjectType: "webhook", ObjectID: w.ID,
			Summary: fmt.Sprintf("webhook %q to %s created", w.Name, w.URL), After: w})
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const webhookCols = `w.id, w.name, w.url, w.post_id, COALESCE(p.code, ''), COALESCE(p.state_id, ''), w.event_types, w.active,
	w.prev_valid_until, w.created_at, w.created_by, w.updated_at, w.disabled_at`

func scanWebhook(sc interface{ Scan(...any) error }) (*Webhook, error) {
	var w Webhook
	var post sql.NullString
	var types string
	var prev, disabled sql.NullTime
	if err := sc.Scan(&w.ID, &w.Name, &w.URL, &post, &w.PostCode, &w.stateID, &types, &w.Active, &prev, &w.CreatedAt, &w.CreatedBy,
		&w.UpdatedAt, &disabled); err != nil {
		return nil, err
	}
	if post.Valid {
		w.PostID = &post.String
	}
	_ = json.Unmarshal([]byte(types), &w.EventTypes)
	w.EventTypes = nonNil(w.EventTypes)
	w.CreatedAt, w.UpdatedAt = w.CreatedAt.UTC(), w.UpdatedAt.UTC()
	if prev.Valid {
		t := prev.Time.UTC()
		w.PrevValidUntil = &t
	}
	if disabled.Valid {
		t := disabled.Time.UTC()
		w.DisabledAt = &t
	}
	return &w, nil
}

func (w *Webhook) post() string {
	if w.PostID == nil {
		return ""
	}
	return *w.PostID
}

// Webhooks lists the subscriptions the caller manages.
func (n *Notifier) Webhooks(ctx context.Context) ([]Webhook, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to manage webhooks")
	}
	if !managesAny(a) {
		return nil, apperr.Forbidden("", "only administrators, centre supervisors and heads of post manage webhooks")
	}
	rows, err := n.db.Query(ctx, "SELECT "+webhookCols+" FROM webhooks w LEFT JOIN posts p ON p.id = w.post_id ORDER BY w.id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		if canManage(a, w.post(), w.stateID) {
			out = append(out, *w)
		}
	}
	return out, rows.Err()
}

// Webhook returns one subscription the caller manages (NotFound otherwise).
func (n *Notifier) Webhook(ctx context.Context, id string) (*Webhook, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to manage webhooks")
	}
	w, err := scanWebhook(n.db.QueryRow(ctx, "SELECT "+webhookCols+" FROM webhooks w LEFT JOIN posts p ON p.id = w.post_id WHERE w.id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("webhook")
	} else if err != nil {
		return nil, err
	}
	if !canManage(a, w.post(), w.stateID) {
		return nil, apperr.NotFound("webhook")
	}
	return w, nil
}

// lockedWebhook loads a webhook the caller manages inside tx, locked.
func (n *Notifier) lockedWebhook(ctx context.Context, tx *db.Tx, a *auth.Actor, id string) (*Webhook, error) {
	w, err := scanWebhook(tx.QueryRow(ctx, "SELECT "+webhookCols+" FROM webhooks w LEFT JOIN posts p ON p.id = w.post_id WHERE w.id = ?"+tx.ForUpdate("w"), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("webhook")
	} else if err != nil {
		return nil, err
	}
	if !canManage(a, w.post(), w.stateID) {
		return nil, apperr.NotFound("webhook")
	}
	return w, nil
}

// RotateWebhookSecret gives the webhook a new secret and returns it, shown
// this once. The previous secret stays valid for overlap (0: it stops at
// once, for a leaked secret); meanwhile every request carries both
// signatures, so the receiver can switch at its own pace.
func (n *Notifier) RotateWebhookSecret(ctx context.Context, id string, overlap time.Duration) (*Webhook, string, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, "", apperr.Unauthorized("sign in to manage webhooks")
	}
	if overlap < 0 || overlap > MaxRotationOverlap {
		return nil, "", apperr.Invalid(apperr.FieldError{Field: "overlap", Code: "out_of_range", Message: "from 0 to 7 days"})
	}
	secret := newSecret()
	var out *Webhook
	err := n.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := n.clock.Now()
		w, err := n.lockedWebhook(ctx, tx, a, id)
		if err != nil {
			return err
		}
		if !w.Active {
			return apperr.Conflict("webhook-disabled", "the webhook is disabled")
		}
		// The right-hand sides read the row as it was: prev_secret gets the
		// secret being replaced.
		if overlap > 0 {
			u := now.Add(overlap)
			w.PrevValidUntil = &u
			_, err = tx.Exec(ctx, "UPDATE webhooks SET prev_secret = secret, prev_valid_until = ?, secret = ?, updated_at = ? WHERE id = ?",
				u, secret, now, w.ID)
		} else {
			w.PrevValidUntil = nil
			_, err = tx.Exec(ctx, "UPDATE webhooks SET prev_secret = '', prev_valid_until = NULL, secret = ?, updated_at = ? WHERE id = ?",
				secret, now, w.ID)
		}
		if err != nil {
			return err
		}
		w.UpdatedAt = now
		out = w
		return n.audit.Record(ctx, tx, audit.Entry{Action: "webhook.rotate", ObjectType: "webhook", ObjectID: w.ID,
			Summary: fmt.Sprintf("secret of webhook %q rotated; previous secret valid for %s", w.Name, overlap),
			After:   map[string]any{"previous_secret_valid_until": w.PrevValidUntil}})
	})
	if err != nil {
		return nil, "", err
	}
	return out, secret, nil
}

// DisableWebhook stops a subscription: nothing more is queued for it, and
// what is still queued becomes dead (listed with the reason).
func (n *Notifier) DisableWebhook(ctx context.Context, id string) (*Webhook, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to manage webhooks")
	}
	var out *Webhook
	err := n.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := n.clock.Now()
		w, err := n.lockedWebhook(ctx, tx, a, id)
		if err != nil {
			return err
		}
		out = w
		if !w.Active {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE webhooks SET active = FALSE, disabled_at = ?, updated_at = ? WHERE id = ?", now, now, w.ID); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE notify_outbound SET status = ?, dead_at = ?, lease_owner = '', last_error = 'webhook disabled'
			WHERE webhook_id = ? AND status IN (?, ?)`, StatusDead, now, w.ID, StatusPending, StatusSending)
		if err != nil {
			return err
		}
		dropped, _ := res.RowsAffected()
		w.Active, w.DisabledAt, w.UpdatedAt = false, &now, now
		return n.audit.Record(ctx, tx, audit.Entry{Action: "webhook.disable", ObjectType: "webhook", ObjectID: w.ID,
			Summary: fmt.Sprintf("webhook %q disabled; %d queued calls dropped", w.Name, dropped),
			Before:  map[string]any{"active": true}, After: map[string]any{"active": false}})
	})
	return out, err
}

// Sign returns the Sitroom-Signature header value for body at t:
// "t=<unix>,v1=<hex HMAC-SHA256(secret, t + "." + body)>", one v1 per
// secret (two during a rotation).
func Sign(body []byte, t time.Time, secrets ...string) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=" + ts)
	for _, s := range secrets {
		b.WriteString(",v1=" + hex.EncodeToString(signature(s, ts, body)))
	}
	return b.String()
}

func signature(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifySignature.
var (
	ErrSignatureHeader   = errors.New("webhook signature: malformed Sitroom-Signature header")
	ErrSignatureTime     = errors.New("webhook signature: timestamp outside the tolerance")
	ErrSignatureMismatch = errors.New("webhook signature: no signature matches any secret")
)

// VerifySignature checks a Sitroom-Signature header as a receiver should:
// the timestamp within tolerance of now (replays of old requests fail),
// and at least one v1 signature made with one of secrets (compared in
// constant time). Integrators may copy it; tests use it.
func VerifySignature(header string, body []byte, secrets []string, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return ErrSignatureHeader
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil {
				return ErrSignatureHeader
			}
			sigs = append(sigs, b)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrSignatureHeader
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrSignatureTime
	}
	for _, s := range secrets {
		want := signature(s, ts, body)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrSignatureMismatch
}
