package api

import (
	"net/http"

	"sitroom/internal/alert"
)

// AlertDetail is an alert with the deliveries the caller may see (all of
// them for centre roles and administrators; those of their own posts for a
// post's people), each with its timeline.
type AlertDetail struct {
	alert.Alert
	Deliveries []alert.Delivery `json:"deliveries"`
}

// PreviewRequest is the body of POST /api/v1/alerts/preview.
type PreviewRequest struct {
	Targets alert.Targets `json:"targets"`
}

// AckRequest is the body of POST /api/v1/alerts/{id}/ack and …/receipt:
// the post (id or code) the caller answers for.
type AckRequest struct {
	PostID string `json:"post_id"`
}

// PhoneRequest is the body of POST /api/v1/alerts/{id}/phone.
type PhoneRequest struct {
	PostID string `json:"post_id"`
	Note   string `json:"note"` // whom the centre spoke to
}

// EndRequest is the body of POST /api/v1/alerts/{id}/cancel and …/close
// (and of the readiness checks' cancel routes).
type EndRequest struct {
	Comment string `json:"comment"`
}

const maxAlertBody = 64 << 10 // a body of 20,000 characters of Cyrillic is 40 KB

func detail(al *alert.Alert) AlertDetail {
	d := AlertDetail{Alert: *al, Deliveries: al.Deliveries}
	if d.Deliveries == nil {
		d.Deliveries = []alert.Delivery{}
	}
	d.Alert.Deliveries = nil
	return d
}

func (h *handlers) alertRoutes(rt *router) {
	s := h.d.Alerts
	path := Prefix + "/alerts"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		q := r.URL.Query()
		o := alert.ListOptions{State: q.Get("state"), Limit: limit, Cursor: cursor}
		switch o.State {
		case "", alert.StateOpen, alert.StateCancelled, alert.StateClosed:
		default:
			return badParam("state", "invalid_state", "state must be open, cancelled or closed")
		}
		if o.Exercise, err = optBoolParam(q, "exercise"); err != nil {
			return err
		}
		items, next, err := s.List(r.Context(), o)
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[alert.NewAlert](w, r, maxAlertBody)
		if err != nil {
			return err
		}
		al, err := s.Send(r.Context(), in)
		if err != nil {
			return err
		}
		// The alert is committed and Send returns it with its deliveries
		// as written: no read-back of thousands of rows on the hot path.
		return created(w, path+"/"+al.ID, detail(al))
	})
	rt.handle("POST", path+"/preview", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[PreviewRequest](w, r, maxRecordBody)
		if err != nil {
			return err
		}
		p, err := s.Preview(r.Context(), in.Targets)
		if err != nil {
			return err
		}
		return ok(w, p)
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		al, err := s.Get(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, detail(al))
	})
	rt.handle("POST", path+"/{id}/ack", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[AckRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		if err := requirePost(r, in.PostID); err != nil {
			return err
		}
		ack, err := s.Acknowledge(r.Context(), r.PathValue("id"), in.PostID, "")
		if err != nil {
			return err
		}
		return ok(w, ack)
	})
	rt.handle("POST", path+"/{id}/receipt", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[AckRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		if err := requirePost(r, in.PostID); err != nil {
			return err
		}
		d, err := s.Receipt(r.Context(), r.PathValue("id"), in.PostID, "")
		if err != nil {
			return err
		}
		return ok(w, d)
	})
	rt.handle("POST", path+"/{id}/phone", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[PhoneRequest](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		if err := requirePost(r, in.PostID); err != nil {
			return err
		}
		d, err := s.ConfirmByPhone(r.Context(), r.PathValue("id"), in.PostID, in.Note)
		if err != nil {
			return err
		}
		return ok(w, d)
	})
	for _, end := range []struct {
		name string
		fn   func(*http.Request, string, string) (*alert.Alert, error)
	}{
		{"cancel", func(r *http.Request, id, c string) (*alert.Alert, error) { return s.Cancel(r.Context(), id, c) }},
		{"close", func(r *http.Request, id, c string) (*alert.Alert, error) { return s.Close(r.Context(), id, c) }},
	} {
		rt.handle("POST", path+"/{id}/"+end.name, func(w http.ResponseWriter, r *http.Request) error {
			in, err := decode[EndRequest](w, r, maxSmallBody)
			if err != nil {
				return err
			}
			al, err := end.fn(r, r.PathValue("id"), in.Comment)
			if err != nil {
				return err
			}
			return ok(w, al)
		})
	}

	// Deliveries addressed by their own id (what a delivery.updated event
	// carries).
	dpath := Prefix + "/deliveries/{id}"
	rt.handle("GET", dpath, func(w http.ResponseWriter, r *http.Request) error {
		d, err := h.delivery(r)
		if err != nil {
			return err
		}
		return ok(w, d)
	})
	rt.handle("POST", dpath+"/receipt", func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		alertID, postID, err := s.DeliveryByID(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		d, err := s.Receipt(r.Context(), alertID, postID, "")
		if err != nil {
			return err
		}
		return ok(w, d)
	})
}

// delivery reads one delivery (with its timeline) through its alert, so
// the alert's scope rule decides who sees it.
func (h *handlers) delivery(r *http.Request) (*alert.Delivery, error) {
	if err := signedIn(r); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	alertID, _, err := h.d.Alerts.DeliveryByID(r.Context(), id)
	if err != nil {
		return nil, err
	}
	al, err := h.d.Alerts.Get(r.Context(), alertID)
	if err != nil {
		return nil, notFoundAs(err, "delivery")
	}
	for i := range al.Deliveries {
		if al.Deliveries[i].ID == id {
			return &al.Deliveries[i], nil
		}
	}
	return nil, notFound("delivery")
}
