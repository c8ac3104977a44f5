package web

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/directory"
)

// Helpers shared by the operational pages (board, alerts, my duty,
// rosters, readiness).

// rolesOf returns the roles of the navigation entry key: a page of that
// section is for them only (the stores decide what each may see in it).
func rolesOf(key string) []auth.Role {
	for _, it := range navTable {
		if it.Key == key {
			return it.Roles
		}
	}
	return nil
}

// section guards a page of a navigation section: anyone else gets a 403
// page, as the navigation does not offer it to them.
func (w *Web) section(key string, h http.HandlerFunc) http.HandlerFunc {
	return w.signedIn(func(rw http.ResponseWriter, r *http.Request) {
		if !mayUse(actorOf(r), rolesOf(key)) {
			w.fail(rw, r, apperr.Forbidden("", "this section is not for your roles"))
			return
		}
		h(rw, r)
	})
}

// renderFragment writes one named template of a page (a part the page's
// script refreshes when the stream says something changed) without the
// layout.
func (w *Web) renderFragment(rw http.ResponseWriter, r *http.Request, name, part string, p *page) {
	pt, ok := w.pages[p.Lang][name]
	if !ok || pt.t.Lookup(part) == nil {
		w.internalError(rw, r, fmt.Errorf("no fragment %s/%s", name, part))
		return
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, part, p); err != nil {
		w.internalError(rw, r, fmt.Errorf("render %s/%s: %w", name, part, err))
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", p.Lang)
	rw.WriteHeader(http.StatusOK)
	_, _ = rw.Write(buf.Bytes())
}

// wantsFragment tells whether the script asks for a part of the page.
func wantsFragment(r *http.Request) string { return r.URL.Query().Get("fragment") }

// postIndex loads every post the caller may list (names are public to the
// signed-in), by id and by code.
type postIndex struct {
	byID   map[string]*directory.Post
	byCode map[string]*directory.Post
	list   []*directory.Post // by state code, then code
}

func (w *Web) posts(ctx context.Context, archived bool) (*postIndex, error) {
	ix := &postIndex{byID: map[string]*directory.Post{}, byCode: map[string]*directory.Post{}}
	cursor := ""
	for {
		ps, next, err := w.Directory.ListPosts(ctx, directory.ListOptions{Limit: directory.MaxLimit, Cursor: cursor, IncludeArchived: archived})
		if err != nil {
			return nil, err
		}
		for i := range ps {
			p := &ps[i]
			ix.byID[p.ID], ix.byCode[p.Code] = p, p
			ix.list = append(ix.list, p)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Slice(ix.list, func(i, j int) bool {
		a, b := ix.list[i], ix.list[j]
		if (a.State == "") != (b.State == "") {
			return a.State == "" // the organisation's own posts first
		}
		if a.State != b.State {
			return a.State < b.State
		}
		return a.Code < b.Code
	})
	return ix, nil
}

// get returns a post by id or code (nil when unknown).
func (ix *postIndex) get(ref string) *directory.Post {
	if p, ok := ix.byID[ref]; ok {
		return p
	}
	return ix.byCode[ref]
}

// twoTimes is an instant as an operations room reads it: in a zone (the
// post's, or the viewer's) and in UTC.
type twoTimes struct {
	Local string // 2006-01-02 15:04
	Time  string // 15:04 (local)
	Zone  string
	UTC   string // 15:04
	ISO   string // RFC 3339, for scripts
	Zero  bool
}

func timesIn(t time.Time, zone string) twoTimes {
	if t.IsZero() {
		return twoTimes{Zero: true}
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc, zone = time.UTC, "UTC"
	}
	l := t.In(loc)
	return twoTimes{Local: l.Format("2006-01-02 15:04"), Time: l.Format("15:04"), Zone: zone, UTC: t.UTC().Format("15:04"),
		ISO: t.UTC().Format(time.RFC3339)}
}

// states lists member-state names by code, in the page's language.
func (w *Web) stateNames(ctx context.Context, lang string) (map[string]string, []option, error) {
	opts, by, err := w.stateOptions(ctx, lang)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for code, s := range by {
		names[code] = pick(lang, s.NameEN, s.NameRU)
	}
	return names, opts, nil
}

// dstateClass is the badge colour of a delivery state: green answered,
// amber waiting, red silent, grey cancelled.
func dstateClass(state string) string {
	switch state {
	case "acknowledged":
		return "ok"
	case "pending", "delivered":
		return "warn"
	case "escalated", "missed":
		return "danger"
	}
	return "muted"
}

// within writes a number of seconds as a short duration: "45 s", "5 min",
// "1 h 30 min", "2 d".
func (tr translator) within(sec int) string {
	switch {
	case sec < 60:
		return tr.T("dur.s", sec)
	case sec%86400 == 0:
		return tr.T("dur.d", sec/86400)
	case sec < 3600:
		if sec%60 == 0 {
			return tr.T("dur.min", sec/60)
		}
		return tr.T("dur.min_s", sec/60, sec%60)
	case sec%3600 == 0:
		return tr.T("dur.h", sec/3600)
	}
	return tr.T("dur.h_min", sec/3600, (sec%3600)/60)
}
