package api

import (
	"bytes"
	"net/http"
	"strings"

	"sitroom/internal/readiness"
)

// reportOptions reads ?previous= and ?same_series=.
func reportOptions(r *http.Request) (readiness.ReportOptions, error) {
	var o readiness.ReportOptions
	var err error
	if o.Previous, err = intParam(r, "previous", 5, 0, 50); err != nil {
		return o, err
	}
	if o.Previous == 0 {
		o.Previous = -1 // none
	}
	o.SameSeries, err = boolParam(r.URL.Query(), "same_series")
	return o, err
}

// trendOptions reads ?months=, ?post= (repeatable, or comma-separated),
// ?until= and ?tz=.
func (h *handlers) trendOptions(r *http.Request) (readiness.TrendOptions, error) {
	var o readiness.TrendOptions
	var err error
	if o.Months, err = intParam(r, "months", 12, 1, 36); err != nil {
		return o, err
	}
	q := r.URL.Query()
	for _, p := range q["post"] {
		for _, x := range strings.Split(p, ",") {
			if x = strings.TrimSpace(x); x != "" {
				o.Posts = append(o.Posts, x)
			}
		}
	}
	if o.Until, err = timeParam(q, "until"); err != nil {
		return o, err
	}
	o.TZ = q.Get("tz")
	return o, nil
}

func (h *handlers) checkRoutes(rt *router) {
	s := h.d.Readiness
	path := Prefix + "/checks"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		o := readiness.ListOptions{State: q.Get("state"), SeriesID: q.Get("series"), Limit: limit, Cursor: cursor}
		switch o.State {
		case "", readiness.StateScheduled, readiness.StateFiring, readiness.StateFired, readiness.StateCancelled, readiness.StateFailed:
		default:
			return badParam("state", "invalid_state", "state must be scheduled, firing, fired, cancelled or failed")
		}
		items, next, err := s.List(r.Context(), o)
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[readiness.NewCheck](w, r, maxAlertBody)
		if err != nil {
			return err
		}
		c, err := s.Create(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, path+"/"+c.ID, c)
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		c, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, c)
	})
	rt.handle("PUT", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[readiness.CheckEdit](w, r, maxAlertBody)
		if err != nil {
			return err
		}
		c, err := s.Update(r.Context(), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return ok(w, c)
	})
	rt.handle("POST", path+"/{id}/cancel", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[EndRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		c, err := s.Cancel(r.Context(), r.PathValue("id"), in.Comment)
		if err != nil {
			return err
		}
		return ok(w, c)
	})
	rt.handle("GET", path+"/{id}/report", func(w http.ResponseWriter, r *http.Request) error {
		o, err := reportOptions(r)
		if err != nil {
			return err
		}
		rep, err := s.Report(r.Context(), r.PathValue("id"), o)
		if err != nil {
			return err
		}
		return ok(w, rep)
	})
	rt.handle("GET", path+"/{id}/report.csv", func(w http.ResponseWriter, r *http.Request) error {
		o, err := reportOptions(r)
		if err != nil {
			return err
		}
		rep, err := s.Report(r.Context(), r.PathValue("id"), o)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := readiness.WriteCSV(&buf, rep); err != nil {
			return err
		}
		name := "readiness-" + rep.SentAt.UTC().Format("2006-01-02T1504Z") + "-" + rep.Check.ID + ".csv"
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
		w.Header().Set("Cache-Control", "private, no-store")
		_, _ = w.Write(buf.Bytes())
		return nil
	})

	spath := Prefix + "/check-series"
	rt.handle("GET", spath, func(w http.ResponseWriter, r *http.Request) error {
		if err := signedIn(r); err != nil {
			return err
		}
		active, err := boolParam(r.URL.Query(), "active")
		if err != nil {
			return err
		}
		items, err := s.ListSeries(r.Context(), active)
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("GET", spath+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		ser, err := s.GetSeries(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, ser)
	})
	rt.handle("POST", spath+"/{id}/cancel", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[EndRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		ser, err := s.CancelSeries(r.Context(), r.PathValue("id"), in.Comment)
		if err != nil {
			return err
		}
		return ok(w, ser)
	})

	tpath := Prefix + "/readiness/trend"
	rt.handle("GET", tpath, func(w http.ResponseWriter, r *http.Request) error {
		o, err := h.trendOptions(r)
		if err != nil {
			return err
		}
		t, err := s.Trend(r.Context(), o)
		if err != nil {
			return err
		}
		return ok(w, t)
	})
	rt.handle("GET", tpath+".svg", func(w http.ResponseWriter, r *http.Request) error {
		o, err := h.trendOptions(r)
		if err != nil {
			return err
		}
		lang := r.URL.Query().Get("lang")
		switch lang {
		case "", "en", "ru":
		default:
			return badParam("lang", "invalid_lang", "lang must be en or ru")
		}
		t, err := s.Trend(r.Context(), o)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		w.Header().Set("Cache-Control", "private")
		_, _ = w.Write(readiness.TrendSVG(t, readiness.SVGOptions{Lang: lang}))
		return nil
	})
}
