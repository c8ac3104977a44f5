package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/db"
)

// Locales a user interface may be shown in.
var Locales = []string{"en", "ru"}

// User is an account: a person from the directory who may sign in.
type User struct {
	ID                string       `json:"id"`
	PersonID          string       `json:"person_id"`
	PersonCode        string       `json:"person_code"`
	Login             string       `json:"login"`
	NameEN            string       `json:"name_en"`
	NameRU            string       `json:"name_ru"`
	Locale            string       `json:"locale"`
	TZ                string       `json:"tz,omitempty"`
	Active            bool         `json:"active"`
	HasPassword       bool         `json:"has_password"` // false: cannot sign in until one is set
	Roles             []string     `json:"roles"`        // grants written ROLE or ROLE:CODE
	Grants            []auth.Grant `json:"grants"`
	PasswordChangedAt *time.Time   `json:"password_changed_at,omitempty"`
	CreatedAt         time.Time    `json:"created_at"`
	UpdatedAt         time.Time    `json:"updated_at"`
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Login      string   // an e-mail address; stored lower-cased
	NameEN     string   // for a new person (required unless PersonCode is given)
	NameRU     string   // defaults to NameEN
	PersonCode string   // link this existing person instead of creating one
	Password   string   // empty: the account cannot sign in until one is set
	Locale     string   // en (default) or ru
	Grants     []string // ROLE or ROLE:SCOPE
}

// userView is what the audit log keeps of a user (never a hash).
type userView struct {
	Login  string   `json:"login"`
	Person string   `json:"person"`
	Locale string   `json:"locale"`
	TZ     string   `json:"tz,omitempty"`
	Active bool     `json:"active"`
	Roles  []string `json:"roles"`
}

func (u *User) view() userView {
	return userView{Login: u.Login, Person: u.PersonCode, Locale: u.Locale, TZ: u.TZ, Active: u.Active, Roles: u.Roles}
}

var loginRE = regexp.MustCompile(`^[^@\s]+@[^@\s]+$`)

// NormLogin is how logins are compared: trimmed and lower-cased.
func NormLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

func checkLogin(f *apperr.Fields, field, login string) {
	switch {
	case login == "":
		f.Add(field, "required", "an e-mail address is required")
	case len(login) > 254 || !loginRE.MatchString(login):
		f.Add(field, "invalid_email", "not an e-mail address: %q", login)
	}
}

func checkLocale(f *apperr.Fields, field, locale string) {
	if locale != "en" && locale != "ru" {
		f.Add(field, "unknown_locale", "the language is en or ru, not %q", locale)
	}
}

