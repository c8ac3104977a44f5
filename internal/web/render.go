package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"path"
	"reflect"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/directory"
	"sitroom/internal/httpx"
	"sitroom/internal/readiness"
)

//go:embed templates
var templateFS embed.FS

// pageTemplate is the layout joined with one page's templates.
type pageTemplate struct {
	name string
	t    *template.Template
}

// sharedFiles are parsed into every page: the layout and the partials.
var sharedFiles = []string{"templates/layout.html", "templates/parts.html"}

// parseTemplates parses the layout and every page once, then makes one copy
// per language whose text functions speak that language. The copies share
// the parse trees; only the function table differs.
func (w *Web) parseTemplates() (map[string]map[string]*pageTemplate, error) {
	base := template.New("layout").Funcs(w.funcs(translator{lang: Langs[0], cat: w.cats[Langs[0]]}))
	base, err := base.ParseFS(templateFS, sharedFiles...)
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/pages/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]*pageTemplate{}
	for _, l := range Langs {
		out[l] = map[string]*pageTemplate{}
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("templates: %s defines no \"content\"", f)
		}
		for _, l := range Langs {
			c, err := t.Clone()
			if err != nil {
				return nil, err
			}
			c.Funcs(w.funcs(translator{lang: l, cat: w.cats[l]}))
			out[l][name] = &pageTemplate{name: name, t: c}
		}
	}
	return out, nil
}

// funcs are the template functions; those that speak are bound to tr.
func (w *Web) funcs(tr translator) template.FuncMap {
	return template.FuncMap{
		"t":  tr.T,
		"tn": tr.N,
		// tk translates a key built from a prefix and a value (a kind, a
		// role, a status); an unexpected value shows as a marked key.
		"tk": func(prefix string, v any) string { return tr.T(prefix + "." + fmt.Sprint(v)) },
		// name picks the record's name in the page's language, falling back
		// to the other one when it is empty.
		"name": func(en, ru string) string {
			if tr.lang == "ru" && ru != "" || en == "" {
				return ru
			}
			return en
		},
		"ferr": func(f *form, field string) []string { return f.errors(tr, field) },
		// tor translates key, or shows fallback when the catalogue has no
		// text for it (a store's English detail for a new problem type).
		"tor": func(key, fallback string) string {
			if tr.Has(key) {
				return tr.T(key)
			}
			return fallback
		},
		"asset":           w.assets.URL,
		"dict":            dict,
		"list":            func(xs ...any) []any { return xs },
		"join":            strings.Join,
		"lower":           strings.ToLower,
		"has":             has,
		"query":           func(base string, kv ...string) string { return withQuery(base, kv...) },
		"zones":           func() []string { return zones },
		"currentPosition": currentPosition,
		"dclass":          dstateClass,
		"times":           timesIn,
		"timesp": func(t *time.Time, zone string) twoTimes {
			if t == nil {
				return twoTimes{Zero: true}
			}
			return timesIn(*t, zone)
		},
		// within writes an acknowledgement window in words (5 min, 1 h 30 min).
		"within": func(sec int) string { return tr.within(sec) },
		"add1":   func(i int) int { return i + 1 },
		"stat":   tr.stat,
		// delta writes a change in seconds with its sign: "−12s", "+1m05s".
		"delta": func(d *float64) string {
			if d == nil {
				return ""
			}
			sign := "+"
			if *d < 0 {
				sign = "−"
			}
			return sign + readiness.FormatDuration(time.Duration(math.Abs(*d)*float64(time.Second)))
		},
		// isnil tells a withheld list (nil) from an empty one.
		"isnil": func(x any) bool {
			if x == nil {
				return true
			}
			v := reflect.ValueOf(x)
			switch v.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer:
				return v.IsNil()
			}
			return false
		},
		// options builds the choices of a select from a key prefix and
		// values: options "status" "active" "suspended" → translated labels.
		"options": func(prefix string, values ...string) []option {
			out := make([]option, len(values))
			for i, v := range values {
				out[i] = option{Value: v, Label: tr.T(prefix + "." + v)}
			}
			return out
		},
		"statusOptions": func() []option {
			out := make([]option, 0, 3)
			for _, v := range []string{"active", "suspended", "withdrawn"} {
				out = append(out, option{Value: v, Label: tr.T("status." + v)})
			}
			return out
		},
	}
}

var zones = validZones()

// currentPosition is the latest position a person holds (no end date), or nil.
func currentPosition(ps []directory.Position) *directory.Position {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].EndDate == "" {
			return &ps[i]
		}
	}
	return nil
}

func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

func has(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

// withQuery returns base with the given key/value pairs set in its query
// (an empty value removes the key).
func withQuery(base string, kv ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// page is what every template receives. Data holds the page's own content.
type page struct {
	Lang     string
	Title    string // already translated
	Section  string // "" or the heading of the section (translated)
	Actor    *auth.Actor
	Account  *account
	CSRF     string
	Nav      []navLink
	Path     string // the current path and query (returned to after a language switch)
	Clock    clockView
	Flash    string // translated
	TestMode bool
	Form     *form
	Live     *liveView // nil for anonymous visitors
	Data     any
}

// Local formats an instant in the viewer's zone.
func (p *page) Local(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.Clock.loc).Format("2006-01-02 15:04")
}

// LocalPtr formats an optional instant.
func (p *page) LocalPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Local(*t)
}

