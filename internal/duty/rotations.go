package duty

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

const rotCols = `id, post_id, name, slot, handovers, tz, start_date, team, next_index, generated_to, active_to, created_at, updated_at`

func scanRotation(sc interface{ Scan(...any) error }) (Rotation, int, error) {
	var r Rotation
	var slot, handovers, team string
	var next int
	var gen, act sql.NullTime
	err := sc.Scan(&r.ID, &r.PostID, &r.Name, &slot, &handovers, &r.TZ, &r.StartDate, &team, &next, &gen, &act, &r.CreatedAt, &r.UpdatedAt)
	if err != nil {
		return r, 0, err
	}
	r.Slot = Slot(slot)
	if err := json.Unmarshal([]byte(handovers), &r.Handovers); err != nil {
		return r, 0, fmt.Errorf("rotation %s handovers: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(team), &r.Team); err != nil {
		return r, 0, fmt.Errorf("rotation %s team: %w", r.ID, err)
	}
	r.GeneratedTo, r.ActiveTo = timePtr(gen), timePtr(act)
	r.CreatedAt, r.UpdatedAt = clock.Norm(r.CreatedAt), clock.Norm(r.UpdatedAt)
	return r, next, nil
}

func loadRotation(ctx context.Context, q db.Querier, id string) (Rotation, int, error) {
	r, next, err := scanRotation(q.QueryRow(ctx, `SELECT `+rotCols+` FROM duty_rotations WHERE id = ?`, id))
	if err == sql.ErrNoRows {
		return r, 0, apperr.NotFound("rotation")
	}
	return r, next, err
}

// ruleOf turns a stored rotation into its rule.
func ruleOf(r Rotation) (*rule, error) {
	var f fieldErrs
	ru := validateRule(RotationInput{Slot: r.Slot, Handovers: r.Handovers, StartDate: r.StartDate, Team: r.Team}, r.TZ, &f)
	if err := f.err(); err != nil {
		return nil, fmt.Errorf("rotation %s: stored rule is invalid: %w", r.ID, err)
	}
	return ru, nil
}

// genRow is a shift a rule asks for.
type genRow struct {
	person     string
	start, end time.Time
}

// gen computes the rows of shift numbers next, next+1, … that start
// before limit. No row starts before `after` (the end of what is already
// there: earlier rows are clipped, so hand-overs stay contiguous when a rule
// changes), no row that ends by now is produced (generation never invents
// history), and a shift whose person is archived by its start is left out,
// so the gaps report shows it. It returns the rows, the next shift number
// and the end of the last shift considered.
func (r *rule) gen(next int, after *time.Time, limit, now time.Time, archived func(person string, at time.Time) bool) ([]genRow, int, *time.Time) {
	var out []genRow
	var genTo *time.Time
	if after != nil {
		t := *after
		genTo = &t
	}
	i := next
	floor := now
	if after != nil && after.After(floor) {
		floor = *after
	}
	if j := r.firstEndingAfter(floor); j > i {
		i = j
	}
	for ; ; i++ {
		st, en := r.bounds(i)
		if after != nil && st.Before(*after) {
			st = *after
		}
		if !st.Before(limit) {
			break
		}
		if en.After(st) && en.After(now) && !archived(r.person(i), st) {
			out = append(out, genRow{r.person(i), st, en})
		}
		if genTo == nil || en.After(*genTo) {
			t := en
			genTo = &t
		}
	}
	return out, i, genTo
}

// archivedFunc reports people archived at an instant, from loaded people.
func archivedFunc(people map[string]personInfo) func(string, time.Time) bool {
	return func(id string, at time.Time) bool {
		p, ok := people[id]
		return !ok || !p.activeAt(at)
	}
}

// validateRotation checks in against post p and returns its rule.
func (s *Store) validateRotation(ctx context.Context, q db.Querier, in RotationInput, p postInfo) (*rule, error) {
	var f fieldErrs
	if len(in.Name) > 200 {
		f.add("name", "too_long", "at most 200 characters")
	}
	zone := strings.TrimSpace(in.TZ)
	if zone == "" {
		zone = p.TZ
	}
	r := validateRule(in, zone, &f)
	people, err := loadPeople(ctx, q, in.Team)
	if err != nil {
		return nil, err
	}
	now := s.now()
	for i, id := range in.Team {
		f.addErr(eligible(fmt.Sprintf("team[%d]", i), id, people, p, now))
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return r, nil
}

// slotTail is the end of the last rotation row of post+slot not belonging
// to rotation `except` that ends after now: a new or edited rotation starts
// no earlier, so two rotations never overlap in a slot.
func slotTail(ctx context.Context, q db.Querier, postID string, slot Slot, except string, now time.Time) (*time.Time, error) {
	// ORDER BY … LIMIT 1 rather than MAX(): SQLite returns an aggregate
	// of a TIMESTAMP column as text.
	var t sql.NullTime
	err := q.QueryRow(ctx, `SELECT end_at FROM duty_shifts WHERE post_id = ? AND slot = ? AND source = 'rotation'
		AND end_at > ? AND (rotation_id IS NULL OR rotation_id <> ?) ORDER BY end_at DESC LIMIT 1`, postID, string(slot), now, except).Scan(&t)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return timePtr(t), nil
}

// CreateRotation stores a rotation and generates its shifts up to the
// horizon.
func (s *Store) CreateRotation(ctx context.Context, in RotationInput) (Rotation, error) {
	var out Rotation
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		_, p, err := s.editPost(ctx, tx, in.PostID)
		if err != nil {
			return err
		}
		ru, err := s.validateRotation(ctx, tx, in, p)
		if err != nil {
			return err
		}
		now := s.now()
		rot := Rotation{
			ID: db.NewID(), PostID: p.ID, Name: strings.TrimSpace(in.Name), Slot: in.Slot, TZ: ru.loc.String(),
			StartDate: ru.start.String(), Team: append([]string(nil), in.Team...), CreatedAt: now, UpdatedAt: now,
		}
		for _, h := range ru.handovers {
			rot.Handovers = append(rot.Handovers, h.String())
		}
		hj, _ := json.Marshal(rot.Handovers)
		tj, _ := json.Marshal(rot.Team)
		if _, err := tx.Exec(ctx, `INSERT INTO duty_rotations (id, post_id, name, slot, handovers, tz, start_date, team, next_index, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`,
			rot.ID, rot.PostID, rot.Name, string(rot.Slot), string(hj), rot.TZ, rot.StartDate, string(tj), now, now); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflict("rotation-exists", "the post already has a rotation for the "+string(in.Slot)+" slot; edit or archive it")
			}
			return err
		}
		after, err := slotTail(ctx, tx, p.ID, rot.Slot, rot.ID, now)
		if err != nil {
			return err
		}
		n, err := s.extendOne(ctx, tx, &rot, ru, 0, after)
		if err != nil {
			return err
		}
		out = rot
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.rotation.create", ObjectType: "rotation", ObjectID: rot.ID,
			Summary: fmt.Sprintf("rotation %q (%s) for post %s: %d shifts generated", rot.Name, rot.Slot, p.Code, n),
			After:   rot,
		})
	})
	return out, err
}