// CreateUser creates an account and, unless PersonCode names an existing
// person, the person it belongs to (with a code made from the login).
// Administrators only.
func (s *Store) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	nu.Login = NormLogin(nu.Login)
	nu.NameEN = strings.TrimSpace(nu.NameEN)
	nu.NameRU = strings.TrimSpace(nu.NameRU)
	nu.PersonCode = strings.TrimSpace(nu.PersonCode)
	if nu.NameRU == "" {
		nu.NameRU = nu.NameEN
	}
	if nu.Locale == "" {
		nu.Locale = "en"
	}
	var f apperr.Fields
	checkLogin(&f, "login", nu.Login)
	checkLocale(&f, "locale", nu.Locale)
	if nu.PersonCode == "" && nu.NameEN == "" {
		f.Add("name_en", "required", "a name is required")
	}
	if nu.Password != "" {
		if err := CheckPassword("password", nu.Password); err != nil {
			e, _ := apperr.As(err)
			f = append(f, e.Fields...)
		}
	}
	// Grants are resolved again inside the transaction; this pass only
	// reports every bad field at once before the slow hash.
	_, gf, err := parseGrants(ctx, s.d, nu.Grants, "grants")
	if err != nil {
		return nil, err
	}
	f = append(f, gf...)
	if err := f.Err(); err != nil {
		return nil, err
	}
	hash := ""
	if nu.Password != "" {
		if hash, err = s.hash(ctx, nu.Password); err != nil {
			return nil, err
		}
	}
	var id string
	err = s.d.RunInTx(ctx, func(tx *db.Tx) error {
		gs, gf, err := parseGrants(ctx, tx, nu.Grants, "grants")
		if err != nil {
			return err
		}
		if err := gf.Err(); err != nil {
			return err
		}
		var taken int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE login = ?`, nu.Login).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return apperr.Conflict("duplicate-login", "a user with login "+nu.Login+" already exists")
		}
		now := s.clock.Now()
		var personID string
		if nu.PersonCode != "" {
			err := tx.QueryRow(ctx, `SELECT id FROM people WHERE code = ?`, nu.PersonCode).Scan(&personID)
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.Invalid(apperr.FieldError{Field: "person_code", Code: "unknown_person", Message: fmt.Sprintf("no person with code %q", nu.PersonCode)})
			}
			if err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM users WHERE person_id = ?`, personID).Scan(&taken); err != nil {
				return err
			}
			if taken > 0 {
				return apperr.Invalid(apperr.FieldError{Field: "person_code", Code: "person_has_user", Message: fmt.Sprintf("person %s already has a user account", nu.PersonCode)})
			}
		} else {
			code, err := freePersonCode(ctx, tx, nu.Login)
			if err != nil {
				return err
			}
			personID = db.NewID()
			search := strings.ToLower(strings.Join([]string{nu.NameEN, nu.NameRU, code, nu.Login}, " "))
			if _, err := tx.Exec(ctx, `INSERT INTO people (id, code, name_en, name_ru, email, search, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, personID, code, nu.NameEN, nu.NameRU, nu.Login, search, now, now); err != nil {
				return err
			}
		}
		id = db.NewID()
		var changedAt any
		if hash != "" {
			changedAt = now
		}
		if _, err := tx.Exec(ctx, `INSERT INTO users (id, person_id, login, password_hash, locale, active, password_changed_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, TRUE, ?, ?, ?)`, id, personID, nu.Login, hash, nu.Locale, changedAt, now, now); err != nil {
			if db.IsUniqueViolation(err) {
				return apperr.Conflict("duplicate-login", "a user with login "+nu.Login+" already exists")
			}
			return err
		}
		if _, err := s.replaceGrants(ctx, tx, id, nil, gs); err != nil {
			return err
		}
		u, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user.create", ObjectType: "user", ObjectID: id,
			Summary: "created user " + u.Login + " (" + strings.Join(u.Roles, ", ") + ")", After: u.view()})
	})
	if err != nil {
		return nil, err
	}
	return getUser(ctx, s.d, id)
}

var codeJunk = regexp.MustCompile(`[^a-z0-9]+`)

// freePersonCode makes a directory code for a person created with a user:
// the login's local part ("a.ivanova@…" → "a-ivanova"), with a number
// added when it is taken.
func freePersonCode(ctx context.Context, q db.Querier, login string) (string, error) {
	local, _, _ := strings.Cut(login, "@")
	base := strings.Trim(codeJunk.ReplaceAllString(strings.ToLower(local), "-"), "-")
	if base == "" {
		base = "user"
	}
	if len(base) > 40 {
		base = base[:40]
	}
	for i := 1; i < 1000; i++ {
		code := base
		if i > 1 {
			code = fmt.Sprintf("%s-%d", base, i)
		}
		var n int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM people WHERE code = ?`, code).Scan(&n); err != nil {
			return "", err
		}
		if n == 0 {
			return code, nil
		}
	}
	return base + "-" + strings.ToLower(randomToken(4)), nil
}

const userCols = `u.id, u.person_id, p.code, u.login, p.name_en, p.name_ru, u.locale, u.tz, u.active,
	u.password_hash <> '', u.password_changed_at, u.created_at, u.updated_at`

const userFrom = ` FROM users u JOIN people p ON p.id = u.person_id `

