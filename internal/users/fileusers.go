package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/db"
	"sitroom/internal/directory"
)

// fileUserChange is what the audit entry of an import keeps per account.
type fileUserChange struct {
	Login  string   `json:"login"`
	New    bool     `json:"new,omitempty"`
	Locale string   `json:"locale,omitempty"`
	Before []string `json:"roles_before,omitempty"`
	After  []string `json:"roles"`
}

// ImportFileUsers applies the users of an import file inside the directory
// import's transaction, after the people, states and posts of the same file
// have been written (so their codes resolve). Keyed by login: an unknown
// login becomes an account without a password (it cannot sign in until one
// is set); a known one gets the file's grants and, when the file gives one,
// its locale (an absent locale leaves the user's own choice alone). It never
// deletes or deactivates an account, never moves a login to another person,
// and writes nothing for an account that already matches. Every bad field is
// reported at once, named users[i].field, and nothing is written then.
//
// Because grants decide what people may see, changed accounts get one audit
// entry of their own ("user.import", with roles before and after) beside the
// import's entry; an import that changes no account adds none.
func (s *Store) ImportFileUsers(ctx context.Context, tx *db.Tx, us []directory.FileUser) (created, updated int, err error) {
	if _, err := requireAdmin(ctx); err != nil {
		return 0, 0, err
	}
	type plan struct {
		fu       directory.FileUser
		personID string
		grants   []grant
		userID   string // "" = new
		locale   string
		have     []grant
	}
	var f apperr.Fields
	plans := make([]plan, 0, len(us))
	seen := map[string]int{}
	for i, fu := range us {
		field := func(name string) string { return fmt.Sprintf("users[%d].%s", i, name) }
		p := plan{fu: fu}
		p.fu.Login = NormLogin(fu.Login)
		p.fu.Person = strings.TrimSpace(fu.Person)
		checkLogin(&f, field("login"), p.fu.Login)
		if j, dup := seen[p.fu.Login]; dup && p.fu.Login != "" {
			f.Add(field("login"), "duplicate", "login %s is also at users[%d]", p.fu.Login, j)
		}
		seen[p.fu.Login] = i
		if fu.Locale != "" {
			checkLocale(&f, field("locale"), fu.Locale)
		}
		if p.fu.Person == "" {
			f.Add(field("person"), "required", "the person's code is required")
		} else {
			err := tx.QueryRow(ctx, `SELECT id FROM people WHERE code = ?`, p.fu.Person).Scan(&p.personID)
			if errors.Is(err, sql.ErrNoRows) {
				f.Add(field("person"), "unknown_person", "no person with code %q", p.fu.Person)
			} else if err != nil {
				return 0, 0, err
			}
		}
		gs, gf, err := parseGrants(ctx, tx, fu.Roles, field("roles"))
		if err != nil {
			return 0, 0, err
		}
		f = append(f, gf...)
		p.grants = gs
		if p.fu.Login != "" && p.personID != "" {
			var curPerson string
			err := tx.QueryRow(ctx, `SELECT id, person_id, locale FROM users WHERE login = ?`, p.fu.Login).Scan(&p.userID, &curPerson, &p.locale)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				var other string
				err := tx.QueryRow(ctx, `SELECT login FROM users WHERE person_id = ?`, p.personID).Scan(&other)
				if err == nil {
					f.Add(field("person"), "person_has_user", "person %s already signs in as %s", p.fu.Person, other)
				} else if !errors.Is(err, sql.ErrNoRows) {
					return 0, 0, err
				}
			case err != nil:
				return 0, 0, err
			case curPerson != p.personID:
				f.Add(field("person"), "person_changed", "login %s belongs to another person; a file cannot move it", p.fu.Login)
			}
		}
		plans = append(plans, p)
	}
	if err := f.Err(); err != nil {
		return 0, 0, err
	}
	var ids []string
	for _, p := range plans {
		if p.userID != "" {
			ids = append(ids, p.userID)
		}
	}
	have, err := loadGrants(ctx, tx, ids...)
	if err != nil {
		return 0, 0, err
	}
	now := s.clock.Now()
	var changes []fileUserChange
	for _, p := range plans {
		if p.userID == "" {
			locale := p.fu.Locale
			if locale == "" {
				locale = "en"
			}
			id := db.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO users (id, person_id, login, password_hash, locale, active, created_at, updated_at)
				VALUES (?, ?, ?, '', ?, TRUE, ?, ?)`, id, p.personID, p.fu.Login, locale, now, now); err != nil {
				return 0, 0, fmt.Errorf("user %s: %w", p.fu.Login, err)
			}
			if _, err := s.replaceGrants(ctx, tx, id, nil, p.grants); err != nil {
				return 0, 0, err
			}
			created++
			changes = append(changes, fileUserChange{Login: p.fu.Login, New: true, Locale: locale, After: specs(p.grants)})
			continue
		}
		changed, err := s.replaceGrants(ctx, tx, p.userID, have[p.userID], p.grants)
		if err != nil {
			return 0, 0, err
		}
		locale := p.locale
		if p.fu.Locale != "" && p.fu.Locale != p.locale {
			locale, changed = p.fu.Locale, true
		}
		if !changed {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET locale = ?, updated_at = ? WHERE id = ?`, locale, now, p.userID); err != nil {
			return 0, 0, err
		}
		updated++
		changes = append(changes, fileUserChange{Login: p.fu.Login, Locale: locale, Before: specs(have[p.userID]), After: specs(p.grants)})
	}
	if len(changes) == 0 {
		return 0, 0, nil
	}
	err = s.audit.Record(ctx, tx, audit.Entry{Action: "user.import", ObjectType: "user",
		Summary: fmt.Sprintf("import: %d user(s) created, %d updated", created, updated), After: changes})
	return created, updated, err
}

// ExportFileUsers lists every account (active or not) for an export file,
// in login order, with grants written ROLE or ROLE:CODE. Administrators
// only. Passwords are never exported.
func (s *Store) ExportFileUsers(ctx context.Context) ([]directory.FileUser, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	rows, err := s.d.Query(ctx, `SELECT u.id, p.code, u.login, u.locale FROM users u JOIN people p ON p.id = u.person_id ORDER BY u.login`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []directory.FileUser
	var ids []string
	for rows.Next() {
		var id string
		var fu directory.FileUser
		if err := rows.Scan(&id, &fu.Person, &fu.Login, &fu.Locale); err != nil {
			return nil, err
		}
		out = append(out, fu)
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	gs, err := loadGrants(ctx, s.d, ids...)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Roles = specs(gs[ids[i]])
		if out[i].Roles == nil {
			out[i].Roles = []string{}
		}
	}
	return out, nil
}
