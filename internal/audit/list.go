package audit

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
)

// Filter selects entries for List. Empty fields do not filter.
type Filter struct {
	Actor      string // exact label: user:<login>, token:<id>, system:<name>
	Action     string // exact, or a prefix ending in "*" ("post.*")
	ObjectType string
	ObjectID   string
	From, To   time.Time // From <= at < To
	Limit      int       // 1..500; 0 means 50
	Cursor     string    // next_cursor of the previous page
}

// View is one entry as auditors read it. Seq and Hash are empty while the
// entry waits for the sealer.
type View struct {
	ID          int64           `json:"id,string"`
	Seq         *int64          `json:"seq"`
	Hash        string          `json:"hash,omitempty"`
	PrevHash    string          `json:"prev_hash,omitempty"`
	At          time.Time       `json:"at"`
	Actor       string          `json:"actor"`
	ActorUserID string          `json:"actor_user_id,omitempty"`
	IP          string          `json:"ip,omitempty"`
	Action      string          `json:"action"`
	ObjectType  string          `json:"object_type,omitempty"`
	ObjectID    string          `json:"object_id,omitempty"`
	Summary     string          `json:"summary"`
	Before      json.RawMessage `json:"before,omitempty"`
	After       json.RawMessage `json:"after,omitempty"`
}

const (
	defaultLimit = 50
	maxLimit     = 500
)

// List returns entries matching f, newest first, and the cursor of the next
// page ("" at the end). Only auditors and administrators holding the role
// globally may read the log: it spans every member state, so a grant scoped
// to one state or post is not enough.
func (l *Log) List(ctx context.Context, f Filter) ([]View, string, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, "", apperr.Unauthorized("sign in to read the audit log")
	}
	if !a.HasGlobal(auth.Auditor) && !a.IsAdmin() {
		return nil, "", apperr.Forbidden("", "reading the audit log needs the auditor or admin role")
	}
	limit := f.Limit
	switch {
	case limit <= 0:
		limit = defaultLimit
	case limit > maxLimit:
		limit = maxLimit
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Cursor != "" {
		id, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || id <= 0 {
			return nil, "", apperr.BadRequest("invalid-cursor", "the cursor is not one this list gave out")
		}
		add("id < ?", id)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if p, ok := strings.CutSuffix(f.Action, "*"); ok {
		if p != "" {
			add(`action LIKE ? ESCAPE '\'`, likeEscape(p)+"%")
		}
	} else if f.Action != "" {
		add("action = ?", f.Action)
	}
	if f.ObjectType != "" {
		add("object_type = ?", f.ObjectType)
	}
	if f.ObjectID != "" {
		add("object_id = ?", f.ObjectID)
	}
	if !f.From.IsZero() {
		add("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("at < ?", f.To.UTC())
	}
	q := `SELECT id, seq, hash, prev_hash, at, actor, actor_user_id, ip, action, object_type, object_id, summary, before_json, after_json FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit+1)
	rows, err := l.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []View
	for rows.Next() {
		var v View
		var seq sql.NullInt64
		var h, prev, userID sql.NullString
		var before, after string
		if err := rows.Scan(&v.ID, &seq, &h, &prev, &v.At, &v.Actor, &userID, &v.IP, &v.Action, &v.ObjectType, &v.ObjectID, &v.Summary, &before, &after); err != nil {
			return nil, "", err
		}
		if seq.Valid {
			s := seq.Int64
			v.Seq = &s
		}
		v.Hash, v.PrevHash, v.ActorUserID = h.String, prev.String, userID.String
		v.At = v.At.UTC()
		if before != "" {
			v.Before = json.RawMessage(before)
		}
		if after != "" {
			v.After = json.RawMessage(after)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
