package web

import (
	"net/http"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/httpx"
)

type loginView struct {
	Next  string
	Retry int // seconds to wait after too many failures
}

func (w *Web) loginForm(rw http.ResponseWriter, r *http.Request) {
	next := afterLogin(r.URL.Query().Get("next"))
	if actorOf(r) != nil {
		if next == "" {
			next = "/"
		}
		http.Redirect(rw, r, next, http.StatusSeeOther)
		return
	}
	p := w.newPage(rw, r, "login.title")
	p.Form = newForm()
	p.Data = loginView{Next: next}
	w.render(rw, r, http.StatusOK, "login", p)
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	if err := checkAnonCSRF(r); err != nil {
		w.fail(rw, r, err)
		return
	}
	next := afterLogin(f.Get("next"))
	sess, cookie, err := w.Users.Login(r.Context(), f.Get("login"), r.PostFormValue("password"), httpx.ClientIP(r), r.UserAgent())
	if err != nil {
		w.loginFailed(rw, r, f, next, err)
		return
	}
	httpx.SetSessionCookie(rw, cookie, w.Secure)
	// A language chosen on the sign-in page is the user's choice: keep it.
	if c, err := r.Cookie(langCookie); err == nil && validLang(c.Value) != "" && validLang(c.Value) != sess.Locale {
		if a, _, err := w.Users.SessionActor(r.Context(), cookie, httpx.ClientIP(r)); err == nil {
			if err := w.Users.SetLocale(auth.With(r.Context(), a), validLang(c.Value)); err != nil {
				httpx.LoggerFrom(r.Context()).Warn("keep language at sign-in", "err", err)
			}
		}
	}
	if next == "" {
		next = "/"
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}

// loginFailed shows the form again with what went wrong: a field left
// empty, a wrong login or password (one message for both, so it does not
// tell which logins exist), or how long to wait after too many failures.
func (w *Web) loginFailed(rw http.ResponseWriter, r *http.Request, f *form, next string, err error) {
	p := w.newPage(rw, r, "login.title")
	tr := w.tr(p.Lang)
	v := loginView{Next: next}
	status := http.StatusOK
	wait, throttled := retryAfter(err)
	switch {
	case throttled:
		v.Retry = waitSeconds(wait)
		f.Problem = tr.N("login.throttled", v.Retry)
		status = http.StatusTooManyRequests
		rw.Header().Set("Retry-After", itoa(v.Retry))
	case apperr.Is(err, apperr.KindUnauthorized):
		f.Problem = tr.T("login.failed")
		status = http.StatusUnauthorized
	case f.take(err, "login", "password"):
		status = http.StatusUnprocessableEntity
	default:
		w.fail(rw, r, err)
		return
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "login", p)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if a != nil && a.SessionID != "" {
		if err := w.Users.Logout(r.Context(), a.SessionID); err != nil && !apperr.Is(err, apperr.KindNotFound) {
			w.fail(rw, r, err)
			return
		}
	}
	httpx.ClearSessionCookie(rw, w.Secure)
	w.redirectFlash(rw, r, "/login", "signed_out")
}

// setLang is the language switch: it saves the choice on the account when
// signed in and in a cookie always (the sign-in page uses it).
func (w *Web) setLang(rw http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	if err := checkAnonCSRF(r); err != nil {
		w.fail(rw, r, err)
		return
	}
	lang := validLang(r.PostFormValue("lang"))
	if lang == "" {
		w.errorPage(rw, r, http.StatusBadRequest, apperr.BadRequest("", "unknown language"))
		return
	}
	if a := actorOf(r); a != nil && a.UserID != "" {
		if err := w.Users.SetLocale(r.Context(), lang); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	http.SetCookie(rw, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		Secure: w.Secure, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	next := safeNext(r.PostFormValue("next"))
	if next == "" {
		next = "/"
	}
	http.Redirect(rw, r, next, http.StatusSeeOther)
}
