package api

import (
	"net/http"
	"time"

	"sitroom/internal/notify"
)

// WebhookCreated is the answer of creating a webhook or rotating its
// secret: the subscription and its new secret, shown this once.
type WebhookCreated struct {
	notify.Webhook
	Secret string `json:"secret"`
}

// RotateRequest is the body of POST /api/v1/webhooks/{id}/rotate: how
// long the previous secret stays valid (default 24 h; 0 stops it at once,
// for a leaked secret; at most 7 days).
type RotateRequest struct {
	OverlapSeconds *int `json:"overlap_seconds,omitempty"`
}

func (h *handlers) webhookRoutes(rt *router) {
	n := h.d.Notify
	path := Prefix + "/webhooks"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		items, err := n.Webhooks(r.Context())
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[notify.NewWebhook](w, r, maxSmallBody)
		if err != nil {
			return err
		}
		wh, secret, err := n.CreateWebhook(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, path+"/"+wh.ID, WebhookCreated{Webhook: *wh, Secret: secret})
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		wh, err := n.Webhook(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, wh)
	})
	rt.handle("POST", path+"/{id}/rotate", func(w http.ResponseWriter, r *http.Request) error {
		var in RotateRequest
		if r.ContentLength != 0 {
			var err error
			if in, err = decode[RotateRequest](w, r, maxSmallBody); err != nil {
				return err
			}
		}
		overlap := notify.DefaultRotationOverlap
		if in.OverlapSeconds != nil {
			overlap = time.Duration(*in.OverlapSeconds) * time.Second
		}
		wh, secret, err := n.RotateWebhookSecret(r.Context(), r.PathValue("id"), overlap)
		if err != nil {
			return err
		}
		return ok(w, WebhookCreated{Webhook: *wh, Secret: secret})
	})
	rt.handle("POST", path+"/{id}/disable", func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		wh, err := n.DisableWebhook(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, wh)
	})

	dpath := Prefix + "/dead-letters"
	rt.handle("GET", dpath, func(w http.ResponseWriter, r *http.Request) error {
		limit, cursor, err := pageParams(r)
		if err != nil {
			return err
		}
		kind := r.URL.Query().Get("kind")
		switch kind {
		case "", notify.KindEmail, notify.KindWebhook:
		default:
			return badParam("kind", "invalid_kind", "kind must be email or webhook")
		}
		items, next, err := n.DeadLetters(r.Context(), notify.ListOptions{Kind: kind, Limit: limit, Cursor: cursor})
		if err != nil {
			return err
		}
		return list(w, items, next)
	})
	rt.handle("POST", dpath+"/{id}/retry", func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		m, err := n.Retry(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, m)
	})
	rt.handle("GET", Prefix+"/alerts/{id}/messages", func(w http.ResponseWriter, r *http.Request) error {
		items, err := n.AlertMessages(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return list(w, items, "")
	})

	// E-mail acknowledgement links: the signed token is the credential
	// (the person reading the e-mail may not be signed in). GET only reads
	// — mail gateways open every link; only the POST of the confirmation
	// page acknowledges, in the name of the person the e-mail went to.
	lpath := Prefix + "/ack-links/{token}"
	rt.handle("GET", lpath, func(w http.ResponseWriter, r *http.Request) error {
		li, err := n.LinkInfo(r.Context(), r.PathValue("token"))
		if err != nil {
			return err
		}
		return ok(w, li)
	})
	rt.handle("POST", lpath, func(w http.ResponseWriter, r *http.Request) error {
		if err := emptyBody(w, r); err != nil {
			return err
		}
		ack, err := n.AckByLink(r.Context(), r.PathValue("token"))
		if err != nil {
			return err
		}
		return ok(w, ack)
	})
}
