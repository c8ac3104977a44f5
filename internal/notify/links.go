package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// linkKeySetting names the settings row holding the link-signing key.
const linkKeySetting = "notify.link_key"

// linkVersion prefixes the signed text, so that a token of another kind (or
// a later format) signed with the same key can never pass as this one.
const linkVersion = "ack1"

// Links signs and verifies acknowledgement links.
type Links struct{ key []byte }

// NewLinks loads the signing key from the settings table, creating a random
// one on first use (replicas starting together agree: the first insert wins
// and everyone reads it back).
func NewLinks(ctx context.Context, d *db.DB) (*Links, error) {
	read := func() (string, error) {
		var v string
		err := d.QueryRow(ctx, "SELECT value FROM settings WHERE key = ?", linkKeySetting).Scan(&v)
		return v, err
	}
	v, err := read()
	if errors.Is(err, sql.ErrNoRows) {
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
		if err := d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
				linkKeySetting, base64.RawURLEncoding.EncodeToString(k))
			return err
		}); err != nil {
			return nil, fmt.Errorf("create the link key: %w", err)
		}
		v, err = read()
	}
	if err != nil {
		return nil, fmt.Errorf("read the link key: %w", err)
	}
	k, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(k) < 32 {
		return nil, errors.New("the link key in settings is damaged")
	}
	return &Links{key: k}, nil
}

// Errors of links. Their types are stable: pages and the API key on them.
func errLinkInvalid() error {
	return &apperr.Error{Kind: apperr.KindUnauthorized, Type: "link-invalid",
		Detail: "this acknowledgement link is not valid; sign in to acknowledge"}
}

func errLinkExpired() error {
	return &apperr.Error{Kind: apperr.KindForbidden, Type: "link-expired",
		Detail: "this acknowledgement link has expired; sign in to acknowledge"}
}

func (l *Links) mac(msg []byte) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write(msg)
	return m.Sum(nil)
}

// SignAckLink returns a token saying "person may acknowledge delivery until
// expires": base64url(text) "." base64url(HMAC-SHA256(key, text)).
func (l *Links) SignAckLink(deliveryID, personID string, expires time.Time) string {
	msg := []byte(linkVersion + "\n" + deliveryID + "\n" + personID + "\n" + strconv.FormatInt(expires.Unix(), 10))
	return base64.RawURLEncoding.EncodeToString(msg) + "." + base64.RawURLEncoding.EncodeToString(l.mac(msg))
}

// VerifyAckLink checks a token: forged or damaged → link-invalid; genuine
// but past its expiry → link-expired. The expiry is looked at only once the
// signature holds, so nothing about a forged token is disclosed.
func (l *Links) VerifyAckLink(token string, now time.Time) (deliveryID, personID string, err error) {
	body, sig, ok := strings.Cut(strings.TrimSpace(token), ".")
	if !ok || len(token) > 2048 {
		return "", "", errLinkInvalid()
	}
	msg, err1 := base64.RawURLEncoding.DecodeString(body)
	got, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(got, l.mac(msg)) {
		return "", "", errLinkInvalid()
	}
	parts := bytes.Split(msg, []byte("\n"))
	if len(parts) != 4 || string(parts[0]) != linkVersion || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", errLinkInvalid()
	}
	exp, err := strconv.ParseInt(string(parts[3]), 10, 64)
	if err != nil {
		return "", "", errLinkInvalid()
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", "", errLinkExpired()
	}
	return string(parts[1]), string(parts[2]), nil
}

// linkExpiry is when a link in an e-mail queued at queuedAt about an alert
// with that deadline stops acknowledging. It depends only on stored values,
// so every retry of an e-mail carries the same link.
func (n *Notifier) linkExpiry(deadline, queuedAt time.Time) time.Time {
	base := deadline
	if queuedAt.After(base) {
		base = queuedAt
	}
	return base.Add(n.opts.LinkValidity).Truncate(time.Second)
}

// AckURL is the link put in e-mails for a token.
func (n *Notifier) AckURL(token string) string { return n.opts.BaseURL + n.opts.AckPath + token }

// LinkInfo is what the confirmation page shows before the POST.
type LinkInfo struct {
	DeliveryID    string         `json:"delivery_id"`
	AlertID       string         `json:"alert_id"`
	Title         string         `json:"title"`
	Body          string         `json:"body"`
	Priority      alert.Priority `json:"priority"`
	Exercise      bool           `json:"exercise"`
	AlertState    string         `json:"alert_state"`
	DeadlineAt    time.Time      `json:"deadline_at"`
	PostID        string         `json:"post_id"`
	PostCode      string         `json:"post_code"`
	PostNameEN    string         `json:"post_name_en"`
	PostNameRU    string         `json:"post_name_ru"`
	PostTZ        string         `json:"post_tz"`
	DeadlineLocal time.Time      `json:"deadline_local"` // the deadline in the post's zone
	DeliveryState string         `json:"delivery_state"`
	AckedAt       *time.Time     `json:"acked_at"`
	AckedBy       string         `json:"acked_by,omitempty"`
	PersonID      string         `json:"person_id"`
	PersonNameEN  string         `json:"person_name_en"`
	PersonNameRU  string         `json:"person_name_ru"`
}

