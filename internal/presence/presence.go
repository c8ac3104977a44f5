package presence

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/events"
)

const (
	// Window is how long a heartbeat keeps its post connected: three
	// missed beats of a terminal beating every 15 s.
	Window = 45 * time.Second
	// Interval is how often a terminal should beat.
	Interval = 15 * time.Second
	// keep is how long heartbeat rows are kept after their last beat.
	keep = 24 * time.Hour
	// pruneEvery throttles the pruning done by beats.
	pruneEvery = time.Hour
	// MaxPosts bounds one beat.
	MaxPosts = 200
)

// Duty tells who is on duty; *duty.Store satisfies it.
type Duty interface {
	OnDutySystem(ctx context.Context, q db.Querier, postIDs []string, at time.Time) (map[string][]duty.OnDutyEntry, error)
}

// Store records and reads heartbeats.
type Store struct {
	db      *db.DB
	clock   clock.Clock
	out     *events.Appender
	duty    Duty
	group   *db.Group
	replica string

	mu         sync.Mutex
	lastPruned time.Time
}

// New returns the presence store. replica names this process in the rows
// (for operators reading them; nothing depends on it).
func New(d *db.DB, c clock.Clock, out *events.Appender, dt Duty, replica string) *Store {
	return &Store{db: d, clock: c, out: out, duty: dt, replica: replica}
}

// SetGroup makes beats share transactions with other small writes (group
// commit); g.Run must be running. Thousands of terminals beating every 15 s
// are hundreds of writes a second.
func (s *Store) SetGroup(g *db.Group) { s.group = g }

// Post is a post a beat marked.
type Post struct {
	ID   string `json:"id"`
	Code string `json:"code"`
}

// Ignored is a post asked for that the beat did not mark, and why.
type Ignored struct {
	Post   string `json:"post"`
	Reason string `json:"reason"`
}

// Result is what a beat did.
type Result struct {
	At      time.Time `json:"server_time"`
	Posts   []Post    `json:"posts"`   // marked connected by this beat
	Ignored []Ignored `json:"ignored"` // asked for, not marked
	// Until is when the posts turn disconnected without another beat.
	Until time.Time `json:"connected_until"`
}

// Status is a post's connection state at an instant.
type Status struct {
	Connected bool      `json:"connected"`
	LastAt    time.Time `json:"last_at"` // the latest heartbeat of any terminal of the post
}

// Reasons a post asked for is not marked.
const (
	ReasonCentre    = "centre screens never mark a post connected"
	ReasonNotActing = "the caller is neither on duty at this post, nor holds a grant for it, nor a token bound to it"
	ReasonOtherPost = "the token is bound to another post"
	ReasonArchived  = "the post is archived"
)

type postRow struct {
	id, code, stateID string
	archived          bool
}

// sessionKey identifies the terminal: one browser session or one API token.
func sessionKey(a *auth.Actor) string {
	switch {
	case a.Kind == auth.KindToken:
		return "token:" + a.TokenID
	case a.SessionID != "":
		return "session:" + a.SessionID
	}
	return "user:" + a.UserID
}

