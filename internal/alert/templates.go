package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Template is a recurring message kept for the composer (e.g. "Daily
// communication check"). Using one fills the composer; the alert sent from
// it is an ordinary alert that does not refer back to the template, so
// editing or deleting a template never touches what was sent.
//
// Centre roles keep templates; administrators may read them (as they read
// alerts); nobody else sees them.
type Template struct {
	ID               string    `json:"id"`
	Code             string    `json:"code"`
	NameEN           string    `json:"name_en"`
	NameRU           string    `json:"name_ru"`
	Title            string    `json:"title"`
	Body             string    `json:"body"`
	Priority         Priority  `json:"priority"`
	AckWithinSeconds int       `json:"ack_within_seconds"`
	Exercise         bool      `json:"exercise"`
	Targets          Targets   `json:"targets"` // may be empty: chosen in the composer
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// TemplateInput is a template as entered.
type TemplateInput struct {
	Code             string   `json:"code"`
	NameEN           string   `json:"name_en"`
	NameRU           string   `json:"name_ru"`
	Title            string   `json:"title"`
	Body             string   `json:"body"`
	Priority         Priority `json:"priority"`
	AckWithinSeconds int      `json:"ack_within_seconds"`
	Exercise         bool     `json:"exercise"`
	Targets          Targets  `json:"targets"`
}

// MaxTemplates bounds how many templates an installation keeps (the
// composer lists them all).
const MaxTemplates = 500

var templateCode = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func templateReader(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to use alert templates")
	}
	if !a.IsCentre() && !a.IsAdmin() && a.Kind != auth.KindSystem {
		return nil, apperr.Forbidden("", "alert templates belong to the centre's duty officers")
	}
	return a, nil
}

func templateWriter(ctx context.Context) (*auth.Actor, error) {
	a, err := templateReader(ctx)
	if err != nil {
		return nil, err
	}
	if !canSend(a) {
		return nil, apperr.Forbidden("", "only the centre's duty officers keep alert templates")
	}
	return a, nil
}

func validateTemplate(in *TemplateInput) error {
	var f apperr.Fields
	in.Code = strings.TrimSpace(in.Code)
	in.NameEN, in.NameRU = strings.TrimSpace(in.NameEN), strings.TrimSpace(in.NameRU)
	in.Title = strings.TrimSpace(in.Title)
	if !templateCode.MatchString(in.Code) {
		f.Add("code", "invalid_code", "1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit")
	}
	switch {
	case in.NameEN == "":
		f.Add("name_en", "required", "a name is required")
	case utf8.RuneCountInString(in.NameEN) > 200:
		f.Add("name_en", "too_long", "at most 200 characters")
	}
	if in.NameRU == "" {
		in.NameRU = in.NameEN
	} else if utf8.RuneCountInString(in.NameRU) > 200 {
		f.Add("name_ru", "too_long", "at most 200 characters")
	}
	switch {
	case in.Title == "":
		f.Add("title", "required", "a title is required")
	case utf8.RuneCountInString(in.Title) > MaxTitle:
		f.Add("title", "too_long", "at most %d characters", MaxTitle)
	}
	if utf8.RuneCountInString(in.Body) > MaxBody {
		f.Add("body", "too_long", "at most %d characters", MaxBody)
	}
	switch in.Priority {
	case Routine, Urgent, Flash:
	case "":
		in.Priority = Routine
	default:
		f.Add("priority", "invalid_priority", "routine, urgent or flash")
	}
	if in.AckWithinSeconds < MinAckWithin || in.AckWithinSeconds > MaxAckWithin {
		f.Add("ack_within_seconds", "out_of_range", "from %d seconds to 7 days", MinAckWithin)
	}
	t := in.Targets
	if t.All && (len(t.States) > 0 || len(t.MinistryKinds) > 0 || len(t.Posts) > 0) {
		f.Add("targets", "conflicting_targets", `"all" cannot be combined with other targets`)
	}
	return f.Err()
}

const templateCols = `id, code, name_en, name_ru, title, body, priority, ack_within_seconds, exercise, targets, created_at, updated_at`

func scanTemplate(sc interface{ Scan(...any) error }) (*Template, error) {
	var t Template
	var targets string
	if err := sc.Scan(&t.ID, &t.Code, &t.NameEN, &t.NameRU, &t.Title, &t.Body, &t.Priority, &t.AckWithinSeconds, &t.Exercise,
		&targets, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	_ = json.Unmarshal([]byte(targets), &t.Targets)
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

func loadTemplate(ctx context.Context, q db.Querier, ref string) (*Template, error) {
	ref = strings.TrimSpace(ref)
	t, err := scanTemplate(q.QueryRow(ctx, "SELECT "+templateCols+" FROM alert_templates WHERE id = ? OR code = ? ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1",
		ref, ref, ref))
	if err == sql.ErrNoRows {
		return nil, apperr.NotFound("alert template " + fmt.Sprintf("%q", ref))
	}
	return t, err
}

// Templates lists the templates by code.
func (s *Store) Templates(ctx context.Context) ([]Template, error) {
	if _, err := templateReader(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, "SELECT "+templateCols+" FROM alert_templates ORDER BY code")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// Template returns one template by id or code.
func (s *Store) Template(ctx context.Context, ref string) (*Template, error) {
	if _, err := templateReader(ctx); err != nil {
		return nil, err
	}
	return loadTemplate(ctx, s.db, ref)
}

// CreateTemplate stores a new template. A code in use is a conflict.
func (s *Store) CreateTemplate(ctx context.Context, in TemplateInput) (*Template, error) {
	if _, err := templateWriter(ctx); err != nil {
		return nil, err
	}
	if err := validateTemplate(&in); err != nil {
		return nil, err
	}
	var out *Template
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT COUNT(*) FROM alert_templates").Scan(&n); err != nil {
			return err
		}
		if n >= MaxTemplates {
			return apperr.Conflict("too-many-templates", fmt.Sprintf("at most %d templates; delete one first", MaxTemplates))
		}
		now := s.clock.Now()
		t := &Template{ID: db.NewID(), Code: in.Code, NameEN: in.NameEN, NameRU: in.NameRU, Title: in.Title, Body: in.Body,
			Priority: in.Priority, AckWithinSeconds: in.AckWithinSeconds, Exercise: in.Exercise, Targets: in.Targets,
			CreatedAt: now, UpdatedAt: now}
		targets, _ := json.Marshal(t.Targets)
		if _, err := tx.Exec(ctx, "INSERT INTO alert_templates ("+templateCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			t.ID, t.Code, t.NameEN, t.NameRU, t.Title, t.Body, t.Priority, t.AckWithinSeconds, t.Exercise, string(targets), now, now); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-code", "another alert template has the code "+t.Code)
			}
			return err
		}
		out = t
		return s.audit.Record(ctx, tx, audit.Entry{Action: "alert.template.create", ObjectType: "alert_template", ObjectID: t.ID,
			Summary: fmt.Sprintf("alert template %s (%q) created", t.Code, t.NameEN), After: t})
	})
	return out, err
}