func scanUser(sc interface{ Scan(...any) error }) (*User, error) {
	var u User
	var changed sql.NullTime
	if err := sc.Scan(&u.ID, &u.PersonID, &u.PersonCode, &u.Login, &u.NameEN, &u.NameRU, &u.Locale, &u.TZ, &u.Active,
		&u.HasPassword, &changed, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.PasswordChangedAt = ptrTime(changed)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

func fillGrants(u *User, gs []grant) {
	u.Grants = authGrants(gs)
	u.Roles = specs(gs)
}

// getUser reads one user with grants, without permission checks.
func getUser(ctx context.Context, q db.Querier, id string) (*User, error) {
	u, err := scanUser(q.QueryRow(ctx, `SELECT `+userCols+userFrom+`WHERE u.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.NotFound("user")
	}
	if err != nil {
		return nil, err
	}
	gs, err := loadGrants(ctx, q, id)
	if err != nil {
		return nil, err
	}
	fillGrants(u, gs[id])
	return u, nil
}

// GetUser returns a user: any for an administrator, oneself for others.
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.IsAdmin() && a.UserID != id {
		return nil, apperr.NotFound("user")
	}
	return getUser(ctx, s.d, id)
}

// UserByLogin is GetUser by login.
func (s *Store) UserByLogin(ctx context.Context, login string) (*User, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	login = NormLogin(login)
	var id string
	err = s.d.QueryRow(ctx, `SELECT id FROM users WHERE login = ?`, login).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !a.IsAdmin() && a.UserID != id) {
		return nil, apperr.NotFound("user " + login)
	}
	if err != nil {
		return nil, err
	}
	return getUser(ctx, s.d, id)
}

// UserQuery filters and pages ListUsers.
type UserQuery struct {
	Search string // part of the login or a name, any case
	Active *bool
	Limit  int    // default 100, at most 500
	Cursor string // the id after which to continue
}

// ListUsers lists users in id order (administrators only) and returns the
// cursor of the next page ("" at the end).
func (s *Store) ListUsers(ctx context.Context, q UserQuery) ([]User, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 500 {
		q.Limit = 500
	}
	where := []string{"u.id > ?"}
	args := []any{q.Cursor}
	if t := strings.ToLower(strings.TrimSpace(q.Search)); t != "" {
		where = append(where, "(u.login LIKE ? OR p.search LIKE ?)")
		like := "%" + likeEscape(t) + "%"
		args = append(args, like, like)
	}
	if q.Active != nil {
		where = append(where, "u.active = ?")
		args = append(args, *q.Active)
	}
	args = append(args, q.Limit+1)
	rows, err := s.d.Query(ctx, `SELECT `+userCols+userFrom+`WHERE `+strings.Join(where, " AND ")+` ORDER BY u.id LIMIT ?`, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []User
	var ids []string
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *u)
		ids = append(ids, u.ID)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > q.Limit {
		out, ids = out[:q.Limit], ids[:q.Limit]
		next = out[len(out)-1].ID
	}
	gs, err := loadGrants(ctx, s.d, ids...)
	if err != nil {
		return nil, "", err
	}
	for i := range out {
		fillGrants(&out[i], gs[out[i].ID])
	}
	return out, next, nil
}

// likeEscape drops the LIKE wildcards from a search term: a user searching
// for "50%" means the characters, and neither engine shares an ESCAPE default.
func likeEscape(s string) string {
	return strings.NewReplacer("%", "", "_", "").Replace(s)
}

// UserUpdate changes what is set (nil: leave as is).
type UserUpdate struct {
	Grants *[]string // replaces all grants
	Locale *string
	TZ     *string
	Active *bool
}

// UpdateUser changes a user's grants, locale, zone or active flag
// (administrators only). Deactivating a user ends their sessions at once;
// their API tokens stop working while the account is inactive. The last
// active administrator cannot be deactivated or lose the admin role: nobody
// could manage users after that.
func (s *Store) UpdateUser(ctx context.Context, id string, up UserUpdate) (*User, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	var f apperr.Fields
	if up.Locale != nil {
		checkLocale(&f, "locale", *up.Locale)
	}
	if up.TZ != nil {
		checkTZ(&f, "tz", *up.TZ)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	err := s.d.RunInTx(ctx, func(tx *db.Tx) error {
		before, err := getUser(ctx, tx, id)
		if err != nil {
			return err
		}
		after := *before
		var f apperr.Fields
		have, err := loadGrants(ctx, tx, id)
		if err != nil {
			return err
		}
		want := have[id]
		if up.Grants != nil {
			var gf apperr.Fields
			want, gf, err = parseGrants(ctx, tx, *up.Grants, "grants")
			if err != nil {
				return err
			}
			f = append(f, gf...)
		}
		if err := f.Err(); err != nil {
			return err
		}
		if up.Locale != nil {
			after.Locale = *up.Locale
		}
		if up.TZ != nil {
			after.TZ = *up.TZ
		}
		if up.Active != nil {
			after.Active = *up.Active
		}
		wasAdmin := before.Active && hasGlobalAdmin(have[id])
		isAdmin := after.Active && hasGlobalAdmin(want)
		if wasAdmin && !isAdmin {
			var others int
			if err := tx.QueryRow(ctx, `SELECT COUNT(DISTINCT u.id) FROM users u JOIN role_grants g ON g.user_id = u.id
				WHERE u.active = TRUE AND g.role = 'admin' AND g.scope_kind = 'global' AND u.id <> ?`, id).Scan(&others); err != nil {
				return err
			}
			if others == 0 {
				return apperr.Conflict("last-admin", "this is the last active administrator; make someone else an administrator first")
			}
		}
		changed, err := s.replaceGrants(ctx, tx, id, have[id], want)
		if err != nil {
			return err
		}
		if after.Locale != before.Locale || after.TZ != before.TZ || after.Active != before.Active {
			changed = true
			if _, err := tx.Exec(ctx, `UPDATE users SET locale = ?, tz = ?, active = ?, updated_at = ? WHERE id = ?`,
				after.Locale, after.TZ, after.Active, s.clock.Now(), id); err != nil {
				return err
			}
		} else if changed {
			if _, err := tx.Exec(ctx, `UPDATE users SET updated_at = ? WHERE id = ?`, s.clock.Now(), id); err != nil {
				return err
			}
		}
		if !changed {
			return nil
		}
		if before.Active && !after.Active {
			if _, err := s.revokeSessions(ctx, tx, id, ""); err != nil {
				return err
			}
		}
		fillGrants(&after, want)
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user.update", ObjectType: "user", ObjectID: id,
			Summary: "updated user " + before.Login, Before: before.view(), After: after.view()})
	})
	if err != nil {
		return nil, err
	}
	return getUser(ctx, s.d, id)
}

func hasGlobalAdmin(gs []grant) bool {
	for _, g := range gs {
		if g.Role == auth.Admin && g.ScopeKind == auth.ScopeGlobal {
			return true
		}
	}
	return false
}

func checkTZ(f *apperr.Fields, field, tz string) {
	if tz == "" {
		return // use the post's or state's zone
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		f.Add(field, "unknown_zone", "not an IANA time zone: %q", tz)
	}
}

// SetPassword sets a user's password. A user changing their own must give
// the old one (so a borrowed session cannot take over the account), and
// wrong guesses count towards login throttling; an administrator setting
// someone else's does not. Every other session of the user ends: all of them
// when an administrator sets it, all but the caller's own otherwise.
func (s *Store) SetPassword(ctx context.Context, userID, oldPassword, newPassword string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	self := a.Kind == auth.KindUser && a.UserID == userID
	if !self && !a.IsAdmin() {
		if a.Kind == auth.KindToken && a.UserID == userID {
			return apperr.Forbidden("", "a password cannot be changed with an API token")
		}
		return apperr.NotFound("user")
	}
	if a.Kind == auth.KindToken {
		return apperr.Forbidden("", "a password cannot be changed with an API token")
	}
	if err := CheckPassword("new_password", newPassword); err != nil {
		return err
	}
	var login, oldHash string
	err = s.d.QueryRow(ctx, `SELECT login, password_hash FROM users WHERE id = ?`, userID).Scan(&login, &oldHash)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.NotFound("user")
	}
	if err != nil {
		return err
	}
	if self {
		keys := throttleKeys(login, a.IP)
		if err := s.checkThrottle(ctx, keys); err != nil {
			return err
		}
		ok := false
		if oldHash != "" {
			if ok, err = s.verify(ctx, oldHash, oldPassword); err != nil && !errors.Is(err, errBadHash) {
				return err
			}
		}
		if !ok {
			if err := s.d.RunInTx(ctx, func(tx *db.Tx) error { return s.recordFailure(ctx, tx, keys) }); err != nil {
				return err
			}
			return apperr.Invalid(apperr.FieldError{Field: "old_password", Code: "wrong_password", Message: "the current password is wrong"})
		}
	}
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	return s.d.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE id = ?`,
			hash, now, now, userID); err != nil {
			return err
		}
		keep := ""
		if self {
			keep = a.SessionID
		}
		n, err := s.revokeSessions(ctx, tx, userID, keep)
		if err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user.password", ObjectType: "user", ObjectID: userID,
			Summary: fmt.Sprintf("password of %s set; %d other session(s) ended", login, n)})
	})
}

