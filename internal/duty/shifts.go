package duty

import (
	"context"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

func startedConflict() error {
	return apperr.Conflict("shift-started", "the shift has started; a started shift is never rewritten (it can only be cut short by a cover)")
}

// clampStart accepts a start up to startSkew in the past as "now".
func (s *Store) clampStart(t time.Time, field string, f *fieldErrs) time.Time {
	now := s.now()
	t = clock.Norm(t)
	if t.Before(now) {
		if now.Sub(t) <= startSkew {
			return now
		}
		f.add(field, "in_past", "a shift cannot start in the past (the past is never rewritten)")
	}
	return t
}

// checkInterval validates a shift's bounds.
func checkInterval(start, end time.Time, f *fieldErrs) {
	switch {
	case start.IsZero():
		f.add("start", "required", "a start is required")
	case end.IsZero():
		f.add("end", "required", "an end is required")
	case !end.After(start):
		f.add("end", "end_before_start", "the end must be after the start")
	case end.Sub(start) > MaxShift:
		f.add("end", "too_long", "a shift lasts at most %d hours; enter longer duty as several shifts", int(MaxShift.Hours()))
	}
}

// overlappingManual finds a manual shift of post+slot overlapping [start, end).
func overlappingManual(ctx context.Context, tx *db.Tx, postID string, slot Slot, start, end time.Time, except string) (bool, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM duty_shifts WHERE post_id = ? AND slot = ? AND source = 'manual'
		AND start_at < ? AND end_at > ? AND start_at > ? AND id <> ?`, postID, string(slot), end, start, start.Add(-MaxShift), except).Scan(&n)
	return n > 0, err
}

// CreateShift adds a manual shift. It may not start in the past, and may
// not overlap another manual shift of the same post and slot (it beats
// rotation rows where they overlap).
func (s *Store) CreateShift(ctx context.Context, in ShiftInput) (Shift, error) {
	var out Shift
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		a, p, err := s.editPost(ctx, tx, in.PostID)
		if err != nil {
			return err
		}
		sh, err := s.validateManual(ctx, tx, in, p, "")
		if err != nil {
			return err
		}
		sh.ID, sh.CreatedBy, sh.CreatedAt = db.NewID(), a.Label(), s.now()
		if err := insertShifts(ctx, tx, []Shift{sh}); err != nil {
			return err
		}
		out = sh
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.shift.create", ObjectType: "shift", ObjectID: sh.ID,
			Summary: fmt.Sprintf("manual %s shift at %s for %s, %s – %s", sh.Slot, p.Code, sh.PersonName.EN, sh.Start.Format(time.RFC3339), sh.End.Format(time.RFC3339)),
			After:   sh,
		})
	})
	return out, err
}

func (s *Store) validateManual(ctx context.Context, tx *db.Tx, in ShiftInput, p postInfo, except string) (Shift, error) {
	var f fieldErrs
	if !in.Slot.Valid() {
		f.add("slot", "invalid_slot", "slot must be primary or deputy")
	}
	start := in.Start
	if !start.IsZero() {
		start = s.clampStart(start, "start", &f)
	}
	end := clock.Norm(in.End)
	checkInterval(start, end, &f)
	if len(in.Note) > 2000 {
		f.add("note", "too_long", "at most 2000 characters")
	}
	people, err := loadPeople(ctx, tx, []string{in.PersonID})
	if err != nil {
		return Shift{}, err
	}
	f.addErr(eligible("person_id", in.PersonID, people, p, s.now()))
	if err := f.err(); err != nil {
		return Shift{}, err
	}
	clash, err := overlappingManual(ctx, tx, p.ID, in.Slot, start, end, except)
	if err != nil {
		return Shift{}, err
	}
	if clash {
		return Shift{}, apperr.Conflict("shift-overlap", "another manual "+string(in.Slot)+" shift of this post overlaps that time")
	}
	return Shift{PostID: p.ID, PersonID: in.PersonID, PersonName: people[in.PersonID].Name, Slot: in.Slot,
		Start: start, End: end, Source: FromManual, Note: strings.TrimSpace(in.Note)}, nil
}

// lockShift loads a shift for change by an editor of its post.
func (s *Store) lockShift(ctx context.Context, tx *db.Tx, id string) (*row, postInfo, *auth.Actor, error) {
	r, err := loadShift(ctx, tx, id)
	if err != nil {
		return nil, postInfo{}, nil, err
	}
	a, p, err := s.editPost(ctx, tx, r.PostID)
	if err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return nil, p, nil, apperr.NotFound("shift")
		}
		return nil, p, nil, err
	}
	// Re-read under the roster lock: a concurrent writer may have changed it.
	r, err = loadShift(ctx, tx, id)
	return r, p, a, err
}

// UpdateShift changes a manual shift that has not started. Rotation rows
// are changed through their rotation (or replaced by a cover); overrides
// are cancelled (DeleteShift) and made again.
func (s *Store) UpdateShift(ctx context.Context, id string, in ShiftInput) (Shift, error) {
	var out Shift
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		r, p, _, err := s.lockShift(ctx, tx, id)
		if err != nil {
			return err
		}
		if !r.Start.After(s.now()) {
			return startedConflict()
		}
		if r.Source != FromManual {
			return apperr.Conflict("not-manual", "only manual shifts are edited directly; change the rotation, or add a cover")
		}
		if in.PostID != "" && in.PostID != r.PostID {
			return apperr.Invalid(apperr.FieldError{Field: "post_id", Code: "immutable", Message: "a shift stays with its post"})
		}
		in.PostID = r.PostID
		sh, err := s.validateManual(ctx, tx, in, p, r.ID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE duty_shifts SET person_id = ?, slot = ?, start_at = ?, end_at = ?, note = ? WHERE id = ?`,
			sh.PersonID, string(sh.Slot), sh.Start, sh.End, sh.Note, r.ID); err != nil {
			return err
		}
		sh.ID, sh.CreatedBy, sh.CreatedAt = r.ID, r.CreatedBy, r.CreatedAt
		out = sh
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.shift.update", ObjectType: "shift", ObjectID: r.ID,
			Summary: fmt.Sprintf("manual %s shift at %s changed", sh.Slot, p.Code),
			Before:  r.Shift, After: sh,
		})
	})
	return out, err
}

