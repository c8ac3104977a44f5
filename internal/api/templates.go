package api

import (
	"net/http"

	"sitroom/internal/alert"
)

func (h *handlers) templateRoutes(rt *router) {
	s := h.d.Alerts
	path := Prefix + "/alert-templates"
	rt.handle("GET", path, func(w http.ResponseWriter, r *http.Request) error {
		items, err := s.Templates(r.Context())
		if err != nil {
			return err
		}
		return list(w, items, "")
	})
	rt.handle("POST", path, func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[alert.TemplateInput](w, r, maxAlertBody)
		if err != nil {
			return err
		}
		t, err := s.CreateTemplate(r.Context(), in)
		if err != nil {
			return err
		}
		return created(w, path+"/"+t.ID, t)
	})
	rt.handle("GET", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		t, err := s.Template(r.Context(), r.PathValue("id"))
		if err != nil {
			return err
		}
		return ok(w, t)
	})
	rt.handle("PUT", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		in, err := decode[alert.TemplateInput](w, r, maxAlertBody)
		if err != nil {
			return err
		}
		t, err := s.UpdateTemplate(r.Context(), r.PathValue("id"), in)
		if err != nil {
			return err
		}
		return ok(w, t)
	})
	rt.handle("DELETE", path+"/{id}", func(w http.ResponseWriter, r *http.Request) error {
		if err := s.DeleteTemplate(r.Context(), r.PathValue("id")); err != nil {
			return err
		}
		return noContent(w)
	})
}