// extendOne generates rows of rot from shift number next (clipped to
// start no earlier than after) to the horizon, inserts them and records
// how far it got.
func (s *Store) extendOne(ctx context.Context, tx *db.Tx, rot *Rotation, ru *rule, next int, after *time.Time) (int, error) {
	now := s.now()
	people, err := loadPeople(ctx, tx, rot.Team)
	if err != nil {
		return 0, err
	}
	rows, nextIdx, genTo := ru.gen(next, after, now.Add(s.horizon), now, archivedFunc(people))
	shifts := make([]Shift, len(rows))
	label := auth.From(ctx).Label()
	for i, g := range rows {
		shifts[i] = Shift{ID: db.NewID(), PostID: rot.PostID, PersonID: g.person, Slot: rot.Slot, Start: g.start, End: g.end,
			Source: FromRotation, RotationID: rot.ID, CreatedBy: label, CreatedAt: now}
	}
	if err := insertShifts(ctx, tx, shifts); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE duty_rotations SET next_index = ?, generated_to = ? WHERE id = ?`, nextIdx, nullTime(genTo), rot.ID); err != nil {
		return 0, err
	}
	rot.GeneratedTo = genTo
	return len(shifts), nil
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return clock.Norm(*t)
}

// nextHandover is the instant from which an edit of rotation id may change
// its rows: the end of its shift in progress, or now when none is.
func nextHandover(ctx context.Context, tx *db.Tx, id string, now time.Time) (time.Time, error) {
	var end sql.NullTime
	err := tx.QueryRow(ctx, `SELECT end_at FROM duty_shifts WHERE rotation_id = ? AND start_at <= ? AND end_at > ? ORDER BY end_at DESC LIMIT 1`, id, now, now).Scan(&end)
	if err == sql.ErrNoRows {
		return now, nil
	}
	if err != nil {
		return now, err
	}
	if end.Valid {
		return clock.Norm(end.Time), nil
	}
	return now, nil
}

// lockRotation loads a live rotation for change, taking its row lock first
// (PostgreSQL), and checks the actor may edit its post.
func (s *Store) lockRotation(ctx context.Context, tx *db.Tx, id string) (Rotation, postInfo, error) {
	if _, err := tx.Exec(ctx, `UPDATE duty_rotations SET next_index = next_index WHERE id = ?`, id); err != nil {
		return Rotation{}, postInfo{}, err
	}
	rot, _, err := loadRotation(ctx, tx, id)
	if err != nil {
		return rot, postInfo{}, err
	}
	_, p, err := s.editPost(ctx, tx, rot.PostID)
	if err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return rot, p, apperr.NotFound("rotation")
		}
		return rot, p, err
	}
	if rot.ActiveTo != nil {
		return rot, p, apperr.Conflict("rotation-archived", "the rotation is archived")
	}
	return rot, p, nil
}

// UpdateRotation changes a rotation's rule. Shifts that start at or after
// the next hand-over (the end of the rotation's shift in progress, or now
// when none is) are made to follow the new rule: rows the new rule also
// asks for are kept as they are (same id, so calendar entries and overrides
// that point at them stay put), the others are deleted and the missing ones
// inserted. The shift in progress and everything before it are untouched.
// The post and slot of a rotation never change.
func (s *Store) UpdateRotation(ctx context.Context, id string, in RotationInput) (Rotation, error) {
	var out Rotation
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		rot, p, err := s.lockRotation(ctx, tx, id)
		if err != nil {
			return err
		}
		var f fieldErrs
		if in.PostID != "" && in.PostID != rot.PostID {
			f.add("post_id", "immutable", "a rotation stays with its post; archive it and create another")
		}
		if in.Slot != rot.Slot {
			f.add("slot", "immutable", "a rotation keeps its slot; archive it and create another")
		}
		if err := f.err(); err != nil {
			return err
		}
		ru, err := s.validateRotation(ctx, tx, in, p)
		if err != nil {
			return err
		}
		before := rot
		now := s.now()
		cutoff, err := nextHandover(ctx, tx, rot.ID, now)
		if err != nil {
			return err
		}
		tail, err := slotTail(ctx, tx, p.ID, rot.Slot, rot.ID, now)
		if err != nil {
			return err
		}
		if tail != nil && tail.After(cutoff) {
			cutoff = *tail
		}
		rot.Name, rot.TZ, rot.StartDate, rot.Team = strings.TrimSpace(in.Name), ru.loc.String(), ru.start.String(), append([]string(nil), in.Team...)
		rot.Handovers = nil
		for _, h := range ru.handovers {
			rot.Handovers = append(rot.Handovers, h.String())
		}
		rot.UpdatedAt = now

		existing, err := queryRows(ctx, tx, `SELECT `+shiftCols+shiftFrom+` WHERE s.rotation_id = ? AND s.start_at >= ? AND s.start_at > ? ORDER BY s.start_at`, rot.ID, cutoff, now)
		if err != nil {
			return err
		}
		people, err := loadPeople(ctx, tx, rot.Team)
		if err != nil {
			return err
		}
		want, nextIdx, genTo := ru.gen(ru.firstEndingAfter(cutoff), &cutoff, now.Add(s.horizon), now, archivedFunc(people))
		type key struct {
			person     string
			start, end int64
		}
		have := map[key]*row{}
		for _, r := range existing {
			have[key{r.PersonID, r.Start.UnixMicro(), r.End.UnixMicro()}] = r
		}
		var ins []Shift
		label := auth.From(ctx).Label()
		for _, g := range want {
			k := key{g.person, g.start.UnixMicro(), g.end.UnixMicro()}
			if _, ok := have[k]; ok {
				delete(have, k)
				continue
			}
			ins = append(ins, Shift{ID: db.NewID(), PostID: rot.PostID, PersonID: g.person, Slot: rot.Slot, Start: g.start, End: g.end,
				Source: FromRotation, RotationID: rot.ID, CreatedBy: label, CreatedAt: now})
		}
		var del []string
		for _, r := range have {
			del = append(del, r.ID)
		}
		sort.Strings(del)
		if err := deleteShifts(ctx, tx, del); err != nil {
			return err
		}
		if err := insertShifts(ctx, tx, ins); err != nil {
			return err
		}
		hj, _ := json.Marshal(rot.Handovers)
		tj, _ := json.Marshal(rot.Team)
		if _, err := tx.Exec(ctx, `UPDATE duty_rotations SET name = ?, handovers = ?, tz = ?, start_date = ?, team = ?,
			next_index = ?, generated_to = ?, updated_at = ? WHERE id = ?`,
			rot.Name, string(hj), rot.TZ, rot.StartDate, string(tj), nextIdx, nullTime(genTo), now, rot.ID); err != nil {
			return err
		}
		rot.GeneratedTo = genTo
		out = rot
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.rotation.update", ObjectType: "rotation", ObjectID: rot.ID,
			Summary: fmt.Sprintf("rotation %q (%s) for post %s changed from %s: %d shifts kept, %d deleted, %d added",
				rot.Name, rot.Slot, p.Code, cutoff.Format(time.RFC3339), len(want)-len(ins), len(del), len(ins)),
			Before: before, After: rot,
		})
	})
	return out, err
}

// ArchiveRotation stops a rotation: its shifts from the next hand-over on
// are deleted (the shift in progress runs to its end) and it generates no
// more. The slot is then free for another rotation, which starts where
// this one's last shift ends.
func (s *Store) ArchiveRotation(ctx context.Context, id string) error {
	return s.db.RunInTx(ctx, func(tx *db.Tx) error {
		rot, p, err := s.lockRotation(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		cutoff, err := nextHandover(ctx, tx, rot.ID, now)
		if err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM duty_shifts WHERE rotation_id = ? AND start_at >= ? AND start_at > ?`, rot.ID, cutoff, now)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		if _, err := tx.Exec(ctx, `UPDATE duty_rotations SET active_to = ?, updated_at = ? WHERE id = ?`, now, now, rot.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.rotation.archive", ObjectType: "rotation", ObjectID: rot.ID,
			Summary: fmt.Sprintf("rotation %q (%s) for post %s archived; %d future shifts from %s deleted", rot.Name, rot.Slot, p.Code, n, cutoff.Format(time.RFC3339)),
			Before:  rot,
		})
	})
}

