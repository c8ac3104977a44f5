package web

import "net/http"

// orgZone is the organisation's headquarters zone, the display zone of
// users who chose none ("" when the organisation has not been set up).
func (w *Web) orgZone(r *http.Request) string {
	if w.Directory == nil {
		return ""
	}
	o, err := w.Directory.GetOrgInfo(r.Context())
	if err != nil || o == nil {
		return ""
	}
	return o.TZ
}
