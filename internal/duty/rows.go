package duty

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// shiftCols/shiftFrom read a shift with its person and active user.
const shiftCols = `s.id, s.post_id, s.person_id, p.name_en, p.name_ru, s.slot, s.start_at, s.end_at, s.source, s.kind,
	COALESCE(s.rotation_id, ''), COALESCE(s.ref_shift_id, ''), COALESCE(s.group_id, ''), s.note, s.created_by, s.created_at,
	COALESCE(u.id, ''), COALESCE(u.login, ''), p.email, p.phone`

const shiftFrom = ` FROM duty_shifts s JOIN people p ON p.id = s.person_id LEFT JOIN users u ON u.person_id = s.person_id AND u.active = TRUE`

func scanRow(sc interface{ Scan(...any) error }) (*row, error) {
	r := &row{}
	var slot, source, kind string
	err := sc.Scan(&r.ID, &r.PostID, &r.PersonID, &r.PersonName.EN, &r.PersonName.RU, &slot, &r.Start, &r.End, &source, &kind,
		&r.RotationID, &r.RefShiftID, &r.GroupID, &r.Note, &r.CreatedBy, &r.CreatedAt,
		&r.userID, &r.login, &r.email, &r.phone)
	if err != nil {
		return nil, err
	}
	r.Slot, r.Source, r.Kind = Slot(slot), Source(source), OverrideKind(kind)
	r.Start, r.End, r.CreatedAt = clock.Norm(r.Start), clock.Norm(r.End), clock.Norm(r.CreatedAt)
	return r, nil
}

func queryRows(ctx context.Context, q db.Querier, query string, args ...any) ([]*row, error) {
	rs, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []*row
	for rs.Next() {
		r, err := scanRow(rs)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

func loadShift(ctx context.Context, q db.Querier, id string) (*row, error) {
	r, err := scanRow(q.QueryRow(ctx, `SELECT `+shiftCols+shiftFrom+` WHERE s.id = ?`, id))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("shift")
	}
	return r, err
}

// postRows reads the rows of the given posts (all posts when postIDs is
// nil) that overlap [from, to). Rows start at most MaxShift before they
// end, which bounds the index range on start_at.
func postRows(ctx context.Context, q db.Querier, postIDs []string, from, to time.Time) ([]*row, error) {
	where := ` WHERE s.start_at < ? AND s.start_at > ? AND s.end_at > ?`
	args := []any{to, from.Add(-MaxShift), from}
	if postIDs != nil {
		if len(postIDs) == 0 {
			return nil, nil
		}
		where += ` AND s.post_id IN (` + placeholders(len(postIDs)) + `)`
		args = append(args, anys(postIDs)...)
	}
	return queryRows(ctx, q, `SELECT `+shiftCols+shiftFrom+where+` ORDER BY s.post_id, s.start_at`, args...)
}

const insertCols = `(id, post_id, person_id, slot, start_at, end_at, source, kind, rotation_id, ref_shift_id, group_id, note, created_by, created_at)`

// insertShifts writes rows with multi-row INSERTs.
func insertShifts(ctx context.Context, tx *db.Tx, shifts []Shift) error {
	const batch = 200
	for len(shifts) > 0 {
		n := min(batch, len(shifts))
		var b strings.Builder
		b.WriteString(`INSERT INTO duty_shifts ` + insertCols + ` VALUES `)
		args := make([]any, 0, n*14)
		for i, sh := range shifts[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, sh.ID, sh.PostID, sh.PersonID, string(sh.Slot), clock.Norm(sh.Start), clock.Norm(sh.End),
				string(sh.Source), string(sh.Kind), nullable(sh.RotationID), nullable(sh.RefShiftID), nullable(sh.GroupID),
				sh.Note, sh.CreatedBy, clock.Norm(sh.CreatedAt))
		}
		if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
			return err
		}
		shifts = shifts[n:]
	}
	return nil
}

func deleteShifts(ctx context.Context, tx *db.Tx, ids []string) error {
	for len(ids) > 0 {
		n := min(500, len(ids))
		if _, err := tx.Exec(ctx, `DELETE FROM duty_shifts WHERE id IN (`+placeholders(n)+`)`, anys(ids[:n])...); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}
