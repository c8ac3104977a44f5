package web

import (
	"net/http"

	"sitroom/internal/directory"
)

func (w *Web) stateRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /directory/states", w.signedIn(w.stateList))
	mux.HandleFunc("GET /directory/states/new", w.signedIn(w.stateNew))
	mux.HandleFunc("POST /directory/states", w.signedIn(w.stateCreate))
	mux.HandleFunc("GET /directory/states/{ref}", w.signedIn(w.stateShow))
	mux.HandleFunc("GET /directory/states/{ref}/edit", w.signedIn(w.stateEdit))
	mux.HandleFunc("POST /directory/states/{ref}", w.signedIn(w.stateUpdate))
	mux.HandleFunc("POST /directory/states/{ref}/archive", w.signedIn(w.stateArchive))
	mux.HandleFunc("POST /directory/states/{ref}/status", w.signedIn(w.stateStatus))
}

type stateRow struct {
	directory.MemberState
	Now zoneTime
}

type stateListView struct {
	Query listQuery
	Items []stateRow
	Next  string
}

func (w *Web) stateList(rw http.ResponseWriter, r *http.Request) {
	lq := readListQuery(r)
	items, next, err := w.Directory.ListMemberStates(r.Context(), lq.options())
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	rows := make([]stateRow, len(items))
	for i, s := range items {
		rows[i].MemberState = s
		rows[i].Now = w.zoneNow(s.TZ)
	}
	p := w.newPage(rw, r, "dir.states")
	p.Data = stateListView{Query: lq, Items: rows, Next: nextURL(r, next)}
	w.render(rw, r, http.StatusOK, "states", p)
}

type stateView struct {
	S      *directory.MemberState
	Now    zoneTime
	Status []option // the statuses, for the status-change form
}

func (w *Web) stateShow(rw http.ResponseWriter, r *http.Request) {
	s, err := w.Directory.GetMemberState(r.Context(), r.PathValue("ref"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.renderState(rw, r, s, newForm(), http.StatusOK)
}

func (w *Web) renderState(rw http.ResponseWriter, r *http.Request, s *directory.MemberState, f *form, status int) {
	p := w.newPage(rw, r, "dir.state.title", pickLangName(w, r, s.NameEN, s.NameRU))
	v := stateView{S: s}
	v.Now = w.zoneNow(s.TZ)
	tr := w.tr(p.Lang)
	for _, st := range []directory.Status{directory.StatusActive, directory.StatusSuspended, directory.StatusWithdrawn} {
		v.Status = append(v.Status, option{Value: string(st), Label: tr.T("status." + string(st))})
	}
	if f.Get("valid_from") == "" {
		f.Values["valid_from"] = w.Clock.Now().Format("2006-01-02")
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "state", p)
}

// stateFormView is the create/edit form of a member state.
type stateFormView struct {
	New  bool
	Code string // the record being edited
}

func (w *Web) stateNew(rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	f := newForm()
	w.renderStateForm(rw, r, f, stateFormView{New: true}, http.StatusOK)
}

func (w *Web) stateEdit(rw http.ResponseWriter, r *http.Request) {
	s, err := w.Directory.GetMemberState(r.Context(), r.PathValue("ref"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	if !actorOf(r).IsAdmin() {
		w.fail(rw, r, errAdminOnly)
		return
	}
	f := newForm()
	f.Values = map[string]string{"code": s.Code, "name_en": s.NameEN, "name_ru": s.NameRU, "tz": s.TZ, "working_hours": s.WorkingHours}
	w.renderStateForm(rw, r, f, stateFormView{Code: s.Code}, http.StatusOK)
}

func (w *Web) renderStateForm(rw http.ResponseWriter, r *http.Request, f *form, v stateFormView, status int) {
	title := "dir.state.new"
	if !v.New {
		title = "dir.state.edit"
	}
	p := w.newPage(rw, r, title, v.Code)
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "state_form", p)
}

func stateFromForm(f *form) directory.MemberState {
	return directory.MemberState{Code: f.Get("code"), NameEN: f.Get("name_en"), NameRU: f.Get("name_ru"),
		TZ: f.Get("tz"), WorkingHours: f.Get("working_hours")}
}

var stateFields = []string{"code", "name_en", "name_ru", "tz", "working_hours"}

func (w *Web) stateCreate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	m := stateFromForm(f)
	if st := f.Get("status"); st != "" {
		m.History = []directory.StatusChange{{Status: directory.Status(st), ValidFrom: f.Get("valid_from")}}
	}
	s, err := w.Directory.CreateMemberState(r.Context(), m)
	if err != nil {
		if f.take(err, stateFields...) {
			w.renderStateForm(rw, r, f, stateFormView{New: true}, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL("states", s.Code), "created")
}

func (w *Web) stateUpdate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	ref := r.PathValue("ref")
	s, err := w.Directory.UpdateMemberState(r.Context(), ref, stateFromForm(f))
	if err != nil {
		if f.take(err, stateFields...) {
			w.renderStateForm(rw, r, f, stateFormView{Code: ref}, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL("states", s.Code), "saved")
}

func (w *Web) stateArchive(rw http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("ref")
	var err error
	var s *directory.MemberState
	archive := archivedParam(r)
	if archive {
		s, err = w.Directory.ArchiveMemberState(r.Context(), ref)
	} else {
		s, err = w.Directory.UnarchiveMemberState(r.Context(), ref)
	}
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL("states", s.Code), archiveFlash(archive))
}

func (w *Web) stateStatus(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	ref := r.PathValue("ref")
	ch := directory.StatusChange{Status: directory.Status(f.Get("status")), ValidFrom: f.Get("valid_from"), Note: f.Get("note")}
	s, err := w.Directory.AddStatusChange(r.Context(), ref, ch)
	if err != nil {
		if f.take(err, "status", "valid_from", "note") {
			cur, gerr := w.Directory.GetMemberState(r.Context(), ref)
			if gerr != nil {
				w.fail(rw, r, gerr)
				return
			}
			w.renderState(rw, r, cur, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, detailURL("states", s.Code), "saved")
}

func archiveFlash(archived bool) string {
	if archived {
		return "archived"
	}
	return "unarchived"
}

// pickLangName names a record in the language of this request.
func pickLangName(w *Web, r *http.Request, en, ru string) string {
	return pick(w.langOf(r, w.accountOf(r)), en, ru)
}
