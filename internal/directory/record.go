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

// record is what archiving needs of any directory record.
type record interface {
	recordID() string
	recordCode() string
	recordName() string
	archivedAt() *time.Time
}

func (m *MemberState) recordID() string       { return m.ID }
func (m *MemberState) recordCode() string     { return m.Code }
func (m *MemberState) archivedAt() *time.Time { return m.ActiveTo }
func (b *Body) recordID() string              { return b.ID }
func (b *Body) recordCode() string            { return b.Code }
func (b *Body) archivedAt() *time.Time        { return b.ActiveTo }
func (p *Post) recordID() string              { return p.ID }
func (p *Post) recordCode() string            { return p.Code }
func (p *Post) archivedAt() *time.Time        { return p.ActiveTo }
func (p *Person) recordID() string            { return p.ID }
func (p *Person) recordCode() string          { return p.Code }
func (p *Person) archivedAt() *time.Time      { return p.ActiveTo }
func (m *MemberState) recordName() string     { return m.NameEN }
func (b *Body) recordName() string            { return b.NameEN }
func (p *Post) recordName() string            { return p.NameEN }
func (p *Person) recordName() string          { return p.NameEN }

// kind names a record type: its table, its audit object type and how a
// person calls it.
type kind struct {
	table, object, label string
}

var (
	kindState  = kind{"member_states", "member_state", "member state"}
	kindBody   = kind{"bodies", "body", "body"}
	kindPost   = kind{"posts", "post", "post"}
	kindPerson = kind{"people", "person", "person"}
)

// getter loads one record by id or code as actor a sees it (NotFound when
// it is outside a's scope).
type getter[T record] func(ctx context.Context, q db.Querier, a *auth.Actor, ref string) (T, error)

// setArchived archives (active_to = now) or unarchives (active_to = NULL)
// one record. Doing what is already done changes nothing and records
// nothing.
func setArchived[T record](ctx context.Context, s *Store, k kind, ref string, archive bool, get getter[T]) (T, error) {
	var zero T
	a, err := viewer(ctx)
	if err != nil {
		return zero, err
	}
	if _, err := get(ctx, s.db, a, ref); err != nil {
		return zero, err
	}
	if !a.IsAdmin() {
		return zero, forbidden()
	}
	var out T
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		before, err := get(ctx, tx, a, ref)
		if err != nil {
			return err
		}
		out = before
		if archive && isArchived(before.archivedAt(), now) || !archive && before.archivedAt() == nil {
			return nil
		}
		var at any
		action, verb := k.object+".unarchive", "unarchived"
		if archive {
			at, action, verb = now, k.object+".archive", "archived"
		}
		if _, err := tx.Exec(ctx, "UPDATE "+k.table+" SET active_to = ?, updated_at = ? WHERE id = ?", at, now, before.recordID()); err != nil {
			return err
		}
		if out, err = get(ctx, tx, a, before.recordID()); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: action, ObjectType: k.object, ObjectID: before.recordID(),
			Summary: fmt.Sprintf("%s %s %s", verb, k.label, before.recordCode()),
			Before:  before, After: out,
		})
	})
	if err != nil {
		return zero, err
	}
	return out, nil
}

// createRecord is what every Create* shares: only an administrator
// creates, and the record that insert returns (as stored) is audited in the
// same transaction. insert validates into c and writes.
func createRecord[T record](ctx context.Context, s *Store, k kind, code string,
	insert func(tx *db.Tx, a *auth.Actor, c *checker, now time.Time) (T, error)) (T, error) {
	var out T
	a, err := admin(ctx)
	if err != nil {
		return out, err
	}
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		x, err := insert(tx, a, newChecker("", false, nil), s.clock.Now())
		if err != nil {
			return err
		}
		out = x
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: k.object + ".create", ObjectType: k.object, ObjectID: x.recordID(),
			Summary: "created " + k.label + " " + x.recordCode() + " (" + x.recordName() + ")", After: x,
		})
	})
	return out, conflictOnUnique(err, k, code)
}

