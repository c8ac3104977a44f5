package duty

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

const (
	// MaxNoteLen bounds a handover note (characters).
	MaxNoteLen = 10000
	// noteLookback is how far back "since my previous shift" looks for that
	// shift; a person with none in that time sees the notes of the last
	// noteFallback.
	noteLookback = 30 * 24 * time.Hour
	noteFallback = 7 * 24 * time.Hour
)

// WriteHandoverNote leaves a note at post postID for whoever comes on duty
// next. The writer is the officer on duty there now (either slot) — the
// outgoing officer — or someone who may edit the post's roster.
func (s *Store) WriteHandoverNote(ctx context.Context, postID, body string) (HandoverNote, error) {
	var out HandoverNote
	body = strings.TrimSpace(strings.ReplaceAll(body, "\r\n", "\n"))
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		a, p, err := s.viewPost(ctx, tx, postID)
		if err != nil {
			return err
		}
		now := s.now()
		var slot Slot
		if a.PersonID != "" {
			m, err := onDuty(ctx, tx, []string{p.ID}, "", nil, now)
			if err != nil {
				return err
			}
			for _, e := range m[p.ID] {
				if e.PersonID == a.PersonID {
					slot = e.Slot
				}
			}
		}
		if slot == "" && !canEdit(a, p) {
			return apperr.Forbidden("not-on-duty", "only the officer on duty at the post (or its roster's editors) leaves handover notes")
		}
		var f fieldErrs
		switch {
		case body == "":
			f.add("body", "required", "the note is empty")
		case utf8.RuneCountInString(body) > MaxNoteLen:
			f.add("body", "too_long", "at most %d characters", MaxNoteLen)
		}
		if err := f.err(); err != nil {
			return err
		}
		n := HandoverNote{ID: db.NewID(), PostID: p.ID, AuthorPersonID: a.PersonID, Author: a.Label(), Slot: slot, Body: body, CreatedAt: now}
		if a.PersonID != "" {
			people, err := loadPeople(ctx, tx, []string{a.PersonID})
			if err != nil {
				return err
			}
			n.AuthorName = people[a.PersonID].Name
		}
		if _, err := tx.Exec(ctx, `INSERT INTO duty_handover_notes (id, post_id, author_person_id, author, slot, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.PostID, nullable(n.AuthorPersonID), n.Author, string(n.Slot), n.Body, n.CreatedAt); err != nil {
			return err
		}
		out = n
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.handover.write", ObjectType: "handover_note", ObjectID: n.ID,
			Summary: fmt.Sprintf("handover note at %s (%d characters)", p.Code, utf8.RuneCountInString(body)),
			After:   n,
		})
	})
	return out, err
}

// HandoverNotes lists post postID's notes written after since, oldest
// first, with the caller's read mark.
func (s *Store) HandoverNotes(ctx context.Context, postID string, since time.Time) ([]HandoverNote, error) {
	a, p, err := s.viewPost(ctx, s.db, postID)
	if err != nil {
		return nil, err
	}
	return listNotes(ctx, s.db, p.ID, a.PersonID, clock.Norm(since))
}

// HandoverNotesForMe is what the incoming officer reads: the notes left
// at post postID since the end of their previous shift there (the one
// before their current or next shift; overrides applied). Someone with no
// shift there in the last 30 days gets the notes of the last 7 days. It
// returns the notes and the instant they are counted from.
func (s *Store) HandoverNotesForMe(ctx context.Context, postID string) ([]HandoverNote, time.Time, error) {
	a, p, err := s.viewPost(ctx, s.db, postID)
	if err != nil {
		return nil, time.Time{}, err
	}
	now := s.now()
	since := now.Add(-noteFallback)
	if a.PersonID != "" {
		rows, err := postRows(ctx, s.db, []string{p.ID}, now.Add(-noteLookback), now.Add(MaxShift))
		if err != nil {
			return nil, since, err
		}
		if prev, ok := previousShiftEnd(effectiveAll(rows), a.PersonID, now); ok {
			since = prev
		}
	}
	notes, err := listNotes(ctx, s.db, p.ID, a.PersonID, since)
	return notes, since, err
}

// previousShiftEnd finds the end of the person's previous stretch on duty
// before their current (or else next, or else none) one. Adjacent segments
// of the person (e.g. either side of a changed hand-over) count as one.
func previousShiftEnd(segs []effSeg, personID string, now time.Time) (time.Time, bool) {
	var mine []Interval
	for _, sg := range segs {
		if sg.r.PersonID == personID {
			mine = append(mine, Interval{sg.Start, sg.End})
		}
	}
	mine = union(mine)
	ref := now
	for _, iv := range mine {
		if iv.End.After(now) {
			ref = iv.Start
			if ref.After(now) {
				ref = now
			}
			break
		}
	}
	var prev time.Time
	found := false
	for _, iv := range mine {
		if !iv.End.After(ref) {
			prev, found = iv.End, true
		}
	}
	return prev, found
}

func listNotes(ctx context.Context, q db.Querier, postID, personID string, since time.Time) ([]HandoverNote, error) {
	rs, err := q.Query(ctx, `SELECT n.id, n.post_id, COALESCE(n.author_person_id, ''), COALESCE(p.name_en, ''), COALESCE(p.name_ru, ''),
		n.author, n.slot, n.body, n.created_at, r.read_at
		FROM duty_handover_notes n LEFT JOIN people p ON p.id = n.author_person_id
		LEFT JOIN duty_handover_reads r ON r.note_id = n.id AND r.person_id = ?
		WHERE n.post_id = ? AND n.created_at > ? ORDER BY n.created_at, n.id`, personID, postID, since)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := []HandoverNote{}
	for rs.Next() {
		var n HandoverNote
		var slot string
		var read sql.NullTime
		if err := rs.Scan(&n.ID, &n.PostID, &n.AuthorPersonID, &n.AuthorName.EN, &n.AuthorName.RU, &n.Author, &slot, &n.Body, &n.CreatedAt, &read); err != nil {
			return nil, err
		}
		n.Slot, n.CreatedAt, n.ReadAt = Slot(slot), clock.Norm(n.CreatedAt), timePtr(read)
		out = append(out, n)
	}
	return out, rs.Err()
}

// MarkHandoverRead records that the caller has read note noteID. Marking
// it again changes nothing.
func (s *Store) MarkHandoverRead(ctx context.Context, noteID string) error {
	return s.db.RunInTx(ctx, func(tx *db.Tx) error {
		var postID string
		err := tx.QueryRow(ctx, `SELECT post_id FROM duty_handover_notes WHERE id = ?`, noteID).Scan(&postID)
		if err == sql.ErrNoRows {
			return apperr.NotFound("handover note")
		}
		if err != nil {
			return err
		}
		a, p, err := s.viewPost(ctx, tx, postID)
		if err != nil {
			if apperr.Is(err, apperr.KindNotFound) {
				return apperr.NotFound("handover note")
			}
			return err
		}
		if a.PersonID == "" {
			return apperr.Forbidden("no-person", "only a person signed in as themselves marks notes read")
		}
		res, err := tx.Exec(ctx, `INSERT INTO duty_handover_reads (note_id, person_id, read_at) VALUES (?, ?, ?)
			ON CONFLICT (note_id, person_id) DO NOTHING`, noteID, a.PersonID, s.now())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "duty.handover.read", ObjectType: "handover_note", ObjectID: noteID,
			Summary: "handover note at " + p.Code + " read",
		})
	})
}
