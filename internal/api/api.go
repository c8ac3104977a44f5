package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/board"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
	"sitroom/internal/events"
	"sitroom/internal/httpx"
	"sitroom/internal/notify"
	"sitroom/internal/presence"
	"sitroom/internal/readiness"
	"sitroom/internal/users"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// Deps are what the handlers call. Fake is nil unless the server runs in test
// mode; only then does the test-clock route exist.
type Deps struct {
	DB        *db.DB
	Clock     clock.Clock
	Fake      *clock.Fake
	Audit     *audit.Log
	Directory *directory.Store
	Users     *users.Store
	Log       *slog.Logger

	// The readiness network.
	Duty      *duty.Store
	Alerts    *alert.Store
	Hub       *events.Hub
	Readiness *readiness.Store
	Notify    *notify.Notifier
	Presence  *presence.Store
	Board     *board.Store
}

// Route is one registered method and path pattern, e.g. GET
// /api/v1/posts/{id}.
type Route struct {
	Method  string
	Pattern string
}

func (r Route) String() string { return r.Method + " " + r.Pattern }

// handlerFunc is the shape of every handler: it writes a success itself and
// returns an error for the router to write as problem+json.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// router registers handlers on the mux and records each route.
type router struct {
	mux    *http.ServeMux
	routes []Route
	// position reads the event hub's position (nil without a hub).
	position func() int64
}

func (rt *router) handle(method, pattern string, h handlerFunc) {
	rt.routes = append(rt.routes, Route{Method: method, Pattern: pattern})
	positioned := method == "GET" && strings.HasPrefix(pattern, Prefix+"/") && rt.position != nil
	rt.mux.HandleFunc(method+" "+pattern, func(w http.ResponseWriter, r *http.Request) {
		if positioned {
			// Read BEFORE the handler reads its data: whatever the client
			// sees reflects at least everything up to this position, so a
			// stream opened with ?after= this value misses nothing that
			// happened in between (it may see again an event whose effect
			// the answer already shows, which clients take in their stride).
			w.Header().Set(events.PositionHeader, strconv.FormatInt(rt.position(), 10))
		}
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// writeError writes err as problem+json. A 401 carries the challenge that
// tells an integrator to send a bearer token.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	if httpx.Status(err) == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sitroom"`)
	}
	httpx.Error(w, r, err)
}

// Register adds every API route to mux.
func Register(mux *http.ServeMux, d Deps) {
	rt := &router{mux: mux}
	if d.Hub != nil {
		rt.position = d.Hub.Position
	}
	register(rt, d)
	rt.fallback()
}

// Routes lists the routes Register adds with deps d (the test-clock routes
// only when d.Fake is set), in registration order. The handlers are never
// called, so d may hold nil stores.
func Routes(d Deps) []Route {
	rt := &router{mux: http.NewServeMux()}
	register(rt, d)
	return slices.Clone(rt.routes)
}

// register is the table of every route, grouped by resource; each group
// lives in the file of its resource.
func register(rt *router, d Deps) {
	h := &handlers{d: d}
	rt.handle("GET", Prefix+"/openapi.json", h.openAPI)
	rt.handle("GET", Prefix+"/me", h.me)
	h.memberStateRoutes(rt)
	h.bodyRoutes(rt)
	h.postRoutes(rt)
	h.personRoutes(rt)
	h.userRoutes(rt)
	h.tokenRoutes(rt)
	h.auditRoutes(rt)
	// The readiness network.
	h.alertRoutes(rt)
	h.templateRoutes(rt)
	h.streamRoutes(rt)
	h.heartbeatRoutes(rt)
	h.boardRoutes(rt)
	h.dutyRoutes(rt)
	h.checkRoutes(rt)
	h.webhookRoutes(rt)
	if d.Fake != nil {
		h.testClockRoutes(rt)
	}
}

// handlers holds the dependencies every handler method uses.
type handlers struct {
	d Deps

	docOnce sync.Once
	doc     []byte
}

// fallback answers every other request under the prefix with problem+json:
// 405 (with Allow) when the path exists with other methods, else 404. Without
// it the mux would answer in plain text.
func (rt *router) fallback() {
	paths := http.NewServeMux()
	methods := map[string][]string{}
	for _, r := range rt.routes {
		if _, ok := methods[r.Pattern]; !ok {
			paths.HandleFunc(r.Pattern, func(http.ResponseWriter, *http.Request) {})
		}
		methods[r.Pattern] = append(methods[r.Pattern], r.Method)
	}
	rt.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" && rt.position != nil {
			w.Header().Set(events.PositionHeader, strconv.FormatInt(rt.position(), 10))
		}
		if _, pattern := paths.Handler(r); pattern != "" {
			allow := methods[pattern]
			if slices.Contains(allow, "GET") {
				allow = append(slices.Clone(allow), "HEAD")
			}
			w.Header().Set("Allow", strings.Join(allow, ", "))
			// apperr has no kind for 405 (no domain rule ever answers it),
			// so the problem is built here with the usual shape.
			p := httpx.ProblemFor(r, apperr.BadRequest("method-not-allowed",
				r.Method+" is not allowed here; use "+strings.Join(allow, ", ")))
			p.Status, p.Title = http.StatusMethodNotAllowed, http.StatusText(http.StatusMethodNotAllowed)
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(p.Status)
			_ = json.NewEncoder(w).Encode(p)
			return
		}
		writeError(w, r, &apperr.Error{Kind: apperr.KindNotFound, Type: "no-such-route",
			Detail: "there is no API route " + r.Method + " " + r.URL.Path + "; see " + Prefix + "/openapi.json"})
	})
}
