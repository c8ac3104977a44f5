package users

import (
	"context"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// TokenPrefix starts every API token, so a leaked one is easy to recognise
// (and to search for in repositories and logs).
const TokenPrefix = "sitroom_"

// Tokens are 32 random bytes in lower-case base32 (no padding): letters and
// digits only, so a double-click selects the whole token.
var tokenEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

var tokenLen = len(TokenPrefix) + tokenEnc.EncodedLen(32)

// tokenShown is how much of a token lists show: the prefix and 8 random
// characters (40 bits), enough to tell tokens apart, useless to guess with.
const tokenShown = 8

// Token is an API token as lists show it; the token itself is shown once, by
// CreateToken, and stored only as its SHA-256.
type Token struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Login      string     `json:"login"`
	PostID     string     `json:"post_id,omitempty"`
	PostCode   string     `json:"post,omitempty"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// mayManageTokensOf: administrators manage every token, a signed-in user
// their own. Tokens never manage tokens: a post-bound token could otherwise
// mint itself an unbound one.
func mayManageTokensOf(a *auth.Actor, userID string) bool {
	if a.Kind == auth.KindToken {
		return false
	}
	return a.IsAdmin() || (a.UserID != "" && a.UserID == userID)
}

// CreateToken makes an API token for the user with this login and returns it
// in the clear (the only time it exists so). With postCode the token is
// bound to that post: it acts only with those of the user's grants that
// cover the post, narrowed to it; a user holding none cannot have one.
func (s *Store) CreateToken(ctx context.Context, login, postCode, name string) (string, *Token, error) {
	a, err := actor(ctx)
	if err != nil {
		return "", nil, err
	}
	if a.Kind == auth.KindToken {
		return "", nil, apperr.Forbidden("", "an API token cannot create tokens")
	}
	login = NormLogin(login)
	name = strings.TrimSpace(name)
	postCode = strings.TrimSpace(postCode)
	if len(name) > 200 {
		return "", nil, apperr.Invalid(apperr.FieldError{Field: "name", Code: "too_long", Message: "at most 200 characters"})
	}
	plain := TokenPrefix + tokenEnc.EncodeToString(randomBytes(32))
	var id string
	err = s.d.RunInTx(ctx, func(tx *db.Tx) error {
		var userID string
		var active bool
		err := tx.QueryRow(ctx, `SELECT id, active FROM users WHERE login = ?`, login).Scan(&userID, &active)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !mayManageTokensOf(a, userID)) {
			return apperr.NotFound("user " + login)
		}
		if err != nil {
			return err
		}
		if !active {
			return apperr.Invalid(apperr.FieldError{Field: "user", Code: "inactive", Message: "user " + login + " is not active"})
		}
		var postID any
		summary := fmt.Sprintf("API token for %s", login)
		if postCode != "" {
			p, err := postByCode(ctx, tx, postCode)
			if err != nil {
				return err
			}
			gs, err := loadGrants(ctx, tx, userID)
			if err != nil {
				return err
			}
			if len(narrow(authGrants(gs[userID]), p.id, p.stateID)) == 0 {
				return apperr.Invalid(apperr.FieldError{Field: "post", Code: "no_grant_for_post",
					Message: fmt.Sprintf("user %s holds no role that covers post %s, so a token bound to it could do nothing", login, p.code)})
			}
			postID = p.id
			summary += " bound to post " + p.code
		}
		id = db.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, post_id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, userID, postID, name, sha256Hex(plain), plain[:len(TokenPrefix)+tokenShown], s.clock.Now()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "token.create", ObjectType: "api_token", ObjectID: id, Summary: summary,
			After: map[string]string{"user": login, "post": postCode, "name": name, "prefix": plain[:len(TokenPrefix)+tokenShown]}})
	})
	if err != nil {
		return "", nil, err
	}
	t, err := s.getToken(ctx, s.d, id)
	if err != nil {
		return "", nil, err
	}
	return plain, t, nil
}

type postRef struct{ id, code, stateID string }

func postByCode(ctx context.Context, q db.Querier, code string) (postRef, error) {
	var p postRef
	var st sql.NullString
	err := q.QueryRow(ctx, `SELECT id, code, state_id FROM posts WHERE code = ?`, code).Scan(&p.id, &p.code, &st)
	if errors.Is(err, sql.ErrNoRows) {
		err = q.QueryRow(ctx, `SELECT id, code, state_id FROM posts WHERE LOWER(code) = ? ORDER BY id LIMIT 1`, strings.ToLower(code)).Scan(&p.id, &p.code, &st)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.Invalid(apperr.FieldError{Field: "post", Code: "unknown_post", Message: fmt.Sprintf("no post with code %q", code)})
	}
	p.stateID = st.String
	return p, err
}

// narrow keeps the grants that cover post postID (in state stateID) and
// re-scopes each to that post: a token bound to a post acts for that post
// only, whatever wider roles its user holds.
func narrow(gs []auth.Grant, postID, stateID string) []auth.Grant {
	var out []auth.Grant
	seen := map[auth.Role]bool{}
	for _, g := range gs {
		covers := g.ScopeKind == auth.ScopeGlobal ||
			(g.ScopeKind == auth.ScopeState && stateID != "" && g.ScopeID == stateID) ||
			(g.ScopeKind == auth.ScopePost && g.ScopeID == postID)
		if covers && !seen[g.Role] {
			seen[g.Role] = true
			out = append(out, auth.Grant{Role: g.Role, ScopeKind: auth.ScopePost, ScopeID: postID, StateID: stateID})
		}
	}
	return out
}

// TokenActor turns a bearer token into the actor it stands for. Malformed,
// unknown, revoked and expired tokens, and tokens of inactive users, are all
// Unauthorized alike. The token is looked up by its SHA-256, so no
// comparison leaks how much of it was right.
func (s *Store) TokenActor(ctx context.Context, plain, ip string) (*auth.Actor, error) {
	unauth := apperr.Unauthorized("the API token is not valid")
	if len(plain) != tokenLen || !strings.HasPrefix(plain, TokenPrefix) {
		return nil, unauth
	}
	if _, err := tokenEnc.DecodeString(plain[len(TokenPrefix):]); err != nil {
		return nil, unauth
	}
	a := &auth.Actor{Kind: auth.KindToken, IP: ip}
	var postID, postState sql.NullString
	var lastUsed, expires, revoked sql.NullTime
	var active bool
	var locale, nameEN, nameRU string
	err := s.d.QueryRow(ctx, `SELECT t.id, t.user_id, t.post_id, p.state_id, t.last_used_at, t.expires_at, t.revoked_at,
			u.person_id, u.login, u.active, u.locale, pe.name_en, pe.name_ru
		FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN people pe ON pe.id = u.person_id
		LEFT JOIN posts p ON p.id = t.post_id
		WHERE t.hash = ?`, sha256Hex(plain)).Scan(&a.TokenID, &a.UserID, &postID, &postState, &lastUsed, &expires, &revoked,
		&a.PersonID, &a.Login, &active, &locale, &nameEN, &nameRU)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, unauth
	}
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if revoked.Valid || !active || (expires.Valid && !now.Before(expires.Time)) {
		return nil, unauth
	}
	gs, err := loadGrants(ctx, s.d, a.UserID)
	if err != nil {
		return nil, err
	}
	a.Grants = authGrants(gs[a.UserID])
	if postID.Valid {
		a.TokenPostID = postID.String
		a.Grants = narrow(a.Grants, postID.String, postState.String)
	}
	a.Name = localName(locale, nameEN, nameRU)
	if !lastUsed.Valid || now.Sub(lastUsed.Time) >= lastSeenEvery {
		err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, now, a.TokenID)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("note token use: %w", err)
		}
	}
	return a, nil
}

const tokenCols = `t.id, t.user_id, u.login, COALESCE(t.post_id, ''), COALESCE(p.code, ''), t.name, t.prefix,
	t.created_at, t.last_used_at, t.expires_at, t.revoked_at`

const tokenFrom = ` FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN posts p ON p.id = t.post_id `

func scanToken(sc interface{ Scan(...any) error }) (*Token, error) {
	var t Token
	var used, exp, rev sql.NullTime
	if err := sc.Scan(&t.ID, &t.UserID, &t.Login, &t.PostID, &t.PostCode, &t.Name, &t.Prefix, &t.CreatedAt, &used, &exp, &rev); err != nil {
		return nil, err
	}
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt, t.ExpiresAt, t.RevokedAt = ptrTime(used), ptrTime(exp), ptrTime(rev)
	return &t, nil
}

func (s *Store) getToken(ctx context.Context, q db.Querier, id string) (*Token, error) {
	t, err := scanToken(q.QueryRow(ctx, `SELECT `+tokenCols+tokenFrom+`WHERE t.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("API token")
	}
	return t, err
}

