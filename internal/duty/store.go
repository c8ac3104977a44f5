package duty

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"

	// Zones are loaded with time.LoadLocation; the embedded database keeps
	// a valid zone from failing on a host without /usr/share/zoneinfo.
	_ "time/tzdata"
)

const (
	// DefaultHorizon is how far ahead rotations generate shift rows.
	DefaultHorizon = 60 * 24 * time.Hour
	// MaxShift is the longest a single row may last. Rotation rows last at
	// most 25 hours (a 24-hour shift across a clock change); manual shifts
	// are capped here because "who is on duty at t" reads only the rows that
	// start within MaxShift before t, which keeps that query a short index
	// range per post however long the roster's history grows.
	MaxShift = 48 * time.Hour
	// startSkew is how far in the past a new shift or override may say it
	// starts (a form filled in at "now" arrives a little later); such a
	// start is clamped to now, so no row ever claims time already gone.
	startSkew = 5 * time.Minute
	// maxIDsPerQuery bounds the ids bound into one IN list (SQLite allows
	// 32,766 variables, PostgreSQL 65,535; the on-duty query binds the list
	// twice).
	maxIDsPerQuery = 10000
)

// Store reads and writes duty rosters.
type Store struct {
	db      *db.DB
	clock   clock.Clock
	audit   *audit.Log
	horizon time.Duration
	host    string
}

// New returns the duty store of d.
func New(d *db.DB, c clock.Clock, a *audit.Log) *Store {
	return &Store{db: d, clock: c, audit: a, horizon: DefaultHorizon, host: "sitroom"}
}

// SetHorizon changes how far ahead rotations generate (default 60 days).
func (s *Store) SetHorizon(h time.Duration) {
	if h > 0 {
		s.horizon = h
	}
}

// SetFeedHost sets the host name in iCalendar UIDs (shift-id@host): it must
// stay the same for the life of the installation, or calendar clients will
// see every shift as new.
func (s *Store) SetFeedHost(host string) {
	if host = strings.TrimSpace(host); host != "" {
		s.host = host
	}
}

func (s *Store) now() time.Time { return clock.Norm(s.clock.Now()) }

// postInfo is what the roster rules need of a post.
type postInfo struct {
	ID, Code, Kind, NameEN, NameRU, StateID, StateCode, MinistryKind, TZ, HeadPersonID string
	ActiveTo                                                                           *time.Time
}

func (p postInfo) activeAt(t time.Time) bool { return p.ActiveTo == nil || p.ActiveTo.After(t) }

const postCols = `po.id, po.code, po.kind, po.name_en, po.name_ru, COALESCE(po.state_id, ''), COALESCE(ms.code, ''),
	po.ministry_kind, po.tz, COALESCE(po.head_person_id, ''), po.active_to`

func scanPost(sc interface{ Scan(...any) error }) (postInfo, error) {
	var p postInfo
	var act sql.NullTime
	err := sc.Scan(&p.ID, &p.Code, &p.Kind, &p.NameEN, &p.NameRU, &p.StateID, &p.StateCode, &p.MinistryKind, &p.TZ, &p.HeadPersonID, &act)
	if act.Valid {
		t := clock.Norm(act.Time)
		p.ActiveTo = &t
	}
	return p, err
}

func loadPost(ctx context.Context, q db.Querier, id string) (postInfo, bool, error) {
	p, err := scanPost(q.QueryRow(ctx, `SELECT `+postCols+` FROM posts po LEFT JOIN member_states ms ON ms.id = po.state_id WHERE po.id = ?`, id))
	if err == sql.ErrNoRows {
		return p, false, nil
	}
	return p, err == nil, err
}

// actor returns the signed-in actor or Unauthorized.
func actor(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to see duty rosters")
	}
	return a, nil
}

// canEdit: administrators, centre supervisors, and the post's head.
func canEdit(a *auth.Actor, p postInfo) bool {
	return a.IsAdmin() || a.HasGlobal(auth.CentreSupervisor) || a.HasForPost(auth.PostHead, p.ID, p.StateID)
}

func notFoundPost() error { return apperr.NotFound("post") }

func forbiddenEdit() error {
	return apperr.Forbidden("roster-edit", "only administrators, centre supervisors and the post's head may change its roster")
}

// viewPost loads a post the actor may see (NotFound otherwise).
func (s *Store) viewPost(ctx context.Context, q db.Querier, postID string) (*auth.Actor, postInfo, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, postInfo{}, err
	}
	p, ok, err := loadPost(ctx, q, postID)
	if err != nil {
		return nil, p, err
	}
	if !ok || !a.CanSeeState(p.StateID) {
		return nil, p, notFoundPost()
	}
	return a, p, nil
}