// DeleteShift removes a manual shift or an override (both halves of a
// swap) that has not started. Rotation rows are removed only by changing
// their rotation.
func (s *Store) DeleteShift(ctx context.Context, id string) error {
	return s.db.RunInTx(ctx, func(tx *db.Tx) error {
		r, p, _, err := s.lockShift(ctx, tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		if r.Source == FromRotation {
			return apperr.Conflict("rotation-shift", "a rotation's shift is removed by changing the rotation, or replaced by a cover")
		}
		ids := []string{r.ID}
		before := []Shift{r.Shift}
		if r.GroupID != "" {
			pair, err := queryRows(ctx, tx, `SELECT `+shiftCols+shiftFrom+` WHERE s.group_id = ? AND s.id <> ?`, r.GroupID, r.ID)
			if err != nil {
				return err
			}
			for _, x := range pair {
				ids = append(ids, x.ID)
				before = append(before, x.Shift)
			}
		}
		for _, b := range before {
			if !b.Start.After(now) {
				return startedConflict()
			}
		}
		if err := deleteShifts(ctx, tx, ids); err != nil {
			return err
		}
		what := "manual shift"
		if r.Source == FromOverride {
			what = string(r.Kind)
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.shift.delete", ObjectType: "shift", ObjectID: r.ID,
			Summary: fmt.Sprintf("%s of %s at %s cancelled", what, r.PersonName.EN, p.Code),
			Before:  before,
		})
	})
}

