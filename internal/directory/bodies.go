package directory

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

const bodySelect = `SELECT b.id, b.code, b.kind, b.name_en, b.name_ru, b.short_en, b.short_ru,
	b.parent_id, pb.code, b.state_id, s.code, b.tz, b.working_hours, b.active_to, b.created_at, b.updated_at
	FROM bodies b LEFT JOIN bodies pb ON pb.id = b.parent_id LEFT JOIN member_states s ON s.id = b.state_id`

func scanBody(r scanner) (Body, error) {
	var b Body
	var parentID, parent, stateID, state sql.NullString
	var at sql.NullTime
	err := r.Scan(&b.ID, &b.Code, &b.Kind, &b.NameEN, &b.NameRU, &b.ShortEN, &b.ShortRU,
		&parentID, &parent, &stateID, &state, &b.TZ, &b.WorkingHours, &at, &b.CreatedAt, &b.UpdatedAt)
	b.ParentID, b.Parent, b.StateID, b.State = parentID.String, parent.String, stateID.String, state.String
	b.ActiveTo = timePtr(at)
	b.CreatedAt, b.UpdatedAt = b.CreatedAt.UTC(), b.UpdatedAt.UTC()
	return b, err
}

// ListBodies lists bodies; their names are visible to every signed-in actor.
func (s *Store) ListBodies(ctx context.Context, o ListOptions) ([]Body, string, error) {
	if _, err := viewer(ctx); err != nil {
		return nil, "", err
	}
	after, err := decodeCursor(o.Cursor)
	if err != nil {
		return nil, "", err
	}
	var w where
	if o.State != "" {
		id, err := stateIDFor(ctx, s.db, o.State)
		if err != nil {
			return nil, "", err
		}
		w.add("b.state_id = ?", id)
	}
	if o.Kind != "" {
		if !slices.Contains(BodyKinds, BodyKind(o.Kind)) {
			return nil, "", apperr.Invalid(apperr.FieldError{Field: "kind", Code: CodeUnknownKind,
				Message: fmt.Sprintf("unknown body kind %s (want %s)", quote(o.Kind), joinKinds(BodyKinds))})
		}
		w.add("b.kind = ?", o.Kind)
	}
	w.addCommon("b", o, s.clock.Now(), after)
	limit := o.limit()
	rows, err := s.db.Query(ctx, bodySelect+w.sql()+" ORDER BY b.id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Body{}
	for rows.Next() {
		b, err := scanBody(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[limit-1].ID)
	}
	return out, next, nil
}

// GetBody returns a body by id or code.
func (s *Store) GetBody(ctx context.Context, ref string) (*Body, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	return s.getBody(ctx, s.db, a, ref)
}

func (s *Store) getBody(ctx context.Context, q db.Querier, _ *auth.Actor, ref string) (*Body, error) {
	ref = strings.TrimSpace(ref)
	b, err := scanBody(q.QueryRow(ctx, bodySelect+fmt.Sprintf(" WHERE "+refWhere+refOrder, "b"), ref, ref, ref))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("body " + quote(ref))
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// CreateBody adds a body.
func (s *Store) CreateBody(ctx context.Context, b Body) (*Body, error) {
	return createRecord(ctx, s, kindBody, b.Code, func(tx *db.Tx, a *auth.Actor, c *checker, now time.Time) (*Body, error) {
		x := b
		r, err := loadRefs(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.checkBody(&x, r)
		if _, taken := r.bodies[x.Code]; taken && x.Code != "" {
			duplicateCode(c, kindBody, x.Code)
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = db.NewID(), now, now, nil
		if err := insertBody(ctx, tx, &x); err != nil {
			return nil, err
		}
		return s.getBody(ctx, tx, a, x.ID)
	})
}

// UpdateBody replaces a body's fields; its code never changes.
func (s *Store) UpdateBody(ctx context.Context, ref string, b Body) (*Body, error) {
	return updateRecord(ctx, s, kindBody, ref, b.Code, s.getBody, func(tx *db.Tx, a *auth.Actor, c *checker, old *Body, now time.Time) (*Body, error) {
		x := b
		x.Code = old.Code
		r, err := loadRefs(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.checkBody(&x, r)
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = old.ID, old.CreatedAt, now, old.ActiveTo
		if sameJSON(bodyFileForm(*old), bodyFileForm(x)) {
			return old, nil
		}
		if err := updateBody(ctx, tx, &x); err != nil {
			return nil, err
		}
		return s.getBody(ctx, tx, a, x.ID)
	})
}

// ArchiveBody sets the body's active_to to now; nothing is deleted.
func (s *Store) ArchiveBody(ctx context.Context, ref string) (*Body, error) {
	return setArchived(ctx, s, kindBody, ref, true, s.getBody)
}

// UnarchiveBody clears active_to.
func (s *Store) UnarchiveBody(ctx context.Context, ref string) (*Body, error) {
	return setArchived(ctx, s, kindBody, ref, false, s.getBody)
}

func insertBody(ctx context.Context, tx *db.Tx, b *Body) error {
	_, err := tx.Exec(ctx, `INSERT INTO bodies (id, code, kind, name_en, name_ru, short_en, short_ru, parent_id, state_id, tz, working_hours, active_to, search, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.Code, string(b.Kind), b.NameEN, b.NameRU, b.ShortEN, b.ShortRU, nullable(b.ParentID), nullable(b.StateID),
		b.TZ, b.WorkingHours, nullTime(b.ActiveTo), bodySearch(b), b.CreatedAt, b.UpdatedAt)
	return err
}

func updateBody(ctx context.Context, tx *db.Tx, b *Body) error {
	_, err := tx.Exec(ctx, `UPDATE bodies SET kind = ?, name_en = ?, name_ru = ?, short_en = ?, short_ru = ?, parent_id = ?, state_id = ?,
		tz = ?, working_hours = ?, active_to = ?, search = ?, updated_at = ? WHERE id = ?`,
		string(b.Kind), b.NameEN, b.NameRU, b.ShortEN, b.ShortRU, nullable(b.ParentID), nullable(b.StateID),
		b.TZ, b.WorkingHours, nullTime(b.ActiveTo), bodySearch(b), b.UpdatedAt, b.ID)
	return err
}

func bodySearch(b *Body) string {
	return searchText(b.Code, b.NameEN, b.NameRU, b.ShortEN, b.ShortRU)
}

func bodyFileForm(b Body) Body {
	b.ID, b.ParentID, b.StateID, b.CreatedAt, b.UpdatedAt = "", "", "", time.Time{}, time.Time{}
	return b
}
