package duty

import (
	"context"
	"sort"
	"strings"
	"time"

	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// dutyCols are what "who is on duty" needs of a covering row: the row,
// its person's names and channels, and the person's active user.
const dutyCols = `s.id, s.post_id, s.person_id, s.slot, s.start_at, s.end_at, s.source,
	p.name_en, p.name_ru, p.email, p.phone, COALESCE(u.id, ''), COALESCE(u.login, '')`

// cutCols are what it needs of a row that does not cover the instant but
// may cut a covering row short: no person, since such a row never wins.
const cutCols = `s.id, s.post_id, s.person_id, s.slot, s.start_at, s.end_at, s.source,
	'', '', '', '', '', ''`

// onDutyQuery reads, in one statement, the rows that decide who is on duty
// at `at` at the posts selected by cond (an SQL condition on s.post_id,
// bound twice with condArgs; "" for every post):
//
//   - every row covering `at` (it starts within MaxShift before `at`, so
//     each post costs a short range of the (post_id, start_at) index), and
//   - the manual shifts and overrides near `at` that do not cover it but
//     may cut the covering row short (few; their own partial index), so
//     that Start and End of an entry are those of the stretch the person
//     really holds.
//
// Precedence is then applied in Go (effective).
func onDutyQuery(ctx context.Context, q db.Querier, cond string, condArgs []any, at time.Time) ([]*row, error) {
	and := ""
	if cond != "" {
		and = " AND " + cond
	}
	// A person archived by `at` (who has left) is on duty nowhere, whatever
	// rows were generated for them before they left.
	query := `SELECT ` + dutyCols + shiftFrom + ` WHERE s.start_at <= ? AND s.start_at > ? AND s.end_at > ?
		AND (p.active_to IS NULL OR p.active_to > ?)` + and +
		` UNION ALL SELECT ` + cutCols + ` FROM duty_shifts s JOIN people p ON p.id = s.person_id
		WHERE s.source <> 'rotation' AND s.start_at > ? AND s.start_at < ? AND s.end_at > ?
		AND (s.start_at > ? OR s.end_at <= ?) AND (p.active_to IS NULL OR p.active_to > ?)` + and
	args := make([]any, 0, 10+2*len(condArgs))
	args = append(args, at, at.Add(-MaxShift), at, at)
	args = append(args, condArgs...)
	args = append(args, at.Add(-2*MaxShift), at.Add(MaxShift), at.Add(-MaxShift), at, at, at)
	args = append(args, condArgs...)
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*row
	for rs.Next() {
		r := &row{}
		var slot, source string
		if err := rs.Scan(&r.ID, &r.PostID, &r.PersonID, &slot, &r.Start, &r.End, &source,
			&r.PersonName.EN, &r.PersonName.RU, &r.email, &r.phone, &r.userID, &r.login); err != nil {
			return nil, err
		}
		r.Slot, r.Source = Slot(slot), Source(source)
		r.Start, r.End = clock.Norm(r.Start), clock.Norm(r.End)
		out = append(out, r)
	}
	return out, rs.Err()
}

// onDutyFrom applies precedence to rows and returns, per post, who holds
// each slot at `at` (primary first). Posts with nobody on duty are absent.
func onDutyFrom(rows []*row, at time.Time) map[string][]OnDutyEntry {
	out := map[string][]OnDutyEntry{}
	for _, e := range effectiveAll(rows) {
		if e.Start.After(at) || !e.End.After(at) {
			continue
		}
		r := e.r
		out[r.PostID] = append(out[r.PostID], OnDutyEntry{
			PersonID: r.PersonID, Name: r.PersonName, UserID: r.userID, Login: r.login, Slot: r.Slot,
			Start: e.Start, End: e.End, ShiftID: r.ID, Source: r.Source, Email: r.email, Phone: r.phone,
		})
	}
	for _, es := range out {
		sort.Slice(es, func(i, j int) bool { return es[i].Slot == Primary && es[j].Slot != Primary })
	}
	return out
}

// onDuty runs onDutyQuery over postIDs in as few statements as the
// engines' variable limits allow (one up to maxIDsPerQuery posts), with
// scope (an extra condition, may be "") added to each.
func onDuty(ctx context.Context, q db.Querier, postIDs []string, scope string, scopeArgs []any, at time.Time) (map[string][]OnDutyEntry, error) {
	at = clock.Norm(at)
	ids := uniq(postIDs)
	var rows []*row
	for len(ids) > 0 {
		n := min(maxIDsPerQuery, len(ids))
		cond := "s.post_id IN (" + placeholders(n) + ")"
		args := anys(ids[:n])
		if scope != "" {
			cond += " AND " + scope
			args = append(args, scopeArgs...)
		}
		rs, err := onDutyQuery(ctx, q, cond, args, at)
		if err != nil {
			return nil, err
		}
		rows = append(rows, rs...)
		ids = ids[n:]
	}
	return onDutyFrom(rows, at), nil
}

// OnDuty tells who is on duty at `at` at each of postIDs the caller may
// see, overrides applied, in one query (up to 10,000 posts; more are read
// in chunks of that size). Posts with nobody on duty, and posts the caller
// may not see, are absent from the map.
func (s *Store) OnDuty(ctx context.Context, postIDs []string, at time.Time) (map[string][]OnDutyEntry, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	scope, scopeArgs := "", []any(nil)
	if f, args := stateFilter(a, "po.state_id"); f != "" {
		scope, scopeArgs = "s.post_id IN (SELECT po.id FROM posts po WHERE "+f+")", args
	}
	return onDuty(ctx, s.db, postIDs, scope, scopeArgs, at)
}

// OnDutySystem is OnDuty for the alert engine: it reads through q (the
// engine's transaction, so the answer is consistent with what it writes)
// and filters nothing.
func (s *Store) OnDutySystem(ctx context.Context, q db.Querier, postIDs []string, at time.Time) (map[string][]OnDutyEntry, error) {
	return onDuty(ctx, q, postIDs, "", nil, at)
}

// IsOnDuty tells whether person personID holds a slot of post postID at
// `at` (overrides applied: a person whose shift someone covers is not on
// duty). For the acknowledgement rule; no permission filter.
func (s *Store) IsOnDuty(ctx context.Context, q db.Querier, personID, postID string, at time.Time) (bool, error) {
	if personID == "" || postID == "" {
		return false, nil
	}
	m, err := onDuty(ctx, q, []string{postID}, "", nil, at)
	if err != nil {
		return false, err
	}
	for _, e := range m[postID] {
		if e.PersonID == personID {
			return true, nil
		}
	}
	return false, nil
}

// Board is "who is on duty now": every active post the caller may see
// (centre posts first, then by code), with the post's zone and local time
// at `at` and its on-duty list: two queries up to 10,000 posts.
func (s *Store) Board(ctx context.Context, at time.Time) (DutyNow, error) {
	a, err := actor(ctx)
	if err != nil {
		return DutyNow{}, err
	}
	at = clock.Norm(at)
	where := ` WHERE (po.active_to IS NULL OR po.active_to > ?)`
	args := []any{at}
	if f, fa := stateFilter(a, "po.state_id"); f != "" {
		where += " AND " + f
		args = append(args, fa...)
	}
	rs, err := s.db.Query(ctx, `SELECT `+postCols+` FROM posts po LEFT JOIN member_states ms ON ms.id = po.state_id`+where+
		` ORDER BY CASE WHEN po.kind = 'centre' THEN 0 ELSE 1 END, po.code`, args...)
	if err != nil {
		return DutyNow{}, err
	}
	var posts []postInfo
	for rs.Next() {
		p, err := scanPost(rs)
		if err != nil {
			rs.Close()
			return DutyNow{}, err
		}
		posts = append(posts, p)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return DutyNow{}, err
	}
	ids := make([]string, len(posts))
	for i, p := range posts {
		ids[i] = p.ID
	}
	duty, err := onDuty(ctx, s.db, ids, "", nil, at)
	if err != nil {
		return DutyNow{}, err
	}
	out := DutyNow{Items: make([]BoardItem, 0, len(posts))}
	for _, p := range posts {
		loc := zoneOr(p.TZ)
		local := at.In(loc)
		od := duty[p.ID]
		if od == nil {
			od = []OnDutyEntry{}
		}
		out.Items = append(out.Items, BoardItem{
			Post: BoardPost{
				ID: p.ID, Code: p.Code, Kind: p.Kind, NameEN: p.NameEN, NameRU: p.NameRU, StateID: p.StateID, State: p.StateCode,
				MinistryKind: p.MinistryKind, TZ: p.TZ, LocalTime: local.Format(time.RFC3339), UTCOffset: offset(local),
				HeadPersonID: p.HeadPersonID,
			},
			OnDuty: od,
		})
	}
	return out, nil
}

// offset formats t's zone offset as ±HH:MM.
func offset(t time.Time) string {
	s := t.Format("-07:00")
	if strings.HasPrefix(s, "Z") {
		return "+00:00"
	}
	return s
}