// Beat records that the caller's terminal is connected for the posts in
// refs (ids or codes), or, when refs is empty, for every post the caller
// acts for now. See the package comment for who may mark which post.
func (s *Store) Beat(ctx context.Context, refs []string) (*Result, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to report a connected terminal")
	}
	now := clock.Norm(s.clock.Now())
	res := &Result{At: now, Posts: []Post{}, Ignored: []Ignored{}, Until: now.Add(Window)}
	refs = clean(refs)
	if len(refs) > MaxPosts {
		return nil, apperr.Invalid(apperr.FieldError{Field: "posts", Code: "too_many", Message: "at most 200 posts in one beat"})
	}
	if a.Kind == auth.KindSystem {
		return nil, apperr.Forbidden("", "the system has no terminal")
	}
	var cands []postRow
	var err error
	if len(refs) > 0 {
		var unknown []string
		cands, unknown, err = s.resolve(ctx, refs)
		if err != nil {
			return nil, err
		}
		if len(unknown) > 0 {
			return nil, apperr.Invalid(apperr.FieldError{Field: "posts", Code: "unknown_post", Message: "unknown posts: " + strings.Join(unknown, ", ")})
		}
	} else if !a.IsCentre() {
		if cands, err = s.own(ctx, a); err != nil {
			return nil, err
		}
	}
	var eligible []postRow
	var check []string
	for _, p := range cands {
		switch {
		case a.IsCentre():
			res.Ignored = append(res.Ignored, Ignored{p.code, ReasonCentre})
		case p.archived:
			res.Ignored = append(res.Ignored, Ignored{p.code, ReasonArchived})
		case a.TokenPostID != "" && a.TokenPostID != p.id:
			res.Ignored = append(res.Ignored, Ignored{p.code, ReasonOtherPost})
		case a.TokenPostID == p.id || postGrant(a, p.id):
			eligible = append(eligible, p)
		default:
			check = append(check, p.id)
		}
	}
	if len(check) > 0 {
		on := map[string]bool{}
		if a.PersonID != "" && a.TokenPostID == "" {
			m, err := s.duty.OnDutySystem(ctx, s.db, check, now)
			if err != nil {
				return nil, err
			}
			for post, es := range m {
				for _, e := range es {
					if e.PersonID == a.PersonID {
						on[post] = true
					}
				}
			}
		}
		for _, p := range cands {
			if !slicesContains(check, p.id) {
				continue
			}
			if on[p.id] {
				eligible = append(eligible, p)
			} else if len(refs) > 0 {
				// Only posts the caller named are reported; a default beat
				// does not list every post of a state it is not on duty at.
				res.Ignored = append(res.Ignored, Ignored{p.code, ReasonNotActing})
			}
		}
	}
	sort.Slice(eligible, func(i, j int) bool { return eligible[i].code < eligible[j].code })
	for _, p := range eligible {
		res.Posts = append(res.Posts, Post{ID: p.id, Code: p.code})
	}
	if len(eligible) == 0 {
		return res, nil
	}
	key := sessionKey(a)
	write := func(tx *db.Tx) error { return s.write(ctx, tx, key, a.UserID, eligible, now) }
	if s.group != nil {
		err = s.group.Do(ctx, write)
	} else {
		err = s.db.RunInTx(ctx, write)
	}
	if err != nil {
		return nil, err
	}
	s.maybePrune(ctx, now)
	return res, nil
}

