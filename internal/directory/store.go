package directory

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// Store reads and writes the directory. Writes replace a record's fields
// as a whole and name references by code (state, body, parent, head); the
// *_id fields are filled on reads and ignored on writes, so a form or a
// file needs no ids. A code never changes once given.
type Store struct {
	db    *db.DB
	clock clock.Clock
	audit *audit.Log
}

// New returns the directory store of d.
func New(d *db.DB, c clock.Clock, a *audit.Log) *Store {
	return &Store{db: d, clock: c, audit: a}
}

// ListOptions filter and page the lists. Filters that do not apply to a
// kind are ignored (e.g. MinistryKind for people).
type ListOptions struct {
	Query           string // words that must all occur in the names or the code (any case, any script)
	State           string // member state code
	Kind            string // body kind or post kind
	MinistryKind    string // posts only
	IncludeArchived bool
	Limit           int    // default DefaultLimit, at most MaxLimit
	Cursor          string // from the previous page's nextCursor
}

const (
	DefaultLimit = 100
	MaxLimit     = 500
)

// Lists are in id order. Ids are UUIDv7, so that is creation order (an
// imported file's own order) and the same on both engines whatever their
// collation; the cursor is the last id seen, wrapped so clients treat it as
// opaque.
const cursorPrefix = "d1:"

func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + id))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), cursorPrefix) {
		return "", apperr.BadRequest("invalid-cursor", "the cursor is not one this server gave out")
	}
	return strings.TrimPrefix(string(b), cursorPrefix), nil
}

func (o ListOptions) limit() int {
	switch {
	case o.Limit <= 0:
		return DefaultLimit
	case o.Limit > MaxLimit:
		return MaxLimit
	}
	return o.Limit
}

// viewer returns the signed-in actor or Unauthorized.
func viewer(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see the directory")
	}
	return a, nil
}

func forbidden() error {
	return apperr.Forbidden("admin-only", "only an administrator may change the directory")
}

// admin returns the actor if it may change the directory.
func admin(ctx context.Context) (*auth.Actor, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !a.IsAdmin() {
		return nil, forbidden()
	}
	return a, nil
}

// where builds a WHERE clause from conditions with ? placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// addCommon adds the filters every list shares: archived, query, cursor.
func (w *where) addCommon(alias string, o ListOptions, now time.Time, after string) {
	if !o.IncludeArchived {
		w.add("("+alias+".active_to IS NULL OR "+alias+".active_to > ?)", now)
	}
	for _, word := range strings.Fields(strings.ToLower(o.Query)) {
		w.add(alias+`.search LIKE ? ESCAPE '\'`, "%"+escapeLike(word)+"%")
	}
	if after != "" {
		w.add(alias+".id > ?", after)
	}
}

func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// searchText is what the search column holds: lower-cased in Go, because
// neither engine lower-cases Cyrillic the same way in SQL (SQLite not at all).
func searchText(parts ...string) string {
	var nonEmpty []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			nonEmpty = append(nonEmpty, p)
		}
	}
	return strings.ToLower(strings.Join(nonEmpty, " "))
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// stateIDFor resolves a member state code for a list filter; an unknown
// code is a field error (state names are public, so nothing is disclosed).
func stateIDFor(ctx context.Context, q db.Querier, code string) (string, error) {
	var id string
	err := q.QueryRow(ctx, "SELECT id FROM member_states WHERE code = ?", strings.TrimSpace(code)).Scan(&id)
	if err == sql.ErrNoRows {
		return "", apperr.Invalid(apperr.FieldError{Field: "state", Code: "unknown_state", Message: "no member state has the code " + quote(code)})
	}
	return id, err
}

// nullable turns "" into SQL NULL for optional references.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return clock.Norm(*t)
}

func timePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := clock.Norm(n.Time)
	return &t
}

func isArchived(t *time.Time, now time.Time) bool { return t != nil && !t.After(now) }

// sameJSON compares two values by their JSON form: the file form of a record
// is what decides whether an import or an update changes anything.
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// refArg answers the lookup "WHERE id = ? OR code = ?" with id winning, so a
// code that happens to look like an id cannot shadow a record.
const refWhere = "(%[1]s.id = ? OR %[1]s.code = ?)"
const refOrder = " ORDER BY CASE WHEN %[1]s.id = ? THEN 0 ELSE 1 END LIMIT 1"