// UpdateTemplate replaces a template's content; its code never changes.
// An unchanged template is not written.
func (s *Store) UpdateTemplate(ctx context.Context, ref string, in TemplateInput) (*Template, error) {
	if _, err := templateWriter(ctx); err != nil {
		return nil, err
	}
	var out *Template
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		old, err := loadTemplate(ctx, tx, ref)
		if err != nil {
			return err
		}
		if strings.TrimSpace(in.Code) == "" {
			in.Code = old.Code
		}
		if err := validateTemplate(&in); err != nil {
			return err
		}
		if in.Code != old.Code {
			return apperr.Invalid(apperr.FieldError{Field: "code", Code: "immutable", Message: "a template's code never changes"})
		}
		t := *old
		t.NameEN, t.NameRU, t.Title, t.Body, t.Priority = in.NameEN, in.NameRU, in.Title, in.Body, in.Priority
		t.AckWithinSeconds, t.Exercise, t.Targets = in.AckWithinSeconds, in.Exercise, in.Targets
		oldJSON, _ := json.Marshal(old)
		newJSON, _ := json.Marshal(t)
		if string(oldJSON) == string(newJSON) {
			out = old
			return nil
		}
		now := s.clock.Now()
		t.UpdatedAt = now
		targets, _ := json.Marshal(t.Targets)
		if _, err := tx.Exec(ctx, `UPDATE alert_templates SET name_en = ?, name_ru = ?, title = ?, body = ?, priority = ?, ack_within_seconds = ?,
			exercise = ?, targets = ?, updated_at = ? WHERE id = ?`,
			t.NameEN, t.NameRU, t.Title, t.Body, t.Priority, t.AckWithinSeconds, t.Exercise, string(targets), now, t.ID); err != nil {
			return err
		}
		out = &t
		return s.audit.Record(ctx, tx, audit.Entry{Action: "alert.template.update", ObjectType: "alert_template", ObjectID: t.ID,
			Summary: fmt.Sprintf("alert template %s changed", t.Code), Before: old, After: t})
	})
	return out, err
}

// DeleteTemplate removes a template (alerts sent from it are untouched).
func (s *Store) DeleteTemplate(ctx context.Context, ref string) error {
	if _, err := templateWriter(ctx); err != nil {
		return err
	}
	return s.db.RunInTx(ctx, func(tx *db.Tx) error {
		old, err := loadTemplate(ctx, tx, ref)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM alert_templates WHERE id = ?", old.ID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "alert.template.delete", ObjectType: "alert_template", ObjectID: old.ID,
			Summary: fmt.Sprintf("alert template %s deleted", old.Code), Before: old})
	})
}
