package web

import (
	"context"
	"net/http"
	"net/url"

	"sitroom/internal/directory"
)

func (w *Web) directoryRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /directory", w.signedIn(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "/directory/posts", http.StatusSeeOther)
	}))
	mux.HandleFunc("GET /directory/{$}", w.signedIn(func(rw http.ResponseWriter, r *http.Request) {
		http.Redirect(rw, r, "/directory/posts", http.StatusSeeOther)
	}))
	w.stateRoutes(mux)
	w.bodyRoutes(mux)
	w.postRoutes(mux)
	w.personRoutes(mux)
}

// option is one choice of a select.
type option struct {
	Value string
	Label string
}

// pick returns the name in lang, falling back to the other.
func pick(lang, en, ru string) string {
	if lang == "ru" && ru != "" || en == "" {
		return ru
	}
	return en
}

// listQuery is the search box and filters of a directory list, read from
// the URL so a filtered list can be bookmarked and shared.
type listQuery struct {
	Q            string
	State        string
	Kind         string
	MinistryKind string
	Archived     bool
	Cursor       string
}

func readListQuery(r *http.Request) listQuery {
	q := r.URL.Query()
	return listQuery{
		Q: q.Get("q"), State: q.Get("state"), Kind: q.Get("kind"), MinistryKind: q.Get("ministry"),
		Archived: q.Get("archived") == "1", Cursor: q.Get("cursor"),
	}
}

func (lq listQuery) options() directory.ListOptions {
	return directory.ListOptions{Query: lq.Q, State: lq.State, Kind: lq.Kind, MinistryKind: lq.MinistryKind,
		IncludeArchived: lq.Archived, Cursor: lq.Cursor, Limit: 100}
}

// Filtered tells whether any filter is set (the empty-list message differs).
func (lq listQuery) Filtered() bool {
	return lq.Q != "" || lq.State != "" || lq.Kind != "" || lq.MinistryKind != "" || lq.Archived
}

// nextURL is the link to the next page of the list at path.
func nextURL(r *http.Request, cursor string) string {
	if cursor == "" {
		return ""
	}
	q := r.URL.Query()
	q.Set("cursor", cursor)
	return r.URL.Path + "?" + q.Encode()
}

// stateOptions lists the member states for a filter or a form, named in lang.
func (w *Web) stateOptions(ctx context.Context, lang string) ([]option, map[string]directory.MemberState, error) {
	states, _, err := w.Directory.ListMemberStates(ctx, directory.ListOptions{Limit: directory.MaxLimit, IncludeArchived: true})
	if err != nil {
		return nil, nil, err
	}
	opts := make([]option, 0, len(states))
	byCode := map[string]directory.MemberState{}
	for _, s := range states {
		opts = append(opts, option{Value: s.Code, Label: s.Code + " — " + pick(lang, s.NameEN, s.NameRU)})
		byCode[s.Code] = s
	}
	return opts, byCode, nil
}

// archivedParam reads the archive buttons' field: "1" archives, "0" restores.
func archivedParam(r *http.Request) bool { return r.PostFormValue("archived") != "0" }

// detailURL is the page of a record in a directory section.
func detailURL(section, code string) string {
	return "/directory/" + section + "/" + url.PathEscape(code)
}
