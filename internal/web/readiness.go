package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/readiness"
)

func (w *Web) readinessRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /readiness", w.section("readiness", w.checkList))
	mux.HandleFunc("GET /readiness/new", w.section("readiness", w.checkNew))
	mux.HandleFunc("POST /readiness", w.section("readiness", w.checkCreate))
	mux.HandleFunc("GET /readiness/series/{id}", w.section("readiness", w.seriesShow))
	mux.HandleFunc("POST /readiness/series/{id}/cancel", w.section("readiness", w.seriesCancel))
	mux.HandleFunc("GET /readiness/{id}", w.section("readiness", w.checkShow))
	mux.HandleFunc("GET /readiness/csv/{id}", w.section("readiness", w.checkCSV))
	mux.HandleFunc("POST /readiness/{id}/cancel", w.section("readiness", w.checkCancel))
}

// ---- list --------------------------------------------------------------------

type checkListView struct {
	Checks []readiness.Check
	// Sums are the figures of the fired checks the viewer may read.
	Sums   map[string]*readiness.Summary
	Series []readiness.Series
	Next   string
	Centre bool
	Zone   string
}

func (w *Web) checkList(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	checks, next, err := w.Readiness.List(ctx, readiness.ListOptions{Cursor: r.URL.Query().Get("cursor"), Limit: 50})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	series, err := w.Readiness.ListSeries(ctx, true)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	sums := map[string]*readiness.Summary{}
	for _, c := range checks {
		if c.State != readiness.StateFired {
			continue
		}
		if rep, err := w.Readiness.Report(ctx, c.ID, readiness.ReportOptions{Previous: -1}); err == nil {
			sm := rep.Summary
			sums[c.ID] = &sm
		}
	}
	p := w.newPage(rw, r, "readiness.title")
	p.Data = checkListView{Checks: checks, Sums: sums, Series: series, Next: nextURL(r, next), Centre: actorOf(r).IsCentre(), Zone: p.Clock.Zone}
	w.render(rw, r, http.StatusOK, "checks", p)
}

// ---- create --------------------------------------------------------------------

type checkFormView struct {
	Choices  targetChoices
	Windows  []option
	Weekdays []option
	Zone     string
}

func (w *Web) checkNew(rw http.ResponseWriter, r *http.Request) {
	if !actorOf(r).IsCentre() {
		w.fail(rw, r, apperr.Forbidden("", "only the centre creates readiness checks"))
		return
	}
	f := newForm()
	f.Values["kind"] = readiness.KindNow
	f.Values["priority"] = string(alert.Urgent)
	f.Values["ack_within"] = "300"
	f.Values["title"] = w.tr(w.langOf(r, w.accountOf(r))).T("readiness.default_title")
	f.Values["window_start"], f.Values["window_end"] = "09:00", "18:00"
	w.renderCheckForm(rw, r, f, http.StatusOK)
}

func (w *Web) renderCheckForm(rw http.ResponseWriter, r *http.Request, f *form, status int) {
	p := w.newPage(rw, r, "readiness.new")
	choices, _, err := w.targetChoices(r, p.Lang)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	tr := w.tr(p.Lang)
	v := checkFormView{Choices: choices, Zone: p.Clock.Zone}
	for _, s := range ackWindows {
		v.Windows = append(v.Windows, option{Value: strconv.Itoa(s), Label: tr.within(s)})
	}
	for _, d := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		v.Weekdays = append(v.Weekdays, option{Value: strconv.Itoa(int(d)), Label: tr.T("weekday." + d.String())})
	}
	p.Form = f
	p.Data = v
	w.render(rw, r, status, "check_form", p)
}

