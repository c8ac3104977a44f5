package directory

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

const personSelect = `SELECT pe.id, pe.code, pe.name_en, pe.name_ru, pe.email, pe.phone, pe.languages,
	pe.state_id, s.code, pe.body_id, b.code, pe.active_to, pe.created_at, pe.updated_at
	FROM people pe LEFT JOIN member_states s ON s.id = pe.state_id LEFT JOIN bodies b ON b.id = pe.body_id`

func scanPerson(r scanner) (Person, error) {
	var p Person
	var stateID, state, bodyID, body sql.NullString
	var langs string
	var at sql.NullTime
	err := r.Scan(&p.ID, &p.Code, &p.NameEN, &p.NameRU, &p.Email, &p.Phone, &langs,
		&stateID, &state, &bodyID, &body, &at, &p.CreatedAt, &p.UpdatedAt)
	p.StateID, p.State, p.BodyID, p.Body = stateID.String, state.String, bodyID.String, body.String
	p.Languages = splitLanguages(langs)
	p.ActiveTo = timePtr(at)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	return p, err
}

// Languages are stored comma-separated: they are validated to [a-z]{2,3}.
func splitLanguages(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// visiblePeople restricts a people query to those a may see.
func visiblePeople(w *where, a *auth.Actor) {
	if a.SeesAllStates() {
		return
	}
	ids := a.StateIDs()
	if len(ids) == 0 {
		w.add("pe.state_id IS NULL")
		return
	}
	w.add("(pe.state_id IS NULL OR pe.state_id IN ("+placeholders(len(ids))+"))", anys(ids)...)
}

// loadPositions returns the positions of the given people (everyone's when
// ids is nil), in term order.
func loadPositions(ctx context.Context, q db.Querier, ids []string) (map[string][]Position, error) {
	query := `SELECT q.id, q.person_id, q.body_id, b.code, q.title_en, q.title_ru, q.start_date, q.end_date, q.acting
		FROM positions q LEFT JOIN bodies b ON b.id = q.body_id`
	if ids != nil {
		if len(ids) == 0 {
			return map[string][]Position{}, nil
		}
		query += " WHERE q.person_id IN (" + placeholders(len(ids)) + ")"
	}
	rows, err := q.Query(ctx, query, anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]Position{}
	for rows.Next() {
		var p Position
		var bodyID, body, end sql.NullString
		if err := rows.Scan(&p.ID, &p.PersonID, &bodyID, &body, &p.TitleEN, &p.TitleRU, &p.StartDate, &end, &p.Acting); err != nil {
			return nil, err
		}
		p.BodyID, p.Body, p.EndDate = bodyID.String, body.String, end.String
		out[p.PersonID] = append(out[p.PersonID], p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, ps := range out {
		sortPositions(ps)
	}
	return out, nil
}

// ListPeople lists the people a may see: those of the organisation itself
// (no member state) and those of the member states a may see. Others are
// simply absent.
func (s *Store) ListPeople(ctx context.Context, o ListOptions) ([]Person, string, error) {
	a, err := viewer(ctx)
	if err != nil {
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
		w.add("pe.state_id = ?", id)
	}
	visiblePeople(&w, a)
	w.addCommon("pe", o, s.clock.Now(), after)
	limit := o.limit()
	rows, err := s.db.Query(ctx, personSelect+w.sql()+" ORDER BY pe.id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	out := []Person{}
	for rows.Next() {
		p, err := scanPerson(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[limit-1].ID)
	}
	ids := make([]string, len(out))
	for i := range out {
		ids[i] = out[i].ID
	}
	pos, err := loadPositions(ctx, s.db, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].Positions = pos[out[i].ID]
		if out[i].Positions == nil {
			out[i].Positions = []Position{}
		}
	}
	return out, next, nil
}

// GetPerson returns a person by id or code; a person of a member state the
// caller may not see is NotFound, exactly as one that does not exist.
func (s *Store) GetPerson(ctx context.Context, ref string) (*Person, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	return s.getPerson(ctx, s.db, a, ref)
}

func (s *Store) getPerson(ctx context.Context, q db.Querier, a *auth.Actor, ref string) (*Person, error) {
	ref = strings.TrimSpace(ref)
	p, err := scanPerson(q.QueryRow(ctx, personSelect+fmt.Sprintf(" WHERE "+refWhere+refOrder, "pe"), ref, ref, ref))
	if err == sql.ErrNoRows || err == nil && !a.CanSeeState(p.StateID) {
		return nil, apperr.NotFound("person " + quote(ref))
	}
	if err != nil {
		return nil, err
	}
	pos, err := loadPositions(ctx, q, []string{p.ID})
	if err != nil {
		return nil, err
	}
	p.Positions = pos[p.ID]
	if p.Positions == nil {
		p.Positions = []Position{}
	}
	return &p, nil
}

// CreatePerson adds a person with their positions. References (state, body,
// positions' body) are by code; the member state defaults to the body's.
func (s *Store) CreatePerson(ctx context.Context, p Person) (*Person, error) {
	return createRecord(ctx, s, kindPerson, p.Code, func(tx *db.Tx, a *auth.Actor, c *checker, now time.Time) (*Person, error) {
		x := copyPerson(p)
		r, err := loadRefs(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.checkPerson(&x, r)
		if err := checkCodeFree(ctx, tx, c, kindPerson, x.Code); err != nil {
			return nil, err
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = db.NewID(), now, now, nil
		if err := insertPerson(ctx, tx, &x); err != nil {
			return nil, err
		}
		if err := writePositions(ctx, tx, x.ID, nil, x.Positions, now); err != nil {
			return nil, err
		}
		return s.getPerson(ctx, tx, a, x.ID)
	})
}

// UpdatePerson replaces a person's fields and positions; the code never
// changes. Positions are matched by title and start date, so a corrected
// term keeps its identity.
func (s *Store) UpdatePerson(ctx context.Context, ref string, p Person) (*Person, error) {
	return updateRecord(ctx, s, kindPerson, ref, p.Code, s.getPerson, func(tx *db.Tx, a *auth.Actor, c *checker, old *Person, now time.Time) (*Person, error) {
		x := copyPerson(p)
		x.Code = old.Code
		r, err := loadRefs(ctx, tx)
		if err != nil {
			return nil, err
		}
		c.checkPerson(&x, r)
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = old.ID, old.CreatedAt, now, old.ActiveTo
		if sameJSON(personFileForm(*old), personFileForm(x)) {
			return old, nil
		}
		if err := updatePerson(ctx, tx, &x); err != nil {
			return nil, err
		}
		if err := writePositions(ctx, tx, x.ID, old.Positions, x.Positions, now); err != nil {
			return nil, err
		}
		return s.getPerson(ctx, tx, a, x.ID)
	})
}

// ArchivePerson sets the person's active_to to now; nothing is deleted.
func (s *Store) ArchivePerson(ctx context.Context, ref string) (*Person, error) {
	return setArchived(ctx, s, kindPerson, ref, true, s.getPerson)
}

// UnarchivePerson clears active_to.
func (s *Store) UnarchivePerson(ctx context.Context, ref string) (*Person, error) {
	return setArchived(ctx, s, kindPerson, ref, false, s.getPerson)
}

func copyPerson(p Person) Person {
	p.Languages = append([]string(nil), p.Languages...)
	p.Positions = append([]Position(nil), p.Positions...)
	return p
}

func insertPerson(ctx context.Context, tx *db.Tx, p *Person) error {
	_, err := tx.Exec(ctx, `INSERT INTO people (id, code, name_en, name_ru, email, phone, languages, state_id, body_id, active_to, search, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Code, p.NameEN, p.NameRU, p.Email, p.Phone, strings.Join(p.Languages, ","), nullable(p.StateID), nullable(p.BodyID),
		nullTime(p.ActiveTo), personSearch(p), p.CreatedAt, p.UpdatedAt)
	return err
}

func updatePerson(ctx context.Context, tx *db.Tx, p *Person) error {
	_, err := tx.Exec(ctx, `UPDATE people SET name_en = ?, name_ru = ?, email = ?, phone = ?, languages = ?, state_id = ?, body_id = ?,
		active_to = ?, search = ?, updated_at = ? WHERE id = ?`,
		p.NameEN, p.NameRU, p.Email, p.Phone, strings.Join(p.Languages, ","), nullable(p.StateID), nullable(p.BodyID),
		nullTime(p.ActiveTo), personSearch(p), p.UpdatedAt, p.ID)
	return err
}

func personSearch(p *Person) string { return searchText(p.Code, p.NameEN, p.NameRU) }

func positionKey(p Position) string { return p.TitleEN + "\x00" + p.StartDate }

// writePositions makes the stored positions of a person equal to want,
// matched by (title_en, start_date), touching only those that differ.
func writePositions(ctx context.Context, tx *db.Tx, personID string, have, want []Position, now time.Time) error {
	old := map[string]Position{}
	for _, p := range have {
		old[positionKey(p)] = p
	}
	keep := map[string]bool{}
	for _, p := range want {
		k := positionKey(p)
		keep[k] = true
		o, ok := old[k]
		switch {
		case !ok:
			if _, err := tx.Exec(ctx, `INSERT INTO positions (id, person_id, body_id, title_en, title_ru, start_date, end_date, acting, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				db.NewID(), personID, nullable(p.BodyID), p.TitleEN, p.TitleRU, p.StartDate, nullable(p.EndDate), p.Acting, now); err != nil {
				return err
			}
		case o.BodyID != p.BodyID || o.TitleRU != p.TitleRU || o.EndDate != p.EndDate || o.Acting != p.Acting:
			if _, err := tx.Exec(ctx, "UPDATE positions SET body_id = ?, title_ru = ?, end_date = ?, acting = ? WHERE id = ?",
				nullable(p.BodyID), p.TitleRU, nullable(p.EndDate), p.Acting, o.ID); err != nil {
				return err
			}
		}
	}
	for _, p := range have {
		if !keep[positionKey(p)] {
			if _, err := tx.Exec(ctx, "DELETE FROM positions WHERE id = ?", p.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func personFileForm(p Person) Person {
	p.ID, p.StateID, p.BodyID, p.CreatedAt, p.UpdatedAt = "", "", "", time.Time{}, time.Time{}
	if len(p.Languages) == 0 {
		p.Languages = nil
	}
	if len(p.Positions) == 0 {
		p.Positions = nil
	} else {
		ps := make([]Position, len(p.Positions))
		for i, q := range p.Positions {
			q.ID, q.PersonID, q.BodyID = "", "", ""
			ps[i] = q
		}
		p.Positions = ps
	}
	return p
}
