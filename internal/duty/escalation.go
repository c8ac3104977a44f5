package duty

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

const (
	// MaxLevels bounds an escalation path.
	MaxLevels = 10
	// MaxLevelDelay bounds one level's delay.
	MaxLevelDelay = 7 * 24 * 3600
	// DefaultCentreDelay is the default path's wait between the head of
	// post and the centre's duty officers.
	DefaultCentreDelay = 300
)

// ErrNoLevel is returned by ResolveLevel for a level past the end of the
// post's path: the delivery has run out of escalation (it is missed).
var ErrNoLevel = errors.New("duty: no such escalation level")

// DefaultPath is the escalation path of a post that has none of its own:
//
//	level 0 (at once):         the on-duty primary and deputy
//	level 1 (at the deadline): the head of post
//	level 2 (5 minutes later): the centre's on-duty officers
//
// Why: both officers on duty may acknowledge, so paging only the primary
// would spend part of the deadline on a deputy sitting beside the screen;
// the deputy step of the classic chain (officer → deputy → head → centre)
// is therefore folded into level 0. The first step after silence is the one
// person answerable for the post, its head. Last comes the centre's own
// duty desk, which can telephone the post and record a confirmation by
// phone (centre officers can never acknowledge for a post, so they end the
// chain rather than sit in it). A post with nobody on duty starts at level
// 1 at once (the engine's rule), which here is the head: someone who can
// actually fix an empty roster.
func DefaultPath() []EscalationLevel {
	return []EscalationLevel{
		{Level: 0, Targets: []EscalationTarget{{Target: TargetPrimary}, {Target: TargetDeputy}}},
		{Level: 1, Targets: []EscalationTarget{{Target: TargetHead}}},
		{Level: 2, Targets: []EscalationTarget{{Target: TargetCentre}}, DelaySeconds: DefaultCentreDelay},
	}
}

