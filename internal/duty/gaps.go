package duty

import (
	"context"
	"database/sql"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/clock"
)

// MaxGapDays bounds the gaps report.
const MaxGapDays = 366

// Gaps reports every interval within `days` days from `from` in which a
// post has nobody on duty in either slot: for post postID, or for every
// active post the caller may see when postID is "". Only posts with at
// least one gap are listed (by code). A person archived (gone) covers
// nothing from then on. One query reads the posts and their
// rows; the interval arithmetic is done here. Overrides never leave a slot
// empty (a cover or swap always names a person), so coverage is simply the
// union of the rows.
func (s *Store) Gaps(ctx context.Context, postID string, from time.Time, days int) ([]PostGaps, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if days < 1 || days > MaxGapDays {
		return nil, apperr.Invalid(apperr.FieldError{Field: "days", Code: "out_of_range", Message: "days must be between 1 and 366"})
	}
	from = clock.Norm(from)
	to := from.Add(time.Duration(days) * 24 * time.Hour)
	where := ""
	args := []any{to, from.Add(-MaxShift), from}
	if postID != "" {
		if _, _, err := s.viewPost(ctx, s.db, postID); err != nil {
			return nil, err
		}
		where = ` WHERE po.id = ?`
		args = append(args, postID)
	} else {
		where = ` WHERE (po.active_to IS NULL OR po.active_to > ?)`
		args = append(args, from)
		if f, fa := stateFilter(a, "po.state_id"); f != "" {
			where += " AND " + f
			args = append(args, fa...)
		}
	}
	// A row of a person who has been archived covers nothing after that.
	rs, err := s.db.Query(ctx, `SELECT po.id, po.code, po.name_en, po.name_ru, po.tz, s.start_at, s.end_at, pe.active_to
		FROM posts po LEFT JOIN duty_shifts s ON s.post_id = po.id AND s.start_at < ? AND s.start_at > ? AND s.end_at > ?
		LEFT JOIN people pe ON pe.id = s.person_id`+where+
		` ORDER BY po.code, po.id, s.start_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []PostGaps
	var cur *PostGaps
	var cover []Interval
	flush := func() {
		if cur == nil {
			return
		}
		cur.Gaps = complement(union(cover), from, to)
		if len(cur.Gaps) > 0 {
			out = append(out, *cur)
		}
		cur, cover = nil, cover[:0]
	}
	for rs.Next() {
		var pg PostGaps
		var st, en, gone sql.NullTime
		if err := rs.Scan(&pg.PostID, &pg.Code, &pg.NameEN, &pg.NameRU, &pg.TZ, &st, &en, &gone); err != nil {
			return nil, err
		}
		if cur == nil || cur.PostID != pg.PostID {
			flush()
			cur = &pg
		}
		if st.Valid && en.Valid {
			iv := Interval{clock.Norm(st.Time), clock.Norm(en.Time)}
			if gone.Valid && gone.Time.Before(iv.End) {
				iv.End = clock.Norm(gone.Time)
			}
			if iv.End.After(iv.Start) {
				cover = append(cover, iv)
			}
		}
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	flush()
	if out == nil {
		out = []PostGaps{}
	}
	return out, nil
}
