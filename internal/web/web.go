package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"sitroom/internal/alert"
	"sitroom/internal/board"
	"sitroom/internal/duty"
	"sitroom/internal/events"
	"sitroom/internal/notify"
	"sitroom/internal/presence"
	"sitroom/internal/readiness"

	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/users"
)

// Deps are what the pages need; internal/app fills them.
type Deps struct {
	DB        *db.DB
	Clock     clock.Clock
	Audit     *audit.Log
	Directory *directory.Store
	Users     *users.Store
	Log       *slog.Logger
	Secure    bool // cookies get the Secure flag (TLS or an https base URL)
	TestMode  bool // the test clock is on: the layout says so

	// The readiness network.
	Duty      *duty.Store
	Alerts    *alert.Store
	Hub       *events.Hub
	Readiness *readiness.Store
	Notify    *notify.Notifier
	// Board is the situation board's read model; Presence the posts'
	// connection state. New builds them from the stores above when the
	// app does not pass its own.
	Board    *board.Store
	Presence *presence.Store
}

// Web holds the parsed templates, catalogues and assets, all prepared once
// at start.
type Web struct {
	Deps
	cats   map[string]catalogue
	assets *assets
	pages  map[string]map[string]*pageTemplate // lang → page name → template
}

// New prepares the interface. Any fault in a template, a catalogue or a
// static file is returned here, so that a broken build stops at start and
// never at a request.
func New(d Deps) (*Web, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Board == nil && d.Duty != nil && d.Alerts != nil && d.DB != nil {
		if d.Presence == nil {
			// Read-only use (States): no outbox appender needed.
			d.Presence = presence.New(d.DB, d.Clock, nil, d.Duty, "web")
		}
		d.Board = board.New(d.Clock, d.Duty, d.Alerts, d.Presence)
	}
	w := &Web{Deps: d}
	var err error
	if w.cats, err = loadCatalogues(); err != nil {
		return nil, err
	}
	if w.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if w.pages, err = w.parseTemplates(); err != nil {
		return nil, err
	}
	return w, nil
}

// Register builds the interface and adds its routes to mux. It panics when
// the interface cannot be built (a template or catalogue error), which stops
// the server at start with the reason.
func Register(mux *http.ServeMux, d Deps) {
	w, err := New(d)
	if err != nil {
		panic(fmt.Sprintf("web: cannot build the interface: %v", err))
	}
	w.Routes(mux)
}

// Routes adds every page route to mux.
func (w *Web) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/{file}", w.assets.serve)
	mux.HandleFunc("GET /{$}", w.signedIn(w.home))
	mux.HandleFunc("GET /login", w.loginForm)
	mux.HandleFunc("POST /login", w.login)
	mux.HandleFunc("POST /logout", w.logout)
	mux.HandleFunc("POST /lang", w.setLang)

	mux.HandleFunc("GET /profile", w.signedIn(w.profile))
	mux.HandleFunc("POST /profile", w.signedIn(w.profileSave))
	mux.HandleFunc("POST /profile/password", w.signedIn(w.profilePassword))
	mux.HandleFunc("POST /profile/sessions/revoke", w.signedIn(w.profileRevokeAll))
	mux.HandleFunc("POST /profile/sessions/{id}/end", w.signedIn(w.profileEndSession))

	w.directoryRoutes(mux)
	w.adminRoutes(mux)
	w.boardRoutes(mux)
	w.alertRoutes(mux)
	w.dutyRoutes(mux)
	w.rosterRoutes(mux)
	w.readinessRoutes(mux)
	w.ackLinkRoutes(mux)

	// Anything else is a 404 page (the API answers its own paths).
	mux.HandleFunc("/", w.notFound)
}

// home is the landing page after sign-in: the first section the user sees.
// A post's people land on My duty, where an alert reaches them; the centre
// on the situation board.
func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	if !a.IsCentre() && (a.Has(auth.PostOfficer) || a.Has(auth.PostHead)) {
		http.Redirect(rw, r, "/duty", http.StatusSeeOther)
		return
	}
	nav := visibleNav(a, "")
	if len(nav) > 0 {
		http.Redirect(rw, r, nav[0].Path, http.StatusSeeOther)
		return
	}
	http.Redirect(rw, r, "/profile", http.StatusSeeOther)
}
