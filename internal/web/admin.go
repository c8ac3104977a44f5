package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"sitroom/internal/auth"
	"sitroom/internal/directory"
	"sitroom/internal/httpx"
	"sitroom/internal/users"
)

// emptyGrantRows is how many blank role rows the user form offers.
const emptyGrantRows = 2

func (w *Web) adminRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin", w.signedIn(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "/admin/users", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /admin/users", w.signedIn(w.userList))
	mux.HandleFunc("GET /admin/users/new", w.signedIn(w.userNew))
	mux.HandleFunc("POST /admin/users", w.signedIn(w.userCreate))
	mux.HandleFunc("GET /admin/users/{id}", w.signedIn(w.userEdit))
	mux.HandleFunc("POST /admin/users/{id}", w.signedIn(w.userUpdate))
	mux.HandleFunc("POST /admin/users/{id}/password", w.signedIn(w.userPassword))
	mux.HandleFunc("POST /admin/users/{id}/sessions/revoke", w.signedIn(w.userRevoke))
}

type userListView struct {
	Q      string
	Active string // "", "1", "0"
	Items  []userRow
	Next   string
}

type userRow struct {
	users.User
	Grants []grantView
}

func (w *Web) userList(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	uq := users.UserQuery{Search: q.Get("q"), Cursor: q.Get("cursor"), Limit: 100}
	v := userListView{Q: q.Get("q"), Active: q.Get("active")}
	switch v.Active {
	case "1", "0":
		b := v.Active == "1"
		uq.Active = &b
	}
	list, next, err := w.Users.ListUsers(r.Context(), uq)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	for i := range list {
		v.Items = append(v.Items, userRow{User: list[i], Grants: grantViews(&list[i])})
	}
	v.Next = nextURL(r, next)
	p := w.newPage(rw, r, "admin.users")
	p.Data = v
	w.render(rw, r, http.StatusOK, "users", p)
}

// grantRow is one role row of the user form.
type grantRow struct {
	Index int
	Role  string
	Scope string
}

type userFormView struct {
	New      bool
	User     *users.User
	Grants   []grantView
	Rows     []grantRow
	Roles    []option
	States   []option
	Posts    []option
	Langs    []option
	Zones    []option
	Sessions []users.Session
}

func (w *Web) userNew(rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	f := newForm()
	f.Values["locale"] = "en"
	w.renderUserForm(rw, r, f, nil, http.StatusOK)
}

func (w *Web) userEdit(rw http.ResponseWriter, r *http.Request) {
	u, err := w.Users.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	w.renderUserForm(rw, r, userToForm(u), u, http.StatusOK)
}

func userToForm(u *users.User) *form {
	f := newForm()
	f.Values = map[string]string{"login": u.Login, "locale": u.Locale, "tz": u.TZ}
	if u.Active {
		f.Values["active"] = "1"
	}
	for _, spec := range u.Roles {
		role, scope, _ := strings.Cut(spec, ":")
		f.Multi["grant_role"] = append(f.Multi["grant_role"], role)
		f.Multi["grant_scope"] = append(f.Multi["grant_scope"], scope)
	}
	return f
}

// grantsFromForm joins the role rows into ROLE or ROLE:SCOPE specs, drops
// blank rows, and keeps the form's rows in step with the specs' indexes.
func grantsFromForm(f *form) []string {
	roles, scopes := f.Multi["grant_role"], f.Multi["grant_scope"]
	specs := []string{}
	var r2, s2 []string
	for i := range roles {
		role, scope := trim(at(roles, i)), trim(at(scopes, i))
		if role == "" && scope == "" {
			continue
		}
		spec := role
		if scope != "" {
			spec += ":" + scope
		}
		specs = append(specs, spec)
		r2, s2 = append(r2, role), append(s2, scope)
	}
	f.Multi["grant_role"], f.Multi["grant_scope"] = r2, s2
	return specs
}