// write upserts the heartbeats and announces posts that were disconnected.
func (s *Store) write(ctx context.Context, tx *db.Tx, key, userID string, posts []postRow, now time.Time) error {
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.id
	}
	live := map[string]bool{}
	rows, err := tx.Query(ctx, "SELECT DISTINCT post_id FROM heartbeats WHERE post_id IN ("+ph(len(ids))+") AND last_at > ?",
		append(anys(ids), now.Add(-Window))...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		live[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var uid any
	if userID != "" {
		uid = userID
	}
	var evs []events.Event
	for _, p := range posts {
		if _, err := tx.Exec(ctx, `INSERT INTO heartbeats (session_key, post_id, user_id, replica, first_at, last_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (session_key, post_id) DO UPDATE SET last_at = excluded.last_at, replica = excluded.replica,
			first_at = CASE WHEN heartbeats.last_at > ? THEN heartbeats.first_at ELSE excluded.first_at END`,
			key, p.id, uid, s.replica, now, now, now.Add(-Window)); err != nil {
			return err
		}
		if !live[p.id] {
			evs = append(evs, events.Event{Type: events.TypePostStatus, Audience: events.AudiencePost(p.id),
				Payload: PostStatus{PostID: p.id, Code: p.code, Connected: true, Since: now, Until: now.Add(Window)}})
		}
	}
	if len(evs) > 0 && s.out != nil {
		if _, err := s.out.Append(ctx, tx, evs...); err != nil {
			return err
		}
	}
	return nil
}

// PostStatus is the payload of a post.status event.
type PostStatus struct {
	PostID    string    `json:"post_id"`
	Code      string    `json:"code"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
	// Until is when the post turns disconnected unless another beat
	// arrives; a reader that has heard nothing more by then shows it so.
	Until time.Time `json:"until"`
}

// Connected returns the posts connected at `at` with their latest
// heartbeat, among the posts the caller may see (every post for the
// centre and administrators; their own member states' and the
// organisation's for others).
func (s *Store) Connected(ctx context.Context, at time.Time) (map[string]time.Time, error) {
	st, err := s.States(ctx, at)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(st))
	for id, x := range st {
		if x.Connected {
			out[id] = x.LastAt
		}
	}
	return out, nil
}

// States returns, for every post the caller may see that has had a
// heartbeat within the last day, its latest heartbeat and whether it is
// connected at `at`.
func (s *Store) States(ctx context.Context, at time.Time) (map[string]Status, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in")
	}
	at = clock.Norm(at)
	q := `SELECT h.post_id, MAX(h.last_at) FROM heartbeats h JOIN posts p ON p.id = h.post_id WHERE h.last_at > ?`
	args := []any{at.Add(-keep)}
	if !a.SeesAllStates() {
		ids := a.StateIDs()
		if len(ids) == 0 {
			q += " AND p.state_id IS NULL"
		} else {
			q += " AND (p.state_id IS NULL OR p.state_id IN (" + ph(len(ids)) + "))"
			args = append(args, anys(ids)...)
		}
	}
	rows, err := s.db.Query(ctx, q+" GROUP BY h.post_id", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]Status{}
	for rows.Next() {
		var id string
		var last db.NullTime
		if err := rows.Scan(&id, &last); err != nil {
			return nil, err
		}
		if !last.Valid {
			continue
		}
		t := clock.Norm(last.Time)
		out[id] = Status{Connected: t.After(at.Add(-Window)), LastAt: t}
	}
	return out, rows.Err()
}

// resolve finds posts by id or code.
func (s *Store) resolve(ctx context.Context, refs []string) ([]postRow, []string, error) {
	now := s.clock.Now()
	rows, err := s.db.Query(ctx, "SELECT id, code, COALESCE(state_id, ''), CASE WHEN active_to IS NOT NULL AND active_to <= ? THEN 1 ELSE 0 END FROM posts WHERE id IN ("+
		ph(len(refs))+") OR code IN ("+ph(len(refs))+")", append(append([]any{now}, anys(refs)...), anys(refs)...)...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	found := map[string]bool{}
	var out []postRow
	for rows.Next() {
		var p postRow
		var arch int
		if err := rows.Scan(&p.id, &p.code, &p.stateID, &arch); err != nil {
			return nil, nil, err
		}
		p.archived = arch == 1
		found[p.id], found[p.code] = true, true
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var unknown []string
	for _, r := range refs {
		if !found[r] {
			unknown = append(unknown, r)
		}
	}
	return out, unknown, nil
}

// own lists the posts a caller may act for by default: the bound post of a
// token, else the posts of their post grants and every active post of the
// member states of their state grants (marked only where they are on duty).
func (s *Store) own(ctx context.Context, a *auth.Actor) ([]postRow, error) {
	var ids, states []string
	if a.TokenPostID != "" {
		ids = []string{a.TokenPostID}
	} else {
		for _, g := range a.Grants {
			switch g.ScopeKind {
			case auth.ScopePost:
				ids = append(ids, g.ScopeID)
			case auth.ScopeState:
				states = append(states, g.ScopeID)
			}
		}
	}
	if len(ids) == 0 && len(states) == 0 {
		return nil, nil
	}
	var conds []string
	args := []any{s.clock.Now()}
	if len(ids) > 0 {
		conds = append(conds, "id IN ("+ph(len(ids))+")")
		args = append(args, anys(ids)...)
	}
	if len(states) > 0 {
		conds = append(conds, "(state_id IN ("+ph(len(states))+") AND (active_to IS NULL OR active_to > ?))")
		args = append(append(args, anys(states)...), s.clock.Now())
	}
	rows, err := s.db.Query(ctx, "SELECT id, code, COALESCE(state_id, ''), CASE WHEN active_to IS NOT NULL AND active_to <= ? THEN 1 ELSE 0 END FROM posts WHERE "+
		strings.Join(conds, " OR ")+" ORDER BY code", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []postRow
	for rows.Next() {
		var p postRow
		var arch int
		if err := rows.Scan(&p.id, &p.code, &p.stateID, &arch); err != nil {
			return nil, err
		}
		p.archived = arch == 1
		out = append(out, p)
	}
	return out, rows.Err()
}

// maybePrune deletes day-old rows, at most hourly per process. A failure
// only delays the pruning.
func (s *Store) maybePrune(ctx context.Context, now time.Time) {
	s.mu.Lock()
	due := now.Sub(s.lastPruned) >= pruneEvery || now.Before(s.lastPruned)
	if due {
		s.lastPruned = now
	}
	s.mu.Unlock()
	if due {
		_, _ = s.Prune(ctx, now.Add(-keep))
	}
}

// Prune deletes heartbeats whose last beat is older than before.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		r, err := tx.Exec(ctx, "DELETE FROM heartbeats WHERE last_at < ?", clock.Norm(before))
		if err != nil {
			return err
		}
		n, _ = r.RowsAffected()
		return nil
	})
	return n, err
}

// postGrant: the actor holds a grant scoped to this very post.
func postGrant(a *auth.Actor, postID string) bool {
	for _, g := range a.Grants {
		if g.ScopeKind == auth.ScopePost && g.ScopeID == postID {
			return true
		}
	}
	return false
}

func clean(refs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

func slicesContains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func ph(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
