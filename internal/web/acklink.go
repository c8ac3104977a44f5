package web

import (
	"net/http"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/notify"
)

// The e-mail acknowledgement page. An alert's e-mail carries a signed link
// to /ack/<token>; mail gateways and link previewers open every link, so
// the GET only shows the alert and the post with one confirm button, and
// changes nothing. The POST of that button acknowledges, in the name of
// the person the e-mail went to (package notify decides whose name, package
// alert whether they may). The form is protected like the sign-in form: a
// double-submit token, since the visitor need not be signed in.

func (w *Web) ackLinkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /ack/{token}", w.ackLinkPage)
	mux.HandleFunc("POST /ack/{token}", w.ackLinkPost)
}

type ackLinkView struct {
	Token   string
	Info    *notify.LinkInfo
	Ack     *alert.Ack
	Problem string // a catalogue key suffix: problem.<type>
	Detail  string
	Local   twoTimes // the deadline in the post's zone
	AckedAt twoTimes
}

func (w *Web) ackLinkPage(rw http.ResponseWriter, r *http.Request) {
	r = w.withPosition(r) // a signed-in visitor's page is live
	w.renderAckLink(rw, r, nil, nil, http.StatusOK)
}

func (w *Web) renderAckLink(rw http.ResponseWriter, r *http.Request, ack *alert.Ack, failed error, status int) {
	v := ackLinkView{Token: r.PathValue("token"), Ack: ack}
	if w.Notify == nil {
		failed = apperr.NotFound("acknowledgement link")
	}
	if failed == nil {
		info, err := w.Notify.LinkInfo(r.Context(), v.Token)
		if err != nil {
			failed = err
		} else {
			v.Info = info
			v.Local = timesIn(info.DeadlineAt, info.PostTZ)
			if info.AckedAt != nil {
				v.AckedAt = timesIn(*info.AckedAt, info.PostTZ)
			}
		}
	}
	if failed != nil {
		e, ok := apperr.As(failed)
		if !ok {
			w.internalError(rw, r, failed)
			return
		}
		v.Problem, v.Detail = e.Type, e.Detail
		if v.Problem == "" {
			v.Problem = "not-found"
		}
		if status == http.StatusOK {
			switch e.Kind {
			case apperr.KindNotFound, apperr.KindUnauthorized:
				status = http.StatusNotFound
			case apperr.KindForbidden:
				status = http.StatusForbidden
			case apperr.KindConflict:
				status = http.StatusConflict
			default:
				status = http.StatusBadRequest
			}
		}
	}
	p := w.newPage(rw, r, "acklink.title")
	p.Data = v
	rw.Header().Set("Referrer-Policy", "no-referrer") // the token is in the URL
	w.render(rw, r, status, "acklink", p)
}

func (w *Web) ackLinkPost(rw http.ResponseWriter, r *http.Request) {
	if err := checkAnonCSRF(r); err != nil {
		w.fail(rw, r, err)
		return
	}
	if w.Notify == nil {
		w.renderAckLink(rw, r, nil, apperr.NotFound("acknowledgement link"), http.StatusNotFound)
		return
	}
	ack, err := w.Notify.AckByLink(r.Context(), r.PathValue("token"))
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.KindConflict {
			// The alert has ended: the page says so from the link's info.
			w.renderAckLink(rw, r, nil, nil, http.StatusConflict)
			return
		}
		w.renderAckLink(rw, r, nil, err, 0)
		return
	}
	w.renderAckLink(rw, r, ack, nil, http.StatusOK)
}
