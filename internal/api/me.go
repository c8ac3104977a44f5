package api

import (
	"net/http"

	"sitroom/internal/auth"
	"sitroom/internal/users"
)

// Me is the caller: their account, and how they are signed in. Grants are
// those in force for this request, so a token bound to a post shows the
// grants narrowed to that post.
type Me struct {
	users.User
	Via         string       `json:"via"` // session or token
	TokenID     string       `json:"token_id,omitempty"`
	TokenPostID string       `json:"token_post_id,omitempty"`
	Effective   []auth.Grant `json:"effective_grants"`
}

func (h *handlers) me(w http.ResponseWriter, r *http.Request) error {
	a := auth.From(r.Context())
	userID := ""
	if a != nil {
		userID = a.UserID
	}
	u, err := h.d.Users.GetUser(r.Context(), userID) // nobody signed in: 401
	if err != nil {
		return err
	}
	me := Me{User: *u, Via: "session", Effective: nonNil(a.Grants)}
	if a.Kind == auth.KindToken {
		me.Via, me.TokenID, me.TokenPostID = "token", a.TokenID, a.TokenPostID
	}
	return ok(w, me)
}
