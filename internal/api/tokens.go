package api

import (
	"net/http"

	"sitroom/internal/auth"
	"sitroom/internal/users"
)

// callerLogin is the login of the signed-in caller ("" for nobody, which the
// store answers with 401).
func callerLogin(r *http.Request) string {
	if a := auth.From(r.Context()); a != nil {
		return a.Login
	}
	return ""
}

// TokenCreate is the body of POST /api/v1/tokens.
type TokenCreate struct {
	// User is the login of the token's owner: the caller when empty; an
	// administrator may name anyone.
	User string `json:"user,omitempty"`
	// Post binds the token to one post (its code): it then acts only with
	// those of the user's grants that cover the post, narrowed to it.
	Post string `json:"post,omitempty"`
	Name string `json:"name,omitempty"`
}

// NewToken is the answer of POST /api/v1/tokens: the token itself, shown
// this once and stored only as a hash, and its record.
type NewToken struct {
	Secret string `json:"token"`
	users.Token
}

func (h *handlers) tokenRoutes(rt *router) {
	s := h.d.Users
	path := Prefix + "/tokens"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		items, err := s.ListTokens(r.Context(), r.URL.Query().Get("user"))
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[TokenCreate](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		login := in.User
		if login == "" {
			login = callerLogin(r)
		}
		plain, t, err := s.CreateToken(r.Context(), login, in.Post, in.Name)
		if err != nil {
			return err
		}
		return created(w, path+"/"+t.ID, NewToken{Secret: plain, Token: *t})
	})
	rt.handle("DELETE", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.RevokeToken(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
}
