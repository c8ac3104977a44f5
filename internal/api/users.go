package api

import (
	"net/http"
	"strings"

	"sitroom/internal/users"
)

// UserCreate is the body of POST /api/v1/users.
type UserCreate struct {
	Login    string   `json:"login"`             // an e-mail address
	NameEN   string   `json:"name_en,omitempty"` // for a new person (required unless person is given)
	NameRU   string   `json:"name_ru,omitempty"` // defaults to name_en
	Person   string   `json:"person,omitempty"`  // link this existing person (by code) instead
	Password string   `json:"password,omitempty"`
	Locale   string   `json:"locale,omitempty"` // en (default) or ru
	Grants   []string `json:"grants"`           // ROLE or ROLE:SCOPE
}

// UserPatch is the body of PATCH /api/v1/users/{id}: only the fields sent
// change.
type UserPatch struct {
	Grants *[]string `json:"grants,omitempty"`
	Locale *string   `json:"locale,omitempty"`
	TZ     *string   `json:"tz,omitempty"`
	Active *bool     `json:"active,omitempty"`
}

// Grants is the body and answer of /api/v1/users/{id}/grants: the grants
// written ROLE or ROLE:SCOPE (SCOPE a member state's or a post's code).
type Grants struct {
	Grants []string `json:"grants"`
}

// PasswordChange is the body of POST /api/v1/users/{id}/password. Users
// changing their own password give the old one; administrators setting
// someone else's do not.
type PasswordChange struct {
	OldPassword string `json:"old_password,omitempty"`
	NewPassword string `json:"new_password"`
}

func (h *handlers) userRoutes(rt *router) {
	s := h.d.Users
	path := Prefix + "/users"
	// user resolves {id}: a user id, or a login (it holds an @).
	user := func(r *http.Request) (*users.User, error) {
		ref := r.PathValue("id")
		if strings.Contains(ref, "@") {
			return s.UserByLogin(r.Context(), ref)
		}
		return s.GetUser(r.Context(), ref)
	}
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		active, err := optBoolParam(r.URL.Query(), "active")
		if err != nil {
			return err
		}
		items, next, err := s.ListUsers(r.Context(), users.UserQuery{
			Search: r.URL.Query().Get("q"), Active: active, Limit: limit, Cursor: cursor})
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[UserCreate](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		u, err := s.CreateUser(r.Context(), users.NewUser{Login: in.Login, NameEN: in.NameEN, NameRU: in.NameRU,
			PersonCode: in.Person, Password: in.Password, Locale: in.Locale, Grants: in.Grants})
		if err != nil {
			return err
		}
		return created(w, path+"/"+u.ID, u)
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		u, err := user(r)
		if err != nil {
			return err
		}
		return ok(w, u)
	})
	rt.handle("PATCH", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[UserPatch](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		u, err := user(r)
		if err != nil {
			return err
		}
		u, err = s.UpdateUser(r.Context(), u.ID, users.UserUpdate{Grants: in.Grants, Locale: in.Locale, TZ: in.TZ, Active: in.Active})
		if err != nil {
			return err
		}
		return ok(w, u)
	})
	rt.handle("GET", path+"/{id}/grants", func(w http.ResponseWriter, r *http.Request) error {
		u, err := user(r)
		if err != nil {
			return err
		}
		return ok(w, Grants{Grants: nonNil(u.Roles)})
	})
	rt.handle("PUT", path+"/{id}/grants", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[Grants](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		u, err := user(r)
		if err != nil {
			return err
		}
		grants := nonNil(in.Grants)
		u, err = s.UpdateUser(r.Context(), u.ID, users.UserUpdate{Grants: &grants})
		if err != nil {
			return err
		}
		return ok(w, Grants{Grants: nonNil(u.Roles)})
	})
	rt.handle("POST", path+"/{id}/password", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[PasswordChange](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		u, err := user(r)
		if err != nil {
			return err
		}
		if err := s.SetPassword(r.Context(), u.ID, in.OldPassword, in.NewPassword); err != nil {
			return err
		}
		return noContent(w)
	})
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