// Rotation returns one rotation.
func (s *Store) Rotation(ctx context.Context, id string) (Rotation, error) {
	rot, _, err := loadRotation(ctx, s.db, id)
	if err != nil {
		return rot, err
	}
	if _, _, err := s.viewPost(ctx, s.db, rot.PostID); err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return Rotation{}, apperr.NotFound("rotation")
		}
		return Rotation{}, err
	}
	return rot, nil
}

// Rotations lists a post's rotations, live ones first, then archived ones
// newest first.
func (s *Store) Rotations(ctx context.Context, postID string) ([]Rotation, error) {
	if _, _, err := s.viewPost(ctx, s.db, postID); err != nil {
		return nil, err
	}
	rs, err := s.db.Query(ctx, `SELECT `+rotCols+` FROM duty_rotations WHERE post_id = ? ORDER BY created_at DESC, id DESC`, postID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var live, old []Rotation
	for rs.Next() {
		r, _, err := scanRotation(rs)
		if err != nil {
			return nil, err
		}
		if r.ActiveTo == nil {
			live = append(live, r)
		} else {
			old = append(old, r)
		}
	}
	return append(live, old...), rs.Err()
}

// ExtendHorizon tops every live rotation up to the horizon (60 days by
// default) and returns how many shifts it added. A loop calls it daily; it
// is idempotent. It is the system's work: it runs as the actor in ctx if
// any (for the audit log), else as system:duty, and checks no permission.
// Rotations are worked in batches, one transaction and one audit entry per
// batch that added shifts, so a long first run never holds the (SQLite:
// only) write connection for long.
func (s *Store) ExtendHorizon(ctx context.Context) (int, error) {
	if auth.From(ctx) == nil {
		ctx = auth.With(ctx, auth.System("duty"))
	}
	now := s.now()
	limit := now.Add(s.horizon)
	// Rotations of archived posts generate no more.
	rs, err := s.db.Query(ctx, `SELECT r.id FROM duty_rotations r JOIN posts po ON po.id = r.post_id
		WHERE r.active_to IS NULL AND (po.active_to IS NULL OR po.active_to > ?) AND (r.generated_to IS NULL OR r.generated_to < ?)
		ORDER BY r.id`, now, limit)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rs.Next() {
		var id string
		if err := rs.Scan(&id); err != nil {
			rs.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, err
	}
	total := 0
	const batch = 100
	for len(ids) > 0 {
		n := min(batch, len(ids))
		part := ids[:n]
		ids = ids[n:]
		added := 0
		err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
			added = 0
			rotations := 0
			for _, id := range part {
				if _, err := tx.Exec(ctx, `UPDATE duty_rotations SET next_index = next_index WHERE id = ?`, id); err != nil {
					return err
				}
				rot, next, err := loadRotation(ctx, tx, id)
				if err != nil {
					return err
				}
				if rot.ActiveTo != nil {
					continue
				}
				ru, err := ruleOf(rot)
				if err != nil {
					return err
				}
				k, err := s.extendOne(ctx, tx, &rot, ru, next, rot.GeneratedTo)
				if err != nil {
					return err
				}
				if k > 0 {
					added += k
					rotations++
				}
			}
			if added == 0 {
				return nil
			}
			return s.audit.Record(ctx, tx, audit.Entry{
				Action: "duty.horizon.extend", ObjectType: "rotation",
				Summary: fmt.Sprintf("%d shifts generated for %d rotations up to %s", added, rotations, s.now().Add(s.horizon).Format(time.RFC3339)),
			})
		})
		if err != nil {
			return total, err
		}
		total += added
	}
	return total, nil
}