// Admin tells whether the viewer administers users and the directory (the
// pages offer editing only then; the stores decide anyway).
func (p *page) Admin() bool { return p.Actor.IsAdmin() }

// newPage fills in what the layout needs for this request.
func (w *Web) newPage(rw http.ResponseWriter, r *http.Request, titleKey string, titleArgs ...any) *page {
	a := actorOf(r)
	acc := w.accountOf(r)
	lang := w.langOf(r, acc)
	tr := w.tr(lang)
	p := &page{
		Lang:     lang,
		Title:    tr.T(titleKey, titleArgs...),
		Actor:    a,
		Account:  acc,
		CSRF:     w.csrfToken(rw, r),
		Nav:      visibleNav(a, r.URL.Path),
		Path:     r.URL.RequestURI(),
		TestMode: w.TestMode,
	}
	p.Clock = w.clockView(r, acc)
	if a != nil {
		p.Live = w.liveFor(r, lang)
	}
	if k := takeFlash(rw, r, w.Secure); k != "" && tr.Has("flash."+k) {
		p.Flash = tr.T("flash." + k)
	}
	return p
}

func (w *Web) tr(lang string) translator { return translator{lang: lang, cat: w.cats[lang]} }

// render writes the page with the named template and status.
func (w *Web) render(rw http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	pt, ok := w.pages[p.Lang][name]
	if !ok {
		w.internalError(rw, r, fmt.Errorf("no page template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := pt.t.ExecuteTemplate(&buf, "layout", p); err != nil {
		w.internalError(rw, r, fmt.Errorf("render %s: %w", name, err))
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Language", p.Lang)
	h.Add("Vary", "Cookie, Accept-Language")
	rw.WriteHeader(status)
	_, _ = rw.Write(buf.Bytes())
}

// errorView is the content of an error page.
type errorView struct {
	Status int
	Key    string // "error.404" etc.
	Detail string // translated explanation
	Retry  int    // seconds to wait, for 429
}

// fail renders err as a page in the viewer's language: a store's 404 and
// 403 become proper pages, 401 sends the visitor to sign in, anything else is
// logged and shown as 500 without its text.
func (w *Web) fail(rw http.ResponseWriter, r *http.Request, err error) {
	st := httpx.Status(err)
	switch st {
	case http.StatusUnauthorized:
		w.toLogin(rw, r)
		return
	case http.StatusNotFound, http.StatusForbidden, http.StatusConflict, http.StatusBadRequest, http.StatusTooManyRequests:
	default:
		if st >= 500 {
			w.internalError(rw, r, err)
			return
		}
	}
	w.errorPage(rw, r, st, err)
}

func (w *Web) errorPage(rw http.ResponseWriter, r *http.Request, status int, err error) {
	key := fmt.Sprintf("error.%d", status)
	if !w.tr(Langs[0]).Has(key + ".title") {
		key = "error.400"
	}
	p := w.newPage(rw, r, key+".title")
	ev := errorView{Status: status, Key: key}
	if e, ok := apperr.As(err); ok {
		tr := w.tr(p.Lang)
		if e.Type != "not-found" && e.Type != "forbidden" && tr.Has("problem."+e.Type) {
			ev.Detail = tr.T("problem." + e.Type)
		}
		if e.RetryAfter > 0 {
			ev.Retry = int((e.RetryAfter + time.Second - 1) / time.Second)
		}
	}
	p.Data = ev
	w.render(rw, r, status, "error", p)
}

// internalError logs err and shows a 500 page; if even that fails, plain text.
func (w *Web) internalError(rw http.ResponseWriter, r *http.Request, err error) {
	httpx.LoggerFrom(r.Context()).Error("page failed", "err", err, "path", r.URL.Path)
	lang := w.langOf(r, w.accountOf(r))
	p := &page{Lang: lang, Title: w.tr(lang).T("error.500.title"), Actor: actorOf(r),
		Data: errorView{Status: 500, Key: "error.500", Detail: httpx.RequestID(r.Context())}}
	p.Clock = w.clockView(r, nil)
	pt := w.pages[lang]["error"]
	var buf bytes.Buffer
	if pt == nil || pt.t.ExecuteTemplate(&buf, "layout", p) != nil {
		http.Error(rw, "internal error", http.StatusInternalServerError)
		return
	}
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(http.StatusInternalServerError)
	_, _ = rw.Write(buf.Bytes())
}

// notFound answers paths no route claims: a page for people, problem+json
// under /api/.
func (w *Web) notFound(rw http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		httpx.Error(rw, r, apperr.NotFound("route "+r.URL.Path))
		return
	}
	w.errorPage(rw, r, http.StatusNotFound, apperr.NotFound("page"))
}
