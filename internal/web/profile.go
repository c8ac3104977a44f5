package web

import (
	"net/http"
	"strings"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/httpx"
	"sitroom/internal/users"
)

// grantView is a role with its scope, for display.
type grantView struct {
	Role      string
	ScopeKind string
	Scope     string // code of the state or post; "" for global
}

func grantViews(u *users.User) []grantView {
	out := make([]grantView, 0, len(u.Roles))
	for i, spec := range u.Roles {
		role, scope, _ := strings.Cut(spec, ":")
		g := grantView{Role: role, Scope: scope, ScopeKind: string(auth.ScopeGlobal)}
		if i < len(u.Grants) {
			g.ScopeKind = string(u.Grants[i].ScopeKind)
		}
		out = append(out, g)
	}
	return out
}

type profileView struct {
	User     *users.User
	Grants   []grantView
	Sessions []users.Session
	Zones    []option
	Langs    []option
	OrgZone  string
}

func (w *Web) profile(rw http.ResponseWriter, r *http.Request) {
	w.renderProfile(rw, r, nil, http.StatusOK)
}

// renderProfile shows the profile; f carries a refused form (profile or
// password), nil for a fresh page.
func (w *Web) renderProfile(rw http.ResponseWriter, r *http.Request, f *form, status int) {
	a := actorOf(r)
	u := w.accountOf(r)
	if u == nil {
		w.fail(rw, r, apperr.Forbidden("", "only a signed-in user has a profile"))
		return
	}
	sessions, err := w.Users.ListSessions(r.Context(), u.ID)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	_ = a
	p := w.newPage(rw, r, "profile.title")
	tr := w.tr(p.Lang)
	v := profileView{User: u, Grants: grantViews(u), Sessions: sessions, OrgZone: w.orgZone(r)}
	for _, l := range Langs {
		v.Langs = append(v.Langs, option{Value: l, Label: tr.T("lang." + l)})
	}
	for _, z := range zones {
		v.Zones = append(v.Zones, option{Value: z, Label: z})
	}
	if u.TZ != "" && !has(zones, u.TZ) {
		v.Zones = append(v.Zones, option{Value: u.TZ, Label: u.TZ})
	}
	if f == nil {
		f = newForm()
	}
	if _, ok := f.Values["locale"]; !ok {
		f.Values["locale"] = u.Locale
	}
	if _, ok := f.Values["tz"]; !ok {
		f.Values["tz"] = u.TZ
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "profile", p)
}

func (w *Web) profileSave(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	u := w.accountOf(r)
	if l := f.Get("locale"); l != u.Locale {
		if err := w.Users.SetLocale(r.Context(), l); err != nil {
			if f.take(err, "locale") {
				w.renderProfile(rw, r, f, http.StatusUnprocessableEntity)
				return
			}
			w.fail(rw, r, err)
			return
		}
		// Keep the anonymous choice in step, so the sign-in page after a
		// sign-out speaks the same language.
		http.SetCookie(rw, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			Secure: w.Secure, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	}
	if tz := f.Get("tz"); tz != u.TZ {
		if err := w.Users.SetTZ(r.Context(), tz); err != nil {
			if f.take(err, "tz") {
				w.renderProfile(rw, r, f, http.StatusUnprocessableEntity)
				return
			}
			w.fail(rw, r, err)
			return
		}
	}
	w.redirectFlash(rw, r, "/profile", "saved")
}

func (w *Web) profilePassword(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	old, nw, again := r.PostFormValue("old_password"), r.PostFormValue("new_password"), r.PostFormValue("new_password_again")
	if nw != again {
		f.addField("new_password_again", "mismatch", "the two new passwords differ")
		w.renderProfile(rw, r, f, http.StatusUnprocessableEntity)
		return
	}
	err := w.Users.SetPassword(r.Context(), actorOf(r).UserID, old, nw)
	if err != nil {
		if wait, ok := retryAfter(err); ok {
			f.Problem = w.tr(w.langOf(r, w.accountOf(r))).N("login.throttled", waitSeconds(wait))
			w.renderProfile(rw, r, f, http.StatusTooManyRequests)
			return
		}
		if f.take(err, "old_password", "new_password", "new_password_again") {
			w.renderProfile(rw, r, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/profile", "password_changed")
}

// profileRevokeAll is "sign out everywhere": every session of the user
// ends, this one too, and the browser is sent to sign in again.
func (w *Web) profileRevokeAll(rw http.ResponseWriter, r *http.Request) {
	if _, err := w.Users.RevokeUserSessions(r.Context(), actorOf(r).UserID); err != nil {
		w.fail(rw, r, err)
		return
	}
	httpx.ClearSessionCookie(rw, w.Secure)
	w.redirectFlash(rw, r, "/login", "signed_out_everywhere")
}

// profileEndSession ends one of the user's other sessions.
func (w *Web) profileEndSession(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := w.Users.Logout(r.Context(), id); err != nil {
		w.fail(rw, r, err)
		return
	}
	if id == actorOf(r).SessionID {
		httpx.ClearSessionCookie(rw, w.Secure)
		w.redirectFlash(rw, r, "/login", "signed_out")
		return
	}
	w.redirectFlash(rw, r, "/profile", "session_ended")
}
