package directory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

const postSelect = `SELECT p.id, p.code, p.kind, p.name_en, p.name_ru, p.state_id, s.code, p.body_id, b.code,
	p.ministry_kind, p.tz, p.contacts, p.head_person_id, h.code, h.state_id, p.active_to, p.created_at, p.updated_at
	FROM posts p LEFT JOIN member_states s ON s.id = p.state_id LEFT JOIN bodies b ON b.id = p.body_id
	LEFT JOIN people h ON h.id = p.head_person_id`

// scanPost reads a post and the member state of its head (for redaction).
func scanPost(r scanner) (Post, string, error) {
	var p Post
	var stateID, state, bodyID, body, headID, head, headState sql.NullString
	var contacts string
	var at sql.NullTime
	err := r.Scan(&p.ID, &p.Code, &p.Kind, &p.NameEN, &p.NameRU, &stateID, &state, &bodyID, &body,
		&p.MinistryKind, &p.TZ, &contacts, &headID, &head, &headState, &at, &p.CreatedAt, &p.UpdatedAt)
	if err != nil {
		return p, "", err
	}
	p.StateID, p.State, p.BodyID, p.Body = stateID.String, state.String, bodyID.String, body.String
	p.HeadPersonID, p.Head = headID.String, head.String
	p.ActiveTo = timePtr(at)
	p.CreatedAt, p.UpdatedAt = p.CreatedAt.UTC(), p.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(contacts), &p.Contacts); err != nil {
		return p, "", fmt.Errorf("post %s: stored contacts: %w", p.Code, err)
	}
	return p, headState.String, nil
}

// redact withholds what a may not see: the contacts and head of a post of
// a member state a may not see, and a head from such a state. Contacts is
// nil only when withheld; a post without contacts has an empty list.
func redact(p *Post, a *auth.Actor, headState string) {
	if !a.CanSeeState(p.StateID) {
		p.Contacts, p.Head, p.HeadPersonID = nil, "", ""
		return
	}
	if p.HeadPersonID != "" && !a.CanSeeState(headState) {
		p.Head, p.HeadPersonID = "", ""
	}
	if p.Contacts == nil {
		p.Contacts = []Contact{}
	}
}

