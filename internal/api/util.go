package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
)

// signedIn answers 401 before a handler looks anything up, so that nobody
// signed in learns nothing from a 404 (authentication, not a permission:
// the stores still decide who may see what).
func signedIn(r *http.Request) error {
	if auth.From(r.Context()) == nil {
		return apperr.Unauthorized("sign in, or send a valid bearer token")
	}
	return nil
}

// requirePost refuses a body without the post it is about (after 401 for
// nobody signed in, which comes first everywhere).
func requirePost(r *http.Request, ref string) error {
	if err := signedIn(r); err != nil {
		return err
	}
	if strings.TrimSpace(ref) == "" {
		return apperr.Invalid(apperr.FieldError{Field: "post_id", Code: "required", Message: "name the post (its id or code)"})
	}
	return nil
}

// emptyBody accepts a request without a body, or with an empty JSON
// object; anything else is refused like any bad body.
func emptyBody(w http.ResponseWriter, r *http.Request) error {
	if r.ContentLength == 0 {
		return nil
	}
	_, err := decode[struct{}](w, r, maxSmallBody)
	return err
}

// notFound is the answer for a record the caller cannot see.
func notFound(what string) error { return apperr.NotFound(what) }

// notFoundAs renames a NotFound (e.g. of the alert a delivery belongs to).
func notFoundAs(err error, what string) error {
	if apperr.Is(err, apperr.KindNotFound) {
		return apperr.NotFound(what)
	}
	return err
}

// postID resolves a post reference (id or code) to its id. Every signed-in
// user may see every post's name, so this discloses nothing.
func (h *handlers) postID(ctx context.Context, ref string) (string, error) {
	p, err := h.d.Directory.GetPost(ctx, ref)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// personID resolves a person reference (id or code) the caller may see.
func (h *handlers) personID(ctx context.Context, ref string) (string, error) {
	if strings.TrimSpace(ref) == "" {
		return "", nil
	}
	p, err := h.d.Directory.GetPerson(ctx, ref)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name, "out_of_range", name+" must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

// timeOr reads an optional RFC 3339 query parameter, def when absent.
func timeOr(r *http.Request, name string, def time.Time) (time.Time, error) {
	t, err := timeParam(r.URL.Query(), name)
	if err != nil || t.IsZero() {
		return def, err
	}
	return t, nil
}
