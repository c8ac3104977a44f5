package directory

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

const stateSelect = `SELECT m.id, m.code, m.name_en, m.name_ru, m.tz, m.working_hours, m.active_to, m.created_at, m.updated_at
	FROM member_states m`

type scanner interface{ Scan(dest ...any) error }

func scanState(r scanner) (MemberState, error) {
	var m MemberState
	var at sql.NullTime
	err := r.Scan(&m.ID, &m.Code, &m.NameEN, &m.NameRU, &m.TZ, &m.WorkingHours, &at, &m.CreatedAt, &m.UpdatedAt)
	m.ActiveTo = timePtr(at)
	m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
	return m, err
}

// StatusOn is the status in force on day (YYYY-MM-DD): the latest change
// dated on or before it. A state with no change in force is active.
func (m *MemberState) StatusOn(day string) Status {
	st := StatusActive
	for _, h := range m.History {
		if h.ValidFrom <= day {
			st = h.Status
		} else {
			break
		}
	}
	return st
}

// today is the date in the state's own zone: a suspension from the 1st takes
// effect at that state's midnight.
func (m *MemberState) today(now time.Time) string {
	loc, err := time.LoadLocation(m.TZ)
	if err != nil || m.TZ == "" {
		loc = time.UTC
	}
	return now.In(loc).Format("2006-01-02")
}

func (m *MemberState) setStatus(now time.Time) {
	m.Status = m.StatusOn(m.today(now))
	if m.History == nil {
		m.History = []StatusChange{}
	}
}

// loadHistory returns the status changes of the given states (all states
// when ids is nil), oldest first.
func loadHistory(ctx context.Context, q db.Querier, ids []string) (map[string][]StatusChange, error) {
	query := "SELECT state_id, status, valid_from, note FROM member_state_statuses"
	if ids != nil {
		if len(ids) == 0 {
			return map[string][]StatusChange{}, nil
		}
		query += " WHERE state_id IN (" + placeholders(len(ids)) + ")"
	}
	rows, err := q.Query(ctx, query+" ORDER BY state_id, valid_from", anys(ids)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]StatusChange{}
	for rows.Next() {
		var id string
		var c StatusChange
		if err := rows.Scan(&id, &c.Status, &c.ValidFrom, &c.Note); err != nil {
			return nil, err
		}
		out[id] = append(out[id], c)
	}
	return out, rows.Err()
}

// ListMemberStates lists member states; every signed-in actor sees them all.
func (s *Store) ListMemberStates(ctx context.Context, o ListOptions) ([]MemberState, string, error) {
	if _, err := viewer(ctx); err != nil {
		return nil, "", err
	}
	after, err := decodeCursor(o.Cursor)
	if err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	var w where
	if o.State != "" {
		w.add("m.code = ?", strings.TrimSpace(o.State))
	}
	w.addCommon("m", o, now, after)
	limit := o.limit()
	rows, err := s.db.Query(ctx, stateSelect+w.sql()+" ORDER BY m.id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	var out []MemberState
	for rows.Next() {
		m, err := scanState(rows)
		if err != nil {
			rows.Close()
			return nil, "", err
		}
		out = append(out, m)
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
	hist, err := loadHistory(ctx, s.db, ids)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		out[i].History = hist[out[i].ID]
		out[i].setStatus(now)
	}
	if out == nil {
		out = []MemberState{}
	}
	return out, next, nil
}

// GetMemberState returns a member state by id or code.
func (s *Store) GetMemberState(ctx context.Context, ref string) (*MemberState, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	return s.getState(ctx, s.db, a, ref)
}

func (s *Store) getState(ctx context.Context, q db.Querier, _ *auth.Actor, ref string) (*MemberState, error) {
	ref = strings.TrimSpace(ref)
	if len(ref) == 2 {
		ref = strings.ToUpper(ref)
	}
	m, err := scanState(q.QueryRow(ctx, stateSelect+fmt.Sprintf(" WHERE "+refWhere+refOrder, "m"), ref, ref, ref))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("member state " + quote(ref))
	}
	if err != nil {
		return nil, err
	}
	hist, err := loadHistory(ctx, q, []string{m.ID})
	if err != nil {
		return nil, err
	}
	m.History = hist[m.ID]
	m.setStatus(s.clock.Now())
	return &m, nil
}