// RevokeToken revokes a token for good (administrators, or its owner).
// Revoking a revoked token changes nothing.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if a.Kind == auth.KindToken && a.TokenID != id {
		return apperr.Forbidden("", "an API token can revoke only itself")
	}
	return s.d.RunInTx(ctx, func(tx *db.Tx) error {
		t, err := s.getToken(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.TokenID != id && !mayManageTokensOf(a, t.UserID) {
			return apperr.NotFound("API token")
		}
		if t.RevokedAt != nil {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ?`, s.clock.Now(), id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "token.revoke", ObjectType: "api_token", ObjectID: id,
			Summary: fmt.Sprintf("revoked API token %s… of %s", t.Prefix, t.Login)})
	})
}

// ListTokens lists API tokens, newest first, revoked ones included: of the
// user with this login, or of everyone when login is "" (administrators; for
// others "" means their own).
func (s *Store) ListTokens(ctx context.Context, login string) ([]Token, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if a.Kind == auth.KindToken {
		return nil, apperr.Forbidden("", "an API token cannot list tokens")
	}
	where, args := "", []any{}
	switch {
	case login != "":
		var userID string
		err := s.d.QueryRow(ctx, `SELECT id FROM users WHERE login = ?`, NormLogin(login)).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !mayManageTokensOf(a, userID)) {
			return nil, apperr.NotFound("user " + login)
		}
		if err != nil {
			return nil, err
		}
		where, args = "WHERE t.user_id = ?", []any{userID}
	case !a.IsAdmin():
		where, args = "WHERE t.user_id = ?", []any{a.UserID}
	}
	rows, err := s.d.Query(ctx, `SELECT `+tokenCols+tokenFrom+where+` ORDER BY t.id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}