// Cover makes in.PersonID take over all or part of shift in.ShiftID: an
// override row that beats it for that time. This is also how a shift in
// progress ends early: someone covers the rest of it. The cover may not
// start in the past.
func (s *Store) Cover(ctx context.Context, in CoverInput) (Shift, error) {
	var out Shift
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		r, p, a, err := s.lockShift(ctx, tx, in.ShiftID)
		if err != nil {
			return err
		}
		now := s.now()
		if !r.End.After(now) {
			return apperr.Conflict("shift-ended", "the shift is over; the past is never rewritten")
		}
		var f fieldErrs
		start, end := clock.Norm(in.Start), clock.Norm(in.End)
		if start.IsZero() {
			start = r.Start
			if start.Before(now) {
				start = now
			}
		} else {
			start = s.clampStart(start, "start", &f)
		}
		if end.IsZero() {
			end = r.End
		}
		if start.Before(r.Start) || end.After(r.End) {
			f.add("start", "outside_shift", "a cover lies within the shift it covers")
		}
		checkInterval(start, end, &f)
		if len(in.Note) > 2000 {
			f.add("note", "too_long", "at most 2000 characters")
		}
		people, err := loadPeople(ctx, tx, []string{in.PersonID})
		if err != nil {
			return err
		}
		f.addErr(eligible("person_id", in.PersonID, people, p, now))
		if in.PersonID == r.PersonID {
			f.add("person_id", "same_person", "a person cannot cover their own shift")
		}
		if err := f.err(); err != nil {
			return err
		}
		sh := Shift{ID: db.NewID(), PostID: p.ID, PersonID: in.PersonID, PersonName: people[in.PersonID].Name, Slot: r.Slot,
			Start: start, End: end, Source: FromOverride, Kind: Cover, RefShiftID: r.ID, Note: strings.TrimSpace(in.Note),
			CreatedBy: a.Label(), CreatedAt: now}
		if err := insertShifts(ctx, tx, []Shift{sh}); err != nil {
			return err
		}
		out = sh
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.override.cover", ObjectType: "shift", ObjectID: sh.ID,
			Summary: fmt.Sprintf("%s covers %s (%s) at %s, %s – %s", sh.PersonName.EN, r.PersonName.EN, r.Slot, p.Code,
				start.Format(time.RFC3339), end.Format(time.RFC3339)),
			Before: r.Shift, After: sh,
		})
	})
	return out, err
}

// Swap exchanges two shifts of one post that have not started: each
// person takes the other's shift, as two override rows sharing a group id.
func (s *Store) Swap(ctx context.Context, shiftA, shiftB, note string) ([]Shift, error) {
	var out []Shift
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		ra, p, a, err := s.lockShift(ctx, tx, shiftA)
		if err != nil {
			return err
		}
		rb, err := loadShift(ctx, tx, shiftB)
		if err != nil {
			return err
		}
		if rb.PostID != ra.PostID {
			return apperr.Invalid(apperr.FieldError{Field: "shift_b", Code: "other_post", Message: "both shifts of a swap belong to the same post"})
		}
		if ra.PersonID == rb.PersonID {
			return apperr.Invalid(apperr.FieldError{Field: "shift_b", Code: "same_person", Message: "both shifts are the same person's"})
		}
		now := s.now()
		if !ra.Start.After(now) || !rb.Start.After(now) {
			return startedConflict()
		}
		people, err := loadPeople(ctx, tx, []string{ra.PersonID, rb.PersonID})
		if err != nil {
			return err
		}
		var f fieldErrs
		f.addErr(eligible("shift_a", ra.PersonID, people, p, now))
		f.addErr(eligible("shift_b", rb.PersonID, people, p, now))
		if err := f.err(); err != nil {
			return err
		}
		group := db.NewID()
		note = strings.TrimSpace(note)
		mk := func(taker *row, taken *row) Shift {
			return Shift{ID: db.NewID(), PostID: p.ID, PersonID: taker.PersonID, PersonName: taker.PersonName, Slot: taken.Slot,
				Start: taken.Start, End: taken.End, Source: FromOverride, Kind: Swap, RefShiftID: taken.ID, GroupID: group,
				Note: note, CreatedBy: a.Label(), CreatedAt: now}
		}
		out = []Shift{mk(rb, ra), mk(ra, rb)}
		if err := insertShifts(ctx, tx, out); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.override.swap", ObjectType: "shift", ObjectID: group,
			Summary: fmt.Sprintf("%s and %s swap shifts at %s (%s and %s)", ra.PersonName.EN, rb.PersonName.EN, p.Code,
				ra.Start.Format(time.RFC3339), rb.Start.Format(time.RFC3339)),
			Before: []Shift{ra.Shift, rb.Shift}, After: out,
		})
	})
	return out, err
}

// GetShift returns one stored row.
func (s *Store) GetShift(ctx context.Context, id string) (Shift, error) {
	r, err := loadShift(ctx, s.db, id)
	if err != nil {
		return Shift{}, err
	}
	if _, _, err := s.viewPost(ctx, s.db, r.PostID); err != nil {
		if apperr.Is(err, apperr.KindNotFound) {
			return Shift{}, apperr.NotFound("shift")
		}
		return Shift{}, err
	}
	return r.Shift, nil
}