// CreateMemberState adds a member state, with its status history if given.
func (s *Store) CreateMemberState(ctx context.Context, m MemberState) (*MemberState, error) {
	return createRecord(ctx, s, kindState, m.Code, func(tx *db.Tx, _ *auth.Actor, c *checker, now time.Time) (*MemberState, error) {
		x := m
		x.History = append([]StatusChange(nil), m.History...)
		c.checkState(&x)
		if err := checkCodeFree(ctx, tx, c, kindState, x.Code); err != nil {
			return nil, err
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = db.NewID(), now, now, nil
		if err := insertState(ctx, tx, &x); err != nil {
			return nil, err
		}
		if err := writeHistory(ctx, tx, x.ID, nil, x.History, now); err != nil {
			return nil, err
		}
		x.setStatus(now)
		return &x, nil
	})
}

// UpdateMemberState replaces a member state's names, zone and working hours.
// Its code never changes, and its status history changes only through
// AddStatusChange (or an import).
func (s *Store) UpdateMemberState(ctx context.Context, ref string, m MemberState) (*MemberState, error) {
	return updateRecord(ctx, s, kindState, ref, m.Code, s.getState, func(tx *db.Tx, _ *auth.Actor, c *checker, old *MemberState, now time.Time) (*MemberState, error) {
		x := m
		x.Code, x.History = old.Code, old.History
		c.checkState(&x)
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = old.ID, old.CreatedAt, now, old.ActiveTo
		x.setStatus(now)
		if sameJSON(stateFileForm(*old), stateFileForm(x)) {
			return old, nil
		}
		if err := updateState(ctx, tx, &x); err != nil {
			return nil, err
		}
		return &x, nil
	})
}

// ArchiveMemberState sets the state's active_to to now; nothing is deleted.
func (s *Store) ArchiveMemberState(ctx context.Context, ref string) (*MemberState, error) {
	return setArchived(ctx, s, kindState, ref, true, s.getState)
}

// UnarchiveMemberState clears active_to.
func (s *Store) UnarchiveMemberState(ctx context.Context, ref string) (*MemberState, error) {
	return setArchived(ctx, s, kindState, ref, false, s.getState)
}

// AddStatusChange records a dated change of a member state's status. A
// change dated the same day as an existing one replaces it.
func (s *Store) AddStatusChange(ctx context.Context, ref string, ch StatusChange) (*MemberState, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.getState(ctx, s.db, a, ref); err != nil {
		return nil, err
	}
	if !a.IsAdmin() {
		return nil, forbidden()
	}
	var out *MemberState
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		old, err := s.getState(ctx, tx, a, ref)
		if err != nil {
			return err
		}
		c := newChecker("", false, nil)
		c.statusChange("", &ch)
		if err := c.err(); err != nil {
			return err
		}
		hist := make([]StatusChange, 0, len(old.History)+1)
		replaced := false
		for _, h := range old.History {
			if h.ValidFrom == ch.ValidFrom {
				h, replaced = ch, true
			}
			hist = append(hist, h)
		}
		if !replaced {
			hist = append(hist, ch)
		}
		x := *old
		x.History = hist
		c.checkState(&x)
		if err := c.err(); err != nil {
			return err
		}
		if sameJSON(old.History, x.History) {
			out = old
			return nil
		}
		if err := writeHistory(ctx, tx, old.ID, old.History, x.History, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "UPDATE member_states SET updated_at = ? WHERE id = ?", now, old.ID); err != nil {
			return err
		}
		x.UpdatedAt = now
		x.setStatus(now)
		out = &x
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "member_state.status", ObjectType: kindState.object, ObjectID: x.ID,
			Summary: fmt.Sprintf("member state %s: %s from %s", x.Code, ch.Status, ch.ValidFrom),
			Before:  old, After: x,
		})
	})
	return out, err
}

func insertState(ctx context.Context, tx *db.Tx, m *MemberState) error {
	_, err := tx.Exec(ctx, `INSERT INTO member_states (id, code, name_en, name_ru, tz, working_hours, active_to, search, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Code, m.NameEN, m.NameRU, m.TZ, m.WorkingHours, nullTime(m.ActiveTo), stateSearch(m), m.CreatedAt, m.UpdatedAt)
	return err
}

func updateState(ctx context.Context, tx *db.Tx, m *MemberState) error {
	_, err := tx.Exec(ctx, `UPDATE member_states SET name_en = ?, name_ru = ?, tz = ?, working_hours = ?, active_to = ?, search = ?, updated_at = ?
		WHERE id = ?`,
		m.NameEN, m.NameRU, m.TZ, m.WorkingHours, nullTime(m.ActiveTo), stateSearch(m), m.UpdatedAt, m.ID)
	return err
}

func stateSearch(m *MemberState) string { return searchText(m.Code, m.NameEN, m.NameRU) }

// writeHistory makes the stored history of a state equal to want, keyed by
// valid_from, touching only the entries that differ.
func writeHistory(ctx context.Context, tx *db.Tx, stateID string, have, want []StatusChange, now time.Time) error {
	old := map[string]StatusChange{}
	for _, h := range have {
		old[h.ValidFrom] = h
	}
	keep := map[string]bool{}
	for _, h := range want {
		keep[h.ValidFrom] = true
		o, ok := old[h.ValidFrom]
		switch {
		case !ok:
			if _, err := tx.Exec(ctx, `INSERT INTO member_state_statuses (id, state_id, status, valid_from, note, created_at)
				VALUES (?, ?, ?, ?, ?, ?)`, db.NewID(), stateID, string(h.Status), h.ValidFrom, h.Note, now); err != nil {
				return err
			}
		case o != h:
			if _, err := tx.Exec(ctx, "UPDATE member_state_statuses SET status = ?, note = ? WHERE state_id = ? AND valid_from = ?",
				string(h.Status), h.Note, stateID, h.ValidFrom); err != nil {
				return err
			}
		}
	}
	for _, h := range have {
		if !keep[h.ValidFrom] {
			if _, err := tx.Exec(ctx, "DELETE FROM member_state_statuses WHERE state_id = ? AND valid_from = ?", stateID, h.ValidFrom); err != nil {
				return err
			}
		}
	}
	return nil
}

// stateFileForm is the state as the import file holds it: no ids, no
// timestamps, no derived status.
func stateFileForm(m MemberState) MemberState {
	m.ID, m.Status, m.CreatedAt, m.UpdatedAt = "", "", time.Time{}, time.Time{}
	if len(m.History) == 0 {
		m.History = nil
	}
	return m
}
