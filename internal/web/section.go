package web

import (
	"context"
	"net/http"

	"sitroom/internal/directory"
)

// section is the list, detail and form pages of one kind of directory
// record. The handlers are the same for bodies, posts and people: parse →
// call the store → render; what differs (the store's methods, the form's
// fields, what a page needs beside the record) is filled in per kind.
type section[T any] struct {
	name   string   // URL segment and template prefix: "posts" → posts.html, post.html, post_form.html
	one    string   // singular template name and i18n group: "post"
	fields []string // form fields the store reports errors on

	list      func(ctx context.Context, o directory.ListOptions) ([]T, string, error)
	get       func(ctx context.Context, ref string) (*T, error)
	create    func(ctx context.Context, x T) (*T, error)
	update    func(ctx context.Context, ref string, x T) (*T, error)
	archive   func(ctx context.Context, ref string) (*T, error)
	unarchive func(ctx context.Context, ref string) (*T, error)
	code      func(x *T) string
	title     func(lang string, x *T) string

	fromForm func(f *form) T
	toForm   func(x *T) *form
	// listExtra, showExtra and formExtra add what the page needs beside the
	// records (filter choices, related records, select options).
	listExtra func(r *http.Request, lang string, items []T) (any, error)
	showExtra func(r *http.Request, lang string, x *T) (any, error)
	formExtra func(r *http.Request, lang string, f *form) (any, error)
	// formFields lists the field names of a filled form, beyond fields
	// (rows of contacts or positions), so their errors sit next to them.
	formFields func(f *form) []string
}

type listView[T any] struct {
	Query listQuery
	Items []T
	Next  string
	Extra any
}

type showView[T any] struct {
	X     *T
	Extra any
}

type formView struct {
	New   bool
	Code  string
	Extra any
}

func (s *section[T]) routes(w *Web, mux *http.ServeMux) {
	base := "/directory/" + s.name
	mux.HandleFunc("GET "+base, w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.listPage(w, rw, r) }))
	mux.HandleFunc("GET "+base+"/new", w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.newPage(w, rw, r) }))
	mux.HandleFunc("POST "+base, w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.createPost(w, rw, r) }))
	mux.HandleFunc("GET "+base+"/{ref}", w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.showPage(w, rw, r) }))
	mux.HandleFunc("GET "+base+"/{ref}/edit", w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.editPage(w, rw, r) }))
	mux.HandleFunc("POST "+base+"/{ref}", w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.updatePost(w, rw, r) }))
	mux.HandleFunc("POST "+base+"/{ref}/archive", w.signedIn(func(rw http.ResponseWriter, r *http.Request) { s.archivePost(w, rw, r) }))
}

func (s *section[T]) listPage(w *Web, rw http.ResponseWriter, r *http.Request) {
	lq := readListQuery(r)
	items, next, err := s.list(r.Context(), lq.options())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "dir."+s.name)
	v := listView[T]{Query: lq, Items: items, Next: nextURL(r, next)}
	if s.listExtra != nil {
		if v.Extra, err = s.listExtra(r, p.Lang, items); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	p.Data = v
	w.render(rw, r, http.StatusOK, s.name, p)
}

func (s *section[T]) showPage(w *Web, rw http.ResponseWriter, r *http.Request) {
	x, err := s.get(r.Context(), r.PathValue("ref"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	lang := w.langOf(r, w.accountOf(r))
	p := w.newPage(rw, r, "dir."+s.one+".title", s.title(lang, x))
	v := showView[T]{X: x}
	if s.showExtra != nil {
		if v.Extra, err = s.showExtra(r, p.Lang, x); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	p.Data = v
	w.render(rw, r, http.StatusOK, s.one, p)
}

func (s *section[T]) newPage(w *Web, rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	f := newForm()
	for k, v := range r.URL.Query() { // a link may preset a field (e.g. ?state=KZ)
		if len(v) > 0 && has(s.fields, k) {
			f.Values[k] = v[0]
		}
	}
	s.renderForm(w, rw, r, f, formView{New: true}, http.StatusOK)
}

func (s *section[T]) editPage(w *Web, rw http.ResponseWriter, r *http.Request) {
	x, err := s.get(r.Context(), r.PathValue("ref"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	s.renderForm(w, rw, r, s.toForm(x), formView{Code: s.code(x)}, http.StatusOK)
}

func (s *section[T]) renderForm(w *Web, rw http.ResponseWriter, r *http.Request, f *form, v formView, status int) {
	title := "dir." + s.one + ".new"
	if !v.New {
		title = "dir." + s.one + ".edit"
	}
	p := w.newPage(rw, r, title, v.Code)
	if s.formExtra != nil {
		var err error
		if v.Extra, err = s.formExtra(r, p.Lang, f); err != nil {
			w.fail(rw, r, err)
			return
		}
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, s.one+"_form", p)
}

func (s *section[T]) shown(f *form) []string {
	if s.formFields == nil {
		return s.fields
	}
	return append(append([]string(nil), s.fields...), s.formFields(f)...)
}

func (s *section[T]) createPost(w *Web, rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	x, err := s.create(r.Context(), s.fromForm(f))
	if err != nil {
		if f.take(err, s.shown(f)...) {
			s.renderForm(w, rw, r, f, formView{New: true}, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL(s.name, s.code(x)), "created")
}

func (s *section[T]) updatePost(w *Web, rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	ref := r.PathValue("ref")
	x, err := s.update(r.Context(), ref, s.fromForm(f))
	if err != nil {
		if f.take(err, s.shown(f)...) {
			s.renderForm(w, rw, r, f, formView{Code: ref}, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL(s.name, s.code(x)), "saved")
}

func (s *section[T]) archivePost(w *Web, rw http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	archive := archivedParam(r)
	op := s.unarchive
	if archive {
		op = s.archive
	}
	x, err := op(r.Context(), ref)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL(s.name, s.code(x)), archiveFlash(archive))
}