// LinkInfo verifies a token and reads what the confirmation page shows. It
// writes nothing: mail gateways and link previewers open every link.
func (n *Notifier) LinkInfo(ctx context.Context, token string) (*LinkInfo, error) {
	did, pid, err := n.links.VerifyAckLink(token, n.clock.Now())
	if err != nil {
		return nil, err
	}
	var li LinkInfo
	var acked sql.NullTime
	err = n.db.QueryRow(ctx, `SELECT d.id, a.id, a.title, a.body, a.priority, a.exercise, a.state, a.deadline_at,
		p.id, p.code, p.name_en, p.name_ru, p.tz, d.state, d.acked_at, d.acked_by_login,
		pe.id, pe.name_en, pe.name_ru
		FROM deliveries d JOIN alerts a ON a.id = d.alert_id JOIN posts p ON p.id = d.post_id, people pe
		WHERE d.id = ? AND pe.id = ?`, did, pid).Scan(&li.DeliveryID, &li.AlertID, &li.Title, &li.Body, &li.Priority, &li.Exercise,
		&li.AlertState, &li.DeadlineAt, &li.PostID, &li.PostCode, &li.PostNameEN, &li.PostNameRU, &li.PostTZ, &li.DeliveryState,
		&acked, &li.AckedBy, &li.PersonID, &li.PersonNameEN, &li.PersonNameRU)
	if errors.Is(err, sql.ErrNoRows) {
		// Signed by us, yet gone: treat like a bad link rather than disclose.
		return nil, errLinkInvalid()
	} else if err != nil {
		return nil, err
	}
	li.DeadlineAt = li.DeadlineAt.UTC()
	li.DeadlineLocal = inZone(li.DeadlineAt, li.PostTZ)
	if acked.Valid {
		t := acked.Time.UTC()
		li.AckedAt = &t
	}
	return &li, nil
}

// AckByLink acknowledges, for the POST of the confirmation page, in the
// name of the person the e-mail went to, with channel email. Whether that
// person may acknowledge for the post is alert.Store's decision (they may
// have been on duty when the alert was sent, or reached by escalation).
func (n *Notifier) AckByLink(ctx context.Context, token string) (*alert.Ack, error) {
	did, pid, err := n.links.VerifyAckLink(token, n.clock.Now())
	if err != nil {
		return nil, err
	}
	alertID, postID, err := n.alerts.DeliveryByID(ctx, did)
	if err != nil {
		return nil, errLinkInvalid()
	}
	act, err := n.personActor(ctx, pid)
	if err != nil {
		return nil, err
	}
	if prev := auth.From(ctx); prev != nil && act.IP == "" {
		act.IP = prev.IP
	}
	return n.alerts.Acknowledge(auth.With(ctx, act), alertID, postID, alert.ChannelEmail)
}

// personActor is the actor of the person's user, or a Forbidden error a
// page can show when the person has no account.
func (n *Notifier) personActor(ctx context.Context, personID string) (*auth.Actor, error) {
	if n.opts.ActorForPerson == nil {
		return nil, errors.New("notify: no ActorForPerson configured")
	}
	act, err := n.opts.ActorForPerson(ctx, personID)
	if err != nil {
		if e, ok := apperr.As(err); ok && (e.Kind == apperr.KindNotFound || e.Kind == apperr.KindUnauthorized) {
			return nil, apperr.Forbidden("no-account", "the person this e-mail was sent to has no active account in sitroom; acknowledge by phone with the centre")
		}
		return nil, err
	}
	if act == nil {
		return nil, apperr.Forbidden("no-account", "the person this e-mail was sent to has no active account in sitroom; acknowledge by phone with the centre")
	}
	c := *act
	return &c, nil
}

// inZone converts t to the IANA zone tz (UTC if the zone is unknown).
func inZone(t time.Time, tz string) time.Time {
	if loc, err := time.LoadLocation(tz); err == nil && tz != "" {
		return t.In(loc)
	}
	return t.UTC()
}

// SignAckLink signs a link with the installation's key (see Links).
func (n *Notifier) SignAckLink(deliveryID, personID string, expires time.Time) string {
	return n.links.SignAckLink(deliveryID, personID, expires)
}

// VerifyAckLink verifies a link with the installation's key (see Links).
func (n *Notifier) VerifyAckLink(token string, now time.Time) (deliveryID, personID string, err error) {
	return n.links.VerifyAckLink(token, now)
}
