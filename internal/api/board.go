package api

import (
	"net/http"

	"sitroom/internal/board"
)

func (h *handlers) boardRoutes(rt *router) {
	rt.handle("GET", Prefix+"/board", func(w http.ResponseWriter, r *http.Request) error {
		n, err := intParam(r, "alerts", board.DefaultAlerts, 1, board.MaxAlerts)
		if err != nil {
			return err
		}
		b, err := h.d.Board.Board(r.Context(), board.Options{Alerts: n})
		if err != nil {
			return err
		}
		return ok(w, b)
	})
}