// SetLocale sets the caller's own interface language.
func (s *Store) SetLocale(ctx context.Context, locale string) error {
	var f apperr.Fields
	checkLocale(&f, "locale", locale)
	if err := f.Err(); err != nil {
		return err
	}
	return s.setOwn(ctx, "locale", locale)
}

// SetTZ sets the caller's own display zone ("" = the zone of their post or
// member state).
func (s *Store) SetTZ(ctx context.Context, tz string) error {
	var f apperr.Fields
	checkTZ(&f, "tz", tz)
	if err := f.Err(); err != nil {
		return err
	}
	return s.setOwn(ctx, "tz", tz)
}

func (s *Store) setOwn(ctx context.Context, col, value string) error {
	a, err := actor(ctx)
	if err != nil {
		return err
	}
	if a.UserID == "" {
		return apperr.Forbidden("", "only a signed-in user has a profile")
	}
	return s.d.RunInTx(ctx, func(tx *db.Tx) error {
		var old string
		err := tx.QueryRow(ctx, `SELECT `+col+` FROM users WHERE id = ?`, a.UserID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.NotFound("user")
		}
		if err != nil || old == value {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET `+col+` = ?, updated_at = ? WHERE id = ?`, value, s.clock.Now(), a.UserID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user." + col, ObjectType: "user", ObjectID: a.UserID,
			Summary: a.Login + " set " + col + " to " + value, Before: map[string]string{col: old}, After: map[string]string{col: value}})
	})
}