// ListPosts lists posts. Every signed-in actor sees every post's name; the
// contacts and head of a post are withheld (Contacts nil) unless the actor
// may see the post's member state.
func (s *Store) ListPosts(ctx context.Context, o ListOptions) ([]Post, string, error) {
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
		w.add("p.state_id = ?", id)
	}
	if o.Kind != "" {
		if o.Kind != string(PostCentre) && o.Kind != string(PostMinistry) {
			return nil, "", apperr.Invalid(apperr.FieldError{Field: "kind", Code: CodeUnknownKind,
				Message: fmt.Sprintf("unknown post kind %s (want centre or ministry)", quote(o.Kind))})
		}
		w.add("p.kind = ?", o.Kind)
	}
	if o.MinistryKind != "" {
		if !slices.Contains(MinistryKinds, o.MinistryKind) {
			return nil, "", apperr.Invalid(apperr.FieldError{Field: "ministry_kind", Code: CodeUnknownMinistryKind,
				Message: fmt.Sprintf("unknown ministry kind %s (want %s)", quote(o.MinistryKind), strings.Join(MinistryKinds, ", "))})
		}
		w.add("p.ministry_kind = ?", o.MinistryKind)
	}
	w.addCommon("p", o, s.clock.Now(), after)
	limit := o.limit()
	rows, err := s.db.Query(ctx, postSelect+w.sql()+" ORDER BY p.id LIMIT ?", append(w.args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []Post{}
	for rows.Next() {
		p, headState, err := scanPost(rows)
		if err != nil {
			return nil, "", err
		}
		redact(&p, a, headState)
		out = append(out, p)
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

// GetPost returns a post by id or code, redacted as in ListPosts.
func (s *Store) GetPost(ctx context.Context, ref string) (*Post, error) {
	a, err := viewer(ctx)
	if err != nil {
		return nil, err
	}
	return s.getPost(ctx, s.db, a, ref)
}

func (s *Store) getPost(ctx context.Context, q db.Querier, a *auth.Actor, ref string) (*Post, error) {
	ref = strings.TrimSpace(ref)
	p, headState, err := scanPost(q.QueryRow(ctx, postSelect+fmt.Sprintf(" WHERE "+refWhere+refOrder, "p"), ref, ref, ref))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("post " + quote(ref))
	}
	if err != nil {
		return nil, err
	}
	redact(&p, a, headState)
	return &p, nil
}

// CreatePost adds a post. References (state, body, head) are by code; a
// post's zone defaults to its member state's (the organisation's for a
// centre post).
func (s *Store) CreatePost(ctx context.Context, p Post) (*Post, error) {
	return createRecord(ctx, s, kindPost, p.Code, func(tx *db.Tx, a *auth.Actor, c *checker, now time.Time) (*Post, error) {
		x := p
		x.Contacts = append([]Contact(nil), p.Contacts...)
		r, err := loadRefs(ctx, tx, strings.TrimSpace(x.Head))
		if err != nil {
			return nil, err
		}
		c.checkPost(&x, r)
		if err := checkCodeFree(ctx, tx, c, kindPost, x.Code); err != nil {
			return nil, err
		}
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = db.NewID(), now, now, nil
		if err := insertPost(ctx, tx, &x); err != nil {
			return nil, err
		}
		return s.getPost(ctx, tx, a, x.ID)
	})
}

// UpdatePost replaces a post's fields; its code never changes.
func (s *Store) UpdatePost(ctx context.Context, ref string, p Post) (*Post, error) {
	return updateRecord(ctx, s, kindPost, ref, p.Code, s.getPost, func(tx *db.Tx, a *auth.Actor, c *checker, old *Post, now time.Time) (*Post, error) {
		x := p
		x.Contacts = append([]Contact(nil), p.Contacts...)
		x.Code = old.Code
		r, err := loadRefs(ctx, tx, strings.TrimSpace(x.Head))
		if err != nil {
			return nil, err
		}
		c.checkPost(&x, r)
		if err := c.err(); err != nil {
			return nil, err
		}
		x.ID, x.CreatedAt, x.UpdatedAt, x.ActiveTo = old.ID, old.CreatedAt, now, old.ActiveTo
		if sameJSON(postFileForm(*old), postFileForm(x)) {
			return old, nil
		}
		if err := updatePost(ctx, tx, &x); err != nil {
			return nil, err
		}
		return s.getPost(ctx, tx, a, x.ID)
	})
}

// ArchivePost sets the post's active_to to now; nothing is deleted.
func (s *Store) ArchivePost(ctx context.Context, ref string) (*Post, error) {
	return setArchived(ctx, s, kindPost, ref, true, s.getPost)
}

// UnarchivePost clears active_to.
func (s *Store) UnarchivePost(ctx context.Context, ref string) (*Post, error) {
	return setArchived(ctx, s, kindPost, ref, false, s.getPost)
}

func contactsJSON(cs []Contact) string {
	if len(cs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(cs)
	return string(b)
}

func insertPost(ctx context.Context, tx *db.Tx, p *Post) error {
	_, err := tx.Exec(ctx, `INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, body_id, ministry_kind, tz, contacts, head_person_id, active_to, search, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.Code, string(p.Kind), p.NameEN, p.NameRU, nullable(p.StateID), nullable(p.BodyID), p.MinistryKind, p.TZ,
		contactsJSON(p.Contacts), nullable(p.HeadPersonID), nullTime(p.ActiveTo), postSearch(p), p.CreatedAt, p.UpdatedAt)
	return err
}

func updatePost(ctx context.Context, tx *db.Tx, p *Post) error {
	_, err := tx.Exec(ctx, `UPDATE posts SET kind = ?, name_en = ?, name_ru = ?, state_id = ?, body_id = ?, ministry_kind = ?, tz = ?,
		contacts = ?, head_person_id = ?, active_to = ?, search = ?, updated_at = ? WHERE id = ?`,
		string(p.Kind), p.NameEN, p.NameRU, nullable(p.StateID), nullable(p.BodyID), p.MinistryKind, p.TZ,
		contactsJSON(p.Contacts), nullable(p.HeadPersonID), nullTime(p.ActiveTo), postSearch(p), p.UpdatedAt, p.ID)
	return err
}

func postSearch(p *Post) string { return searchText(p.Code, p.NameEN, p.NameRU) }

func postFileForm(p Post) Post {
	p.ID, p.StateID, p.BodyID, p.HeadPersonID, p.CreatedAt, p.UpdatedAt = "", "", "", "", time.Time{}, time.Time{}
	if len(p.Contacts) == 0 {
		p.Contacts = nil
	}
	return p
}
