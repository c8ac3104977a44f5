package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/httpx"
	"sitroom/internal/users"
)

// account is what the layout needs to know of the signed-in user beyond the
// actor: saved language and zone, and names in both languages.
type account = users.User

type ctxKey int

const keyAccount ctxKey = iota

func actorOf(r *http.Request) *auth.Actor { return auth.From(r.Context()) }

// accountOf returns the signed-in user's account (loaded once per request
// by signedIn), or nil.
func (w *Web) accountOf(r *http.Request) *account {
	if acc, ok := r.Context().Value(keyAccount).(*account); ok {
		return acc
	}
	a := actorOf(r)
	if a == nil || a.UserID == "" || w.Users == nil {
		return nil
	}
	acc, err := w.Users.GetUser(r.Context(), a.UserID)
	if err != nil {
		return nil
	}
	return acc
}

// langOf: the signed-in user's saved language, else the lang cookie, else
// Accept-Language, else English.
func (w *Web) langOf(r *http.Request, acc *account) string {
	if acc != nil {
		if l := validLang(acc.Locale); l != "" {
			return l
		}
	}
	return requestLang(r)
}

// signedIn wraps a page that needs a signed-in user: anyone else is sent to
// sign in and brought back afterwards.
func (w *Web) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		a := actorOf(r)
		if a == nil {
			w.toLogin(rw, r)
			return
		}
		// First of all, before any store is read: the stream position
		// the page will reflect (see live.go).
		r = w.withPosition(r)
		if a.UserID != "" && w.Users != nil {
			acc, err := w.Users.GetUser(r.Context(), a.UserID)
			if err != nil {
				w.fail(rw, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), keyAccount, acc))
		}
		h(rw, r)
	}
}

// toLogin redirects to the sign-in page with the current page as the place
// to return to (GET requests only: a form cannot be replayed).
func (w *Web) toLogin(rw http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" && r.URL.Path != "/login" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(rw, r, target, http.StatusSeeOther)
}

// safeNext accepts only a path on this site as a place to return to: it must
// start with one "/" (not "//" nor "/\", which browsers treat as another
// host), hold no scheme or host, and no control characters.
func safeNext(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// afterLogin is where to go after signing in: a safe return path, but not
// the sign-in or sign-out pages themselves.
func afterLogin(next string) string {
	next = safeNext(next)
	if strings.HasPrefix(next, "/login") || strings.HasPrefix(next, "/logout") {
		return ""
	}
	return next
}

// Anonymous forms (sign-in, the language switch before sign-in) have no
// session to hold a CSRF token, so they use a double-submit cookie: a random
// value in an HttpOnly, SameSite=Strict cookie that the form repeats. A site
// that cannot read or set our cookies cannot make the two match; the
// middleware's Fetch-metadata/Origin check refuses cross-site posts as well.
const anonCSRFCookie = "sitroom_csrf"

// csrfToken is the token a form on this page must send: the session's, or
// the anonymous double-submit value (set in a cookie if not yet there).
func (w *Web) csrfToken(rw http.ResponseWriter, r *http.Request) string {
	if t := httpx.CSRFToken(r.Context()); t != "" {
		return t
	}
	if c, err := r.Cookie(anonCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(rw, &http.Cookie{Name: anonCSRFCookie, Value: v, Path: "/", HttpOnly: true,
		Secure: w.Secure, SameSite: http.SameSiteStrictMode})
	// Later calls in this request see it too.
	r.AddCookie(&http.Cookie{Name: anonCSRFCookie, Value: v})
	return v
}

// checkAnonCSRF verifies an anonymous form's token against its cookie. For a
// signed-in caller the middleware has already checked the session's token.
func checkAnonCSRF(r *http.Request) error {
	if httpx.CSRFToken(r.Context()) != "" {
		return nil
	}
	c, err := r.Cookie(anonCSRFCookie)
	got := r.PostFormValue(httpx.CSRFField)
	if err != nil || len(c.Value) < 32 || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
		return apperr.Forbidden("csrf", "the form has expired or did not come from this site; reload the page and try again")
	}
	return nil
}

// Flash messages survive one redirect in a short-lived cookie holding a
// catalogue key (never free text).
const flashCookie = "sitroom_flash"

func setFlash(rw http.ResponseWriter, key string, secure bool) {
	http.SetCookie(rw, &http.Cookie{Name: flashCookie, Value: key, Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: 60})
}

func takeFlash(rw http.ResponseWriter, r *http.Request, secure bool) string {
	c, err := r.Cookie(flashCookie)
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(rw, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
	return c.Value
}

// redirectFlash ends a successful POST: a flash message and a redirect.
func (w *Web) redirectFlash(rw http.ResponseWriter, r *http.Request, to, flash string) {
	if flash != "" {
		setFlash(rw, flash, w.Secure)
	}
	http.Redirect(rw, r, to, http.StatusSeeOther)
}
