package users

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Session is a signed-in browser. ID is the SHA-256 (hex) of the cookie
// value, so the table holds nothing a thief could replay; it is safe to show
// and to use for revocation.
type Session struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	CSRF       string     `json:"-"` // the form token; sent in pages, never in lists
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	Locale     string     `json:"-"` // the user's language, for the page being served
	TZ         string     `json:"-"` // the user's display zone ("" = default)
	CreatedAt  time.Time  `json:"created_at"`
	LastSeenAt time.Time  `json:"last_seen_at"`
	IdleUntil  time.Time  `json:"idle_until"` // ends without activity before then
	ExpiresAt  time.Time  `json:"expires_at"` // ends then whatever the activity
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	Current    bool       `json:"current"` // the caller's own session
}

// CheckCSRF compares a form's token with the session's in constant time.
func (s *Session) CheckCSRF(token string) bool {
	return s != nil && token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.CSRF)) == 1
}

// lastSeenEvery: last_seen_at is refreshed at most this often, so that an
// active page does not cost a write per request.
const lastSeenEvery = time.Minute

func (s *Store) idleFor(gs []auth.Grant) time.Duration {
	if isDuty(gs) {
		return s.opts.DutySessionIdle
	}
	return s.opts.SessionIdle
}

// cookieLen is the length of a cookie value: 32 bytes in base64url.
var cookieLen = b64url.EncodedLen(32)

// SessionActor turns a session cookie into the actor it signs in. An
// unknown, revoked or expired session, or one of a deactivated user, is
// Unauthorized. The idle limit follows the user's grants now (holders of
// post roles get the duty limit), not those at sign-in.
func (s *Store) SessionActor(ctx context.Context, cookieValue, ip string) (*auth.Actor, *Session, error) {
	unauth := apperr.Unauthorized("your session has ended; sign in again")
	if len(cookieValue) != cookieLen {
		return nil, nil, unauth
	}
	if _, err := b64url.DecodeString(cookieValue); err != nil {
		return nil, nil, unauth
	}
	id := sha256Hex(cookieValue)
	var sess Session
	var revoked sql.NullTime
	var active bool
	var nameEN, nameRU string
	a := &auth.Actor{Kind: auth.KindUser, IP: ip, SessionID: id}
	err := s.d.QueryRow(ctx, `SELECT s.user_id, s.csrf, s.ip, s.user_agent, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,
			u.person_id, u.login, u.locale, u.tz, u.active, p.name_en, p.name_ru
		FROM sessions s JOIN users u ON u.id = s.user_id JOIN people p ON p.id = u.person_id
		WHERE s.id = ?`, id).Scan(&sess.UserID, &sess.CSRF, &sess.IP, &sess.UserAgent, &sess.CreatedAt, &sess.LastSeenAt, &sess.ExpiresAt, &revoked,
		&a.PersonID, &a.Login, &sess.Locale, &sess.TZ, &active, &nameEN, &nameRU)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, unauth
	}
	if err != nil {
		return nil, nil, err
	}
	sess.ID = id
	sess.Current = true
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = sess.CreatedAt.UTC(), sess.LastSeenAt.UTC(), sess.ExpiresAt.UTC()
	now := s.clock.Now()
	if revoked.Valid || !active || !now.Before(sess.ExpiresAt) {
		return nil, nil, unauth
	}
	gs, err := loadGrants(ctx, s.d, sess.UserID)
	if err != nil {
		return nil, nil, err
	}
	a.UserID = sess.UserID
	a.Name = localName(sess.Locale, nameEN, nameRU)
	a.Grants = authGrants(gs[sess.UserID])
	idle := s.idleFor(a.Grants)
	if now.Sub(sess.LastSeenAt) >= idle {
		return nil, nil, unauth
	}
	if now.Sub(sess.LastSeenAt) >= lastSeenEvery {
		err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = ?, ip = ?, idle_seconds = ? WHERE id = ?`,
				now, ip, int64(idle/time.Second), id)
			return err
		})
		if err != nil {
			return nil, nil, fmt.Errorf("refresh session: %w", err)
		}
		sess.LastSeenAt, sess.IP = now, ip
	}
	sess.IdleUntil = sess.LastSeenAt.Add(idle)
	if sess.IdleUntil.After(sess.ExpiresAt) {
		sess.IdleUntil = sess.ExpiresAt
	}
	return a, &sess, nil
}

// Logout ends one session: the caller's own, another of their own (from the
// profile page), or anyone's for an administrator.
func (s *Store) Logout(ctx context.Context, sessionID string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	return s.d.RunInTx(ctx, func(tx *db.Tx) error {
		var userID, login string
		var revoked sql.NullTime
		err := tx.QueryRow(ctx, `SELECT s.user_id, u.login, s.revoked_at FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`, sessionID).
			Scan(&userID, &login, &revoked)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && userID != a.UserID && !a.IsAdmin()) {
			return apperr.NotFound("session")
		}
		if err != nil || revoked.Valid {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ?`, s.clock.Now(), sessionID); err != nil {
			return err
		}
		action, summary := "user.logout", login+" signed out"
		if sessionID != a.SessionID {
			action, summary = "user.session_revoke", "ended a session of "+login
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: action, ObjectType: "user", ObjectID: userID, Summary: summary})
	})
}

