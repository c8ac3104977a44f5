package api

import (
	"net/http"

	"sitroom/internal/auth"
	"sitroom/internal/events"
	"sitroom/internal/readiness"
)

// EventTypes are the event types the stream carries, for the document.
var EventTypes = []string{
	events.TypeAlertCreated, events.TypeAlertCancelled, events.TypeAlertClosed, events.TypeDeliveryUpdated,
	events.TypePostStatus, events.TypeCaseUpdated, events.TypeDutyChanged, events.TypeCheckScheduled,
	readiness.EventCheckUpdated, events.TypeResync,
}

// streamRoutes: the Server-Sent Events stream. The hub writes the answer
// itself (it takes over the connection), including its own problems for a
// bad Last-Event-ID or ?after=; this handler only refuses nobody.
func (h *handlers) streamRoutes(rt *router) {
	rt.handle("GET", Prefix+"/stream", func(w http.ResponseWriter, r *http.Request) error {
		a := auth.From(r.Context())
		if a == nil {
			return signedIn(r)
		}
		h.d.Hub.Serve(w, r, events.ViewerOf(a), nil)
		return nil
	})
}