// pathsFor reads the configured paths of postIDs (posts without one are
// absent).
func pathsFor(ctx context.Context, q db.Querier, postIDs []string) (map[string][]EscalationLevel, error) {
	out := map[string][]EscalationLevel{}
	ids := uniq(postIDs)
	for len(ids) > 0 {
		n := min(maxIDsPerQuery, len(ids))
		rs, err := q.Query(ctx, `SELECT l.post_id, l.level, l.delay_seconds, t.target, COALESCE(t.person_id, '')
			FROM duty_escalation_levels l JOIN duty_escalation_targets t ON t.post_id = l.post_id AND t.level = l.level
			WHERE l.post_id IN (`+placeholders(n)+`) ORDER BY l.post_id, l.level, t.position`, anys(ids[:n])...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var post, target, person string
			var level, delay int
			if err := rs.Scan(&post, &level, &delay, &target, &person); err != nil {
				rs.Close()
				return nil, err
			}
			ls := out[post]
			if len(ls) == 0 || ls[len(ls)-1].Level != level {
				ls = append(ls, EscalationLevel{Level: level, DelaySeconds: delay})
			}
			ls[len(ls)-1].Targets = append(ls[len(ls)-1].Targets, EscalationTarget{Target: Target(target), PersonID: person})
			out[post] = ls
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

func pathOf(configured map[string][]EscalationLevel, postID string) EscalationPath {
	if ls, ok := configured[postID]; ok {
		return EscalationPath{PostID: postID, Levels: ls}
	}
	return EscalationPath{PostID: postID, Default: true, Levels: DefaultPath()}
}

// EscalationPath returns post postID's path (the default one if it has
// none of its own).
func (s *Store) EscalationPath(ctx context.Context, postID string) (EscalationPath, error) {
	if _, _, err := s.viewPost(ctx, s.db, postID); err != nil {
		return EscalationPath{}, err
	}
	return s.EscalationPathSystem(ctx, s.db, postID)
}

// EscalationPathSystem is EscalationPath for the engine (no permission
// check), through q.
func (s *Store) EscalationPathSystem(ctx context.Context, q db.Querier, postID string) (EscalationPath, error) {
	m, err := pathsFor(ctx, q, []string{postID})
	if err != nil {
		return EscalationPath{}, err
	}
	return pathOf(m, postID), nil
}

// SetEscalationPath replaces post postID's path; an empty one restores the
// default. Levels are numbered by their order (the Level field is ignored
// on input). Levels 0 and 1 take no delay (at once; at the deadline); each
// later level needs one, 1 s to 7 days after the level before.
func (s *Store) SetEscalationPath(ctx context.Context, postID string, levels []EscalationLevel) (EscalationPath, error) {
	var out EscalationPath
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		_, p, err := s.editPost(ctx, tx, postID)
		if err != nil {
			return err
		}
		var f fieldErrs
		if len(levels) > MaxLevels {
			f.add("levels", "too_many", "at most %d levels", MaxLevels)
		}
		var personIDs []string
		for _, l := range levels {
			for _, t := range l.Targets {
				if t.Target == TargetPerson {
					personIDs = append(personIDs, t.PersonID)
				}
			}
		}
		people, err := loadPeople(ctx, tx, personIDs)
		if err != nil {
			return err
		}
		now := s.now()
		clean := make([]EscalationLevel, len(levels))
		for i, l := range levels {
			field := fmt.Sprintf("levels[%d]", i)
			clean[i] = EscalationLevel{Level: i, DelaySeconds: l.DelaySeconds}
			switch {
			case i <= 1 && l.DelaySeconds != 0:
				f.add(field+".delay_seconds", "delay_not_allowed", "level %d fires %s; it takes no delay", i, map[int]string{0: "at once", 1: "at the alert's deadline"}[i])
			case i >= 2 && (l.DelaySeconds < 1 || l.DelaySeconds > MaxLevelDelay):
				f.add(field+".delay_seconds", "delay_required", "level %d needs a delay of 1 s to 7 days after the level before", i)
			}
			if len(l.Targets) == 0 {
				f.add(field+".targets", "required", "a level reaches at least one target")
			}
			seen := map[EscalationTarget]bool{}
			for j, t := range l.Targets {
				tf := fmt.Sprintf("%s.targets[%d]", field, j)
				if !t.Target.Valid() {
					f.add(tf+".target", "invalid_target", "target must be primary, deputy, head, person or centre_officer")
					continue
				}
				if t.Target == TargetPerson {
					f.addErr(eligible(tf+".person_id", t.PersonID, people, p, now))
				} else {
					t.PersonID = ""
				}
				if seen[t] {
					f.add(tf, "duplicate", "the level already has this target")
				}
				seen[t] = true
				clean[i].Targets = append(clean[i].Targets, t)
			}
		}
		if err := f.err(); err != nil {
			return err
		}
		var before EscalationPath
		if m, err := pathsFor(ctx, tx, []string{p.ID}); err != nil {
			return err
		} else {
			before = pathOf(m, p.ID)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM duty_escalation_targets WHERE post_id = ?`, p.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM duty_escalation_levels WHERE post_id = ?`, p.ID); err != nil {
			return err
		}
		for _, l := range clean {
			if _, err := tx.Exec(ctx, `INSERT INTO duty_escalation_levels (post_id, level, delay_seconds) VALUES (?, ?, ?)`, p.ID, l.Level, l.DelaySeconds); err != nil {
				return err
			}
			for j, t := range l.Targets {
				if _, err := tx.Exec(ctx, `INSERT INTO duty_escalation_targets (post_id, level, position, target, person_id) VALUES (?, ?, ?, ?, ?)`,
					p.ID, l.Level, j, string(t.Target), nullable(t.PersonID)); err != nil {
					return err
				}
			}
		}
		if len(clean) == 0 {
			out = EscalationPath{PostID: p.ID, Default: true, Levels: DefaultPath()}
		} else {
			out = EscalationPath{PostID: p.ID, Levels: clean}
		}
		summary := fmt.Sprintf("escalation path of %s set (%d levels)", p.Code, len(clean))
		if len(clean) == 0 {
			summary = "escalation path of " + p.Code + " reset to the default"
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.escalation.set", ObjectType: "post", ObjectID: p.ID, Summary: summary, Before: before, After: out,
		})
	})
	return out, err
}

// ResolveLevel returns the people level `level` of post postID's path
// reaches at `at`, with their channels, for the alert engine (no
// permission filter; reads through q). The list may be empty (nobody on
// duty, no head); a level past the end of the path is ErrNoLevel.
func (s *Store) ResolveLevel(ctx context.Context, q db.Querier, postID string, level int, at time.Time) ([]Recipient, error) {
	st, err := s.ResolveStep(ctx, q, postID, level, at)
	if err != nil {
		return nil, err
	}
	if !st.Exists {
		return nil, ErrNoLevel
	}
	return st.Recipients, nil
}

// ResolveStep is ResolveLevel with the level's delay, and Exists false
// (not an error) past the end of the path.
func (s *Store) ResolveStep(ctx context.Context, q db.Querier, postID string, level int, at time.Time) (Step, error) {
	m, err := s.ResolveSteps(ctx, q, []string{postID}, level, at)
	if err != nil {
		return Step{}, err
	}
	return m[postID], nil
}