// RevokeUserSessions ends every session of a user (oneself, or anyone for an
// administrator) and tells how many were open.
func (s *Store) RevokeUserSessions(ctx context.Context, userID string) (int, error) {
	a, err := actor(ctx)
	if err != nil {
		return 0, err
	}
	if a.UserID != userID && !a.IsAdmin() {
		return 0, apperr.NotFound("user")
	}
	var n int
	err = s.d.RunInTx(ctx, func(tx *db.Tx) error {
		var login string
		err := tx.QueryRow(ctx, `SELECT login FROM users WHERE id = ?`, userID).Scan(&login)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFound("user")
		}
		if err != nil {
			return err
		}
		if n, err = s.revokeSessions(ctx, tx, userID, ""); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user.sessions_revoke", ObjectType: "user", ObjectID: userID,
			Summary: fmt.Sprintf("ended %d session(s) of %s", n, login)})
	})
	return n, err
}

// revokeSessions ends the user's open sessions except keep.
func (s *Store) revokeSessions(ctx context.Context, tx *db.Tx, userID, keep string) (int, error) {
	r, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`,
		s.clock.Now(), userID, keep)
	if err != nil {
		return 0, err
	}
	n, err := r.RowsAffected()
	return int(n), err
}

// ListSessions lists a user's live sessions, newest first: one's own, or
// anyone's for an administrator.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if a.UserID != userID && !a.IsAdmin() {
		return nil, apperr.NotFound("user")
	}
	now := s.clock.Now()
	gs, err := loadGrants(ctx, s.d, userID)
	if err != nil {
		return nil, err
	}
	idle := s.idleFor(authGrants(gs[userID]))
	rows, err := s.d.Query(ctx, `SELECT id, user_id, ip, user_agent, created_at, last_seen_at, expires_at
		FROM sessions WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? AND last_seen_at > ?
		ORDER BY created_at DESC`, userID, now, now.Add(-idle))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		if err := rows.Scan(&x.ID, &x.UserID, &x.IP, &x.UserAgent, &x.CreatedAt, &x.LastSeenAt, &x.ExpiresAt); err != nil {
			return nil, err
		}
		x.CreatedAt, x.LastSeenAt, x.ExpiresAt = x.CreatedAt.UTC(), x.LastSeenAt.UTC(), x.ExpiresAt.UTC()
		x.IdleUntil = x.LastSeenAt.Add(idle)
		if x.IdleUntil.After(x.ExpiresAt) {
			x.IdleUntil = x.ExpiresAt
		}
		x.Current = x.ID == a.SessionID
		out = append(out, x)
	}
	return out, rows.Err()
}

// PruneSessions deletes sessions that ended (revoked, past their absolute
// limit, or unused) more than 30 days ago, keeping a month for the profile
// and audit questions; the server calls it now and then.
func (s *Store) PruneSessions(ctx context.Context) (int64, error) {
	cut := s.clock.Now().Add(-30 * 24 * time.Hour)
	var n int64
	err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
		r, err := tx.Exec(ctx, `DELETE FROM sessions WHERE (revoked_at IS NOT NULL AND revoked_at < ?) OR expires_at < ? OR last_seen_at < ?`, cut, cut, cut)
		if err != nil {
			return err
		}
		n, err = r.RowsAffected()
		return err
	})
	return n, err
}