func (w *Web) checkCreate(rw http.ResponseWriter, r *http.Request) {
	f := formFrom(r)
	loc := w.zoneOf(r, w.accountOf(r))
	within, _ := strconv.Atoi(f.Get("ack_within"))
	in := readiness.NewCheck{Title: f.Get("title"), Body: r.PostFormValue("body"), Priority: alert.Priority(f.Get("priority")),
		AckWithinSeconds: within, Targets: targetsOf(f), Kind: f.Get("kind")}
	bad := false
	at := func(field string) *time.Time {
		t, ok := localTime(f.Get(field), loc)
		if !ok {
			f.addField(field, "invalid_time", "")
			bad = true
			return nil
		}
		if t.IsZero() {
			return nil
		}
		return &t
	}
	switch in.Kind {
	case readiness.KindAt:
		in.At = at("at")
	case readiness.KindSurprise:
		in.WindowFrom, in.WindowTo = at("window_from"), at("window_to")
	case readiness.KindRecurring:
		rec := &readiness.Recurrence{WindowStart: f.Get("window_start"), WindowEnd: f.Get("window_end"), TZ: f.Get("tz")}
		for _, d := range f.Multi["weekday"] {
			if n, err := strconv.Atoi(d); err == nil {
				rec.Weekdays = append(rec.Weekdays, time.Weekday(n))
			}
		}
		for _, d := range strings.FieldsFunc(f.Get("month_days"), func(r rune) bool { return r == ',' || r == ' ' }) {
			n, err := strconv.Atoi(d)
			if err != nil {
				f.addField("month_days", "invalid", "")
				bad = true
				continue
			}
			rec.MonthDays = append(rec.MonthDays, n)
		}
		in.Recurrence = rec
	}
	if bad {
		w.renderCheckForm(rw, r, f, http.StatusUnprocessableEntity)
		return
	}
	c, err := w.Readiness.Create(r.Context(), in)
	if err != nil {
		err = mapField(err, "ack_within_seconds", "ack_within")
		err = mapField(err, "targets.posts", "targets")
		if e, ok := apperr.As(err); ok {
			for i := range e.Fields {
				switch {
				case e.Fields[i].Field == "window":
					e.Fields[i].Field = "window_from"
				case strings.HasPrefix(e.Fields[i].Field, "recurrence.") || e.Fields[i].Field == "weekdays":
					e.Fields[i].Field = "recurrence"
				}
			}
		}
		if f.take(err, "title", "body", "priority", "ack_within", "targets", "kind", "at", "window_from", "window_to", "recurrence", "month_days", "tz") {
			w.renderCheckForm(rw, r, f, http.StatusUnprocessableEntity)
			return
		}
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/readiness/"+url.PathEscape(c.ID), "check_created")
}

// ---- one check and its report ------------------------------------------------

type checkView struct {
	C      *readiness.Check
	R      *readiness.Report
	Trend  template.HTML
	Centre bool
	Zone   string
	Series *readiness.Series
}

func (w *Web) checkShow(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, err := w.Readiness.Get(ctx, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	lang := w.langOf(r, w.accountOf(r))
	v := checkView{C: c, Centre: actorOf(r).IsCentre()}
	if c.State == readiness.StateFired {
		rep, err := w.Readiness.Report(ctx, c.ID, readiness.ReportOptions{Previous: 5})
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		v.R = rep
		posts := make([]string, 0, len(rep.Rows))
		for _, row := range rep.Rows {
			posts = append(posts, row.PostID)
		}
		if tr, err := w.Readiness.Trend(ctx, readiness.TrendOptions{Posts: posts, Months: 12}); err == nil {
			v.Trend = template.HTML(readiness.TrendSVG(tr, readiness.SVGOptions{Lang: lang, ID: "trend"})) // #nosec: rendered and escaped by readiness
		}
	}
	if c.SeriesID != nil && v.Centre {
		v.Series, _ = w.Readiness.GetSeries(ctx, *c.SeriesID)
	}
	p := w.newPage(rw, r, "readiness.check", c.Title)
	v.Zone = p.Clock.Zone
	p.Data = v
	w.render(rw, r, http.StatusOK, "check", p)
}

func (w *Web) checkCSV(rw http.ResponseWriter, r *http.Request) {
	rep, err := w.Readiness.Report(r.Context(), r.PathValue("id"), readiness.ReportOptions{Previous: -1})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	var b bytes.Buffer
	if err := readiness.WriteCSV(&b, rep); err != nil {
		w.internalError(rw, r, err)
		return
	}
	name := "readiness-" + rep.SentAt.UTC().Format("2006-01-02-1504") + ".csv"
	rw.Header().Set("Content-Type", "text/csv; charset=utf-8")
	rw.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	rw.Header().Set("Cache-Control", "no-store")
	_, _ = rw.Write(b.Bytes())
}

func (w *Web) checkCancel(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := w.Readiness.Cancel(r.Context(), id, r.PostFormValue("comment")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/readiness/"+url.PathEscape(id), "check_cancelled")
}

type seriesView struct {
	S      *readiness.Series
	Checks []readiness.Check
	Zone   string
}

func (w *Web) seriesShow(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s, err := w.Readiness.GetSeries(ctx, r.PathValue("id"))
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	checks, _, err := w.Readiness.List(ctx, readiness.ListOptions{SeriesID: s.ID, Limit: 50})
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	p := w.newPage(rw, r, "readiness.series", s.Title)
	p.Data = seriesView{S: s, Checks: checks, Zone: p.Clock.Zone}
	w.render(rw, r, http.StatusOK, "series", p)
}

func (w *Web) seriesCancel(rw http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := w.Readiness.CancelSeries(r.Context(), id, r.PostFormValue("comment")); err != nil {
		w.fail(rw, r, err)
		return
	}
	w.redirectFlash(rw, r, "/readiness/series/"+url.PathEscape(id), "series_cancelled")
}

// stat renders a time to acknowledge for people in their language.
func (tr translator) stat(s readiness.Stat) string {
	switch {
	case !s.Valid:
		return "—"
	case s.Over:
		return tr.T("readiness.over_deadline")
	}
	return readiness.FormatDuration(s.D)
}