// ResolveSteps resolves one level for many posts at once (the deadline of
// an alert to thousands of posts falls on all of them in the same second):
// a handful of queries whatever the number of posts.
func (s *Store) ResolveSteps(ctx context.Context, q db.Querier, postIDs []string, level int, at time.Time) (map[string]Step, error) {
	at = clock.Norm(at)
	ids := uniq(postIDs)
	configured, err := pathsFor(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	levels := map[string]EscalationLevel{}
	var dutyPosts, headPosts, personIDs []string
	needCentre := false
	out := make(map[string]Step, len(ids))
	for _, id := range ids {
		path := pathOf(configured, id)
		if level < 0 || level >= len(path.Levels) {
			out[id] = Step{Level: level}
			continue
		}
		l := path.Levels[level]
		levels[id] = l
		for _, t := range l.Targets {
			switch t.Target {
			case TargetPrimary, TargetDeputy:
				dutyPosts = append(dutyPosts, id)
			case TargetHead:
				headPosts = append(headPosts, id)
			case TargetPerson:
				personIDs = append(personIDs, t.PersonID)
			case TargetCentre:
				needCentre = true
			}
		}
	}
	duty, err := onDuty(ctx, q, dutyPosts, "", nil, at)
	if err != nil {
		return nil, err
	}
	heads, err := headsOf(ctx, q, uniq(headPosts))
	if err != nil {
		return nil, err
	}
	people, err := loadPeople(ctx, q, personIDs)
	if err != nil {
		return nil, err
	}
	var centre []OnDutyEntry
	var centrePost map[string]string
	if needCentre {
		rows, err := onDutyQuery(ctx, q, `s.post_id IN (SELECT po.id FROM posts po WHERE po.kind = 'centre' AND (po.active_to IS NULL OR po.active_to > ?))`, []any{at}, at)
		if err != nil {
			return nil, err
		}
		m := onDutyFrom(rows, at)
		posts := make([]string, 0, len(m))
		for p := range m {
			posts = append(posts, p)
		}
		sort.Strings(posts)
		centrePost = map[string]string{}
		for _, p := range posts {
			for _, e := range m[p] {
				centre = append(centre, e)
				centrePost[e.ShiftID] = p
			}
		}
	}
	fromEntry := func(e OnDutyEntry, t Target, post string) Recipient {
		return Recipient{PersonID: e.PersonID, Name: e.Name, UserID: e.UserID, Login: e.Login, Email: e.Email, Phone: e.Phone, Target: t, PostID: post}
	}
	fromPerson := func(p personInfo, t Target, post string) Recipient {
		return Recipient{PersonID: p.ID, Name: p.Name, UserID: p.UserID, Login: p.Login, Email: p.Email, Phone: p.Phone, Target: t, PostID: post}
	}
	for id, l := range levels {
		st := Step{Level: level, Exists: true, Recipients: []Recipient{}}
		if level >= 2 {
			st.Delay = time.Duration(l.DelaySeconds) * time.Second
		}
		seen := map[string]bool{}
		add := func(r Recipient) {
			if !seen[r.PersonID] {
				seen[r.PersonID] = true
				st.Recipients = append(st.Recipients, r)
			}
		}
		for _, t := range l.Targets {
			switch t.Target {
			case TargetPrimary, TargetDeputy:
				for _, e := range duty[id] {
					if string(e.Slot) == string(t.Target) {
						add(fromEntry(e, t.Target, id))
					}
				}
			case TargetHead:
				if h, ok := heads[id]; ok && h.activeAt(at) {
					add(fromPerson(h, TargetHead, id))
				}
			case TargetPerson:
				if p, ok := people[t.PersonID]; ok && p.activeAt(at) {
					add(fromPerson(p, TargetPerson, id))
				}
			case TargetCentre:
				for _, e := range centre {
					add(fromEntry(e, TargetCentre, centrePost[e.ShiftID]))
				}
			}
		}
		out[id] = st
	}
	return out, nil
}

// headsOf reads the heads of the posts (posts without one are absent).
func headsOf(ctx context.Context, q db.Querier, postIDs []string) (map[string]personInfo, error) {
	out := map[string]personInfo{}
	for len(postIDs) > 0 {
		n := min(maxIDsPerQuery, len(postIDs))
		rs, err := q.Query(ctx, `SELECT `+personCols+`, po.id FROM posts po JOIN people p ON p.id = po.head_person_id`+personJoin+
			` WHERE po.id IN (`+placeholders(n)+`)`, anys(postIDs[:n])...)
		if err != nil {
			return nil, err
		}
		for rs.Next() {
			var post string
			p, err := scanPerson(rs, &post)
			if err != nil {
				rs.Close()
				return nil, err
			}
			out[post] = p
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return nil, err
		}
		postIDs = postIDs[n:]
	}
	return out, nil
}