// Roster is a post's roster over a period: the stored rows (what was
// planned, with overrides as rows of their own) and the segments in force
// after precedence (who actually holds each slot when).
type Roster struct {
	PostID    string    `json:"post_id"`
	TZ        string    `json:"tz"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Shifts    []Shift   `json:"shifts"`
	Effective []Segment `json:"effective"`
	// Editable tells whether the caller may change the roster.
	Editable bool `json:"editable"`
}

// MaxRosterSpan bounds one roster read.
const MaxRosterSpan = 100 * 24 * time.Hour

// Roster returns post postID's roster over [from, to).
func (s *Store) Roster(ctx context.Context, postID string, from, to time.Time) (Roster, error) {
	a, p, err := s.viewPost(ctx, s.db, postID)
	if err != nil {
		return Roster{}, err
	}
	from, to = clock.Norm(from), clock.Norm(to)
	if !to.After(from) || to.Sub(from) > MaxRosterSpan {
		return Roster{}, apperr.Invalid(apperr.FieldError{Field: "to", Code: "bad_period", Message: "the period must end after it starts and span at most 100 days"})
	}
	rows, err := postRows(ctx, s.db, []string{p.ID}, from, to)
	if err != nil {
		return Roster{}, err
	}
	out := Roster{PostID: p.ID, TZ: p.TZ, From: from, To: to, Shifts: []Shift{}, Effective: []Segment{}, Editable: canEdit(a, p) && p.activeAt(s.now())}
	for _, r := range rows {
		out.Shifts = append(out.Shifts, r.Shift)
	}
	for _, e := range effectiveAll(rows) {
		if e.End.After(from) && e.Start.Before(to) {
			out.Effective = append(out.Effective, e.segment())
		}
	}
	return out, nil
}

// PersonShifts returns the segments person personID holds over [from, to)
// at the posts the caller may see (overrides applied: a shift someone
// covers is not theirs for that time).
func (s *Store) PersonShifts(ctx context.Context, personID string, from, to time.Time) ([]Segment, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	from, to = clock.Norm(from), clock.Norm(to)
	if !to.After(from) || to.Sub(from) > MaxRosterSpan {
		return nil, apperr.Invalid(apperr.FieldError{Field: "to", Code: "bad_period", Message: "the period must end after it starts and span at most 100 days"})
	}
	people, err := loadPeople(ctx, s.db, []string{personID})
	if err != nil {
		return nil, err
	}
	if pi, ok := people[personID]; !ok || !a.CanSeeState(pi.StateID) {
		return nil, apperr.NotFound("person")
	}
	segs, err := personSegments(ctx, s.db, personID, from, to)
	if err != nil {
		return nil, err
	}
	posts, err := postsByID(ctx, s.db, segPosts(segs))
	if err != nil {
		return nil, err
	}
	out := []Segment{}
	for _, sg := range segs {
		if p, ok := posts[sg.PostID]; ok && a.CanSeeState(p.StateID) {
			out = append(out, sg)
		}
	}
	return out, nil
}

// personSegments computes the segments personID holds over [from, to):
// it reads every row of the posts and slots the person has rows in during
// the period (one query), so covers by others are applied.
func personSegments(ctx context.Context, q db.Querier, personID string, from, to time.Time) ([]Segment, error) {
	rows, err := queryRows(ctx, q, `SELECT `+shiftCols+shiftFrom+` WHERE s.start_at < ? AND s.start_at > ? AND s.end_at > ?
		AND s.post_id IN (SELECT x.post_id FROM duty_shifts x WHERE x.person_id = ? AND x.start_at < ? AND x.start_at > ? AND x.end_at > ?)
		ORDER BY s.post_id, s.start_at`,
		to, from.Add(-MaxShift), from, personID, to, from.Add(-MaxShift), from)
	if err != nil {
		return nil, err
	}
	var out []Segment
	for _, e := range effectiveAll(rows) {
		if e.r.PersonID == personID && e.End.After(from) && e.Start.Before(to) {
			out = append(out, e.segment())
		}
	}
	return out, nil
}

func segPosts(segs []Segment) []string {
	ids := make([]string, len(segs))
	for i, s := range segs {
		ids[i] = s.PostID
	}
	return uniq(ids)
}

func postsByID(ctx context.Context, q db.Querier, ids []string) (map[string]postInfo, error) {
	out := map[string]postInfo{}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := q.Query(ctx, `SELECT `+postCols+` FROM posts po LEFT JOIN member_states ms ON ms.id = po.state_id WHERE po.id IN (`+placeholders(len(ids))+`)`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		p, err := scanPost(rs)
		if err != nil {
			return nil, err
		}
		out[p.ID] = p
	}
	return out, rs.Err()
}