// updateRecord is what every Update* shares: the record must be visible
// before an administrator may change it, it is read again inside the
// transaction, and its code never changes. write validates into c and
// returns the record as stored, or old itself when nothing changed (then
// nothing is audited).
func updateRecord[P interface {
	comparable
	record
}](ctx context.Context, s *Store, k kind, ref, code string, get getter[P],
	write func(tx *db.Tx, a *auth.Actor, c *checker, old P, now time.Time) (P, error)) (P, error) {
	var out P
	a, err := viewer(ctx)
	if err != nil {
		return out, err
	}
	if _, err := get(ctx, s.db, a, ref); err != nil {
		return out, err
	}
	if !a.IsAdmin() {
		return out, forbidden()
	}
	err = s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		old, err := get(ctx, tx, a, ref)
		if err != nil {
			return err
		}
		c := newChecker("", false, nil)
		if code := strings.TrimSpace(code); code != "" && code != old.recordCode() {
			c.add("code", CodeImmutable, "a "+k.label+"'s code cannot change (it is %s)", old.recordCode())
		}
		if out, err = write(tx, a, c, old, now); err != nil || out == old {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: k.object + ".update", ObjectType: k.object, ObjectID: out.recordID(),
			Summary: "updated " + k.label + " " + out.recordCode(), Before: old, After: out,
		})
	})
	return out, err
}

// checkCodeFree adds a field error to c when another record of kind k has
// code already.
func checkCodeFree(ctx context.Context, q db.Querier, c *checker, k kind, code string) error {
	if code == "" {
		return nil
	}
	taken, err := codeTaken(ctx, q, k.table, code, "")
	if err != nil {
		return err
	}
	if taken {
		duplicateCode(c, k, code)
	}
	return nil
}

// codeTaken tells whether another record of the table already has code.
func codeTaken(ctx context.Context, q db.Querier, table, code, exceptID string) (bool, error) {
	var id string
	err := q.QueryRow(ctx, "SELECT id FROM "+table+" WHERE code = ?", code).Scan(&id)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return id != exceptID, nil
}

// conflictOnUnique turns a unique violation that slipped past the
// pre-check (a concurrent writer) into a Conflict.
func conflictOnUnique(err error, k kind, code string) error {
	if err != nil && db.IsUniqueViolation(err) {
		return apperr.Conflict("duplicate-code", fmt.Sprintf("another %s already has the code %s", k.label, quote(code)))
	}
	return err
}

func duplicateCode(c *checker, k kind, code string) {
	c.add("code", CodeDuplicateCode, "another %s already has the code %s", k.label, quote(code))
}

// loadRefs fills a refIndex from the database for validating one write:
// every member state and body (few) and the people named.
func loadRefs(ctx context.Context, q db.Querier, people ...string) (*refIndex, error) {
	r := newRefIndex()
	rows, err := q.Query(ctx, "SELECT id, code, tz FROM member_states")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x ref
		if err := rows.Scan(&x.ID, &x.Code, &x.TZ); err != nil {
			rows.Close()
			return nil, err
		}
		r.states[x.Code] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT b.id, b.code, COALESCE(s.code, ''), COALESCE(p.code, '')
		FROM bodies b LEFT JOIN member_states s ON s.id = b.state_id LEFT JOIN bodies p ON p.id = b.parent_id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var x ref
		if err := rows.Scan(&x.ID, &x.Code, &x.State, &x.Parent); err != nil {
			rows.Close()
			return nil, err
		}
		r.bodies[x.Code] = x
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, code := range people {
		if code == "" {
			continue
		}
		var x ref
		err := q.QueryRow(ctx, `SELECT p.id, p.code, COALESCE(s.code, '') FROM people p
			LEFT JOIN member_states s ON s.id = p.state_id WHERE p.code = ?`, code).Scan(&x.ID, &x.Code, &x.State)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, err
		}
		r.people[x.Code] = x
	}
	org, err := getOrg(ctx, q)
	if err != nil {
		return nil, err
	}
	r.orgTZ = org.TZ
	return r, nil
}