// editPost loads a live post the actor may change; it also bumps the
// post's roster revision, which queues concurrent writers of one post.
func (s *Store) editPost(ctx context.Context, tx *db.Tx, postID string) (*auth.Actor, postInfo, error) {
	a, p, err := s.viewPost(ctx, tx, postID)
	if err != nil {
		return nil, p, err
	}
	if !canEdit(a, p) {
		return nil, p, forbiddenEdit()
	}
	if !p.activeAt(s.now()) {
		return nil, p, apperr.Conflict("post-archived", "the post is archived; its roster can no longer change")
	}
	if err := s.bumpRoster(ctx, tx, p.ID); err != nil {
		return nil, p, err
	}
	return a, p, nil
}

func (s *Store) bumpRoster(ctx context.Context, tx *db.Tx, postID string) error {
	_, err := tx.Exec(ctx, `INSERT INTO duty_rosters (post_id, rev, updated_at) VALUES (?, 1, ?)
		ON CONFLICT (post_id) DO UPDATE SET rev = duty_rosters.rev + 1, updated_at = excluded.updated_at`, postID, s.now())
	return err
}

// personInfo is what the roster rules need of a person.
type personInfo struct {
	ID, StateID, Email, Phone, UserID, Login string
	Name                                     Name
	ActiveTo                                 *time.Time
}

func (p personInfo) activeAt(t time.Time) bool { return p.ActiveTo == nil || p.ActiveTo.After(t) }

const personCols = `p.id, COALESCE(p.state_id, ''), p.name_en, p.name_ru, p.email, p.phone, p.active_to, COALESCE(u.id, ''), COALESCE(u.login, '')`

// personJoin joins a person's active user, if any (users.person_id is unique).
const personJoin = ` LEFT JOIN users u ON u.person_id = p.id AND u.active = TRUE`

func scanPerson(sc interface{ Scan(...any) error }, extra ...any) (personInfo, error) {
	var p personInfo
	var act sql.NullTime
	dest := append([]any{&p.ID, &p.StateID, &p.Name.EN, &p.Name.RU, &p.Email, &p.Phone, &act, &p.UserID, &p.Login}, extra...)
	err := sc.Scan(dest...)
	if act.Valid {
		t := clock.Norm(act.Time)
		p.ActiveTo = &t
	}
	return p, err
}

func loadPeople(ctx context.Context, q db.Querier, ids []string) (map[string]personInfo, error) {
	out := map[string]personInfo{}
	ids = uniq(ids)
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT `+personCols+` FROM people p`+personJoin+` WHERE p.id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, rows.Err()
}

// eligible checks that person may serve on post p's roster (or be named
// on its escalation path): they must exist, not be archived at `at`, and
// belong to the post's member state or to the organisation itself (people
// without a member state). It returns a field error for field.
func eligible(field string, id string, people map[string]personInfo, p postInfo, at time.Time) *apperr.FieldError {
	pi, ok := people[id]
	switch {
	case strings.TrimSpace(id) == "":
		return &apperr.FieldError{Field: field, Code: "required", Message: "a person is required"}
	case !ok:
		return &apperr.FieldError{Field: field, Code: "unknown_person", Message: "no person has the id " + quote(id)}
	case !pi.activeAt(at):
		return &apperr.FieldError{Field: field, Code: "person_archived", Message: pi.Name.EN + " is archived and can no longer be put on duty"}
	case pi.StateID != "" && pi.StateID != p.StateID:
		return &apperr.FieldError{Field: field, Code: "person_not_in_post_state",
			Message: pi.Name.EN + " belongs to another member state; a post's roster takes people of the post's own member state or of the organisation"}
	}
	return nil
}

func quote(s string) string { return "\"" + s + "\"" }

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

func uniq(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timePtr(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := clock.Norm(n.Time)
	return &t
}

// stateFilter returns an SQL condition limiting column col (a posts.state_id)
// to the states a scoped actor may see, or "" for actors who see them all.
func stateFilter(a *auth.Actor, col string) (string, []any) {
	if a.SeesAllStates() {
		return "", nil
	}
	ids := a.StateIDs()
	if len(ids) == 0 {
		return "(" + col + " IS NULL)", nil
	}
	return "(" + col + " IS NULL OR " + col + " IN (" + placeholders(len(ids)) + "))", anys(ids)
}

func loadZone(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// zoneOr returns the zone named, or UTC when the name is unknown (a post's
// zone was validated by the directory; this only guards reads).
func zoneOr(name string) *time.Location {
	l, err := loadZone(name)
	if err != nil {
		return time.UTC
	}
	return l
}