func (w *Web) renderUserForm(rw http.ResponseWriter, r *http.Request, f *form, u *users.User, status int) {
	title, arg := "admin.user.new", ""
	if u != nil {
		title, arg = "admin.user.edit", u.Login
	}
	p := w.newPage(rw, r, title, arg)
	tr := w.tr(p.Lang)
	v := userFormView{New: u == nil, User: u}
	if u != nil {
		v.Grants = grantViews(u)
		s, err := w.Users.ListSessions(r.Context(), u.ID)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		v.Sessions = s
	}
	for _, role := range auth.Roles {
		v.Roles = append(v.Roles, option{Value: string(role), Label: tr.T("role." + string(role))})
	}
	states, _, err := w.stateOptions(r.Context(), p.Lang)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	v.States = states
	if v.Posts, err = w.postOptions(r.Context(), p.Lang); err != nil {
		w.fail(rw, r, err)
		return
	}
	for _, l := range Langs {
		v.Langs = append(v.Langs, option{Value: l, Label: tr.T("lang." + l)})
	}
	for _, z := range zones {
		v.Zones = append(v.Zones, option{Value: z, Label: z})
	}
	n := len(f.Multi["grant_role"])
	for i := 0; i < n+emptyGrantRows; i++ {
		v.Rows = append(v.Rows, grantRow{Index: i, Role: at(f.Multi["grant_role"], i), Scope: at(f.Multi["grant_scope"], i)})
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "user_form", p)
}

// postOptions lists every post for a scope select.
func (w *Web) postOptions(ctx context.Context, lang string) ([]option, error) {
	var out []option
	cursor := ""
	for {
		posts, next, err := w.Directory.ListPosts(ctx, directory.ListOptions{Limit: directory.MaxLimit, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		for _, p := range posts {
			out = append(out, option{Value: p.Code, Label: p.Code + " — " + pick(lang, p.NameEN, p.NameRU)})
		}
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func grantFields(f *form) []string {
	out := []string{"login", "name_en", "name_ru", "person", "password", "locale", "tz", "active", "grants"}
	for i := range f.Multi["grant_role"] {
		out = append(out, fmt.Sprintf("grants[%d]", i))
	}
	return out
}

func (w *Web) userCreate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	nu := users.NewUser{Login: f.Get("login"), NameEN: f.Get("name_en"), NameRU: f.Get("name_ru"), PersonCode: f.Get("person"),
		Password: r.PostFormValue("password"), Locale: f.Get("locale"), Grants: grantsFromForm(f)}
	u, err := w.Users.CreateUser(r.Context(), nu)
	if err != nil {
		if f.take(mapField(err, "person_code", "person"), grantFields(f)...) {
			w.renderUserForm(rw, r, f, nil, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/admin/users/"+u.ID, "created")
}

func (w *Web) userUpdate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	id := r.PathValue("id")
	grants := grantsFromForm(f)
	locale, tz, active := f.Get("locale"), f.Get("tz"), f.Get("active") == "1"
	_, err := w.Users.UpdateUser(r.Context(), id, users.UserUpdate{Grants: &grants, Locale: &locale, TZ: &tz, Active: &active})
	if err != nil {
		if f.take(err, grantFields(f)...) {
			u, gerr := w.Users.GetUser(r.Context(), id)
			if gerr != nil {
				w.fail(rw, r, gerr)
				return
			}
			w.renderUserForm(rw, r, f, u, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/admin/users/"+id, "saved")
}

func (w *Web) userPassword(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	f := formFrom(r)
	if err := w.Users.SetPassword(r.Context(), id, "", r.PostFormValue("new_password")); err != nil {
		if f.take(err, "new_password") {
			u, gerr := w.Users.GetUser(r.Context(), id)
			if gerr != nil {
				w.fail(rw, r, gerr)
				return
			}
			uf := userToForm(u)
			uf.Fields = f.Fields
			w.renderUserForm(rw, r, uf, u, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/admin/users/"+id, "password_set")
}

func (w *Web) userRevoke(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := w.Users.RevokeUserSessions(r.Context(), id); err != nil {
		w.fail(rw, r, err)
		return
	}
	if id == actorOf(r).UserID {
		httpx.ClearSessionCookie(rw, w.Secure)
		w.redirectFlash(rw, r, "/login", "signed_out_everywhere")
		return
	}
	w.redirectFlash(rw, r, "/admin/users/"+id, "sessions_ended")
}
