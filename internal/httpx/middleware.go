package httpx

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
	keyCSRF
	keyInfo
)

// info is filled in by inner layers for the access log of the outer one
// (each layer's r.WithContext makes a new request, so fields set on an
// inner request are not seen outside).
type info struct {
	pattern string
	actor   string
}

func infoFrom(ctx context.Context) *info {
	i, _ := ctx.Value(keyInfo).(*info)
	return i
}

// Routed wraps the mux so the access log and metrics learn the matched route.
func Routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if i := infoFrom(r.Context()); i != nil {
			i.pattern = r.Pattern
		}
	})
}

// RequestID returns the id of the request in ctx.
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// LoggerFrom returns the request's logger (with its id), or the default.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// CSRFToken returns the session's CSRF token (empty without a session).
func CSRFToken(ctx context.Context) string {
	s, _ := ctx.Value(keyCSRF).(string)
	return s
}

// Middleware wraps a handler.
type Middleware func(http.Handler) http.Handler

// Chain applies mws in order: the first is the outermost.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and SetWriteDeadline.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Metrics are the HTTP metrics exported at /metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sitroom_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sitroom_http_request_duration_seconds", Help: "HTTP request duration by route.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// Observe is the outermost middleware: request id, logger, access log,
// metrics and panic recovery (a panic becomes a logged 500, never a dropped
// connection without a trace).
func Observe(base *slog.Logger, m *Metrics) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			id := r.Header.Get("X-Request-Id")
			if id == "" || len(id) > 64 {
				b := make([]byte, 8)
				_, _ = rand.Read(b)
				id = hex.EncodeToString(b)
			}
			w.Header().Set("X-Request-Id", id)
			l := base.With("req", id)
			inf := &info{actor: "anonymous"}
			ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, l)
			ctx = context.WithValue(ctx, keyInfo, inf)
			r = r.WithContext(ctx)
			rec := &recorder{ResponseWriter: w}
			defer func() {
				if p := recover(); p != nil {
					if p == http.ErrAbortHandler {
						panic(p)
					}
					l.Error("panic", "panic", p, "stack", string(debug.Stack()))
					if rec.status == 0 {
						Error(rec, r, errors.New("panic"))
					}
				}
				route := inf.pattern
				if route == "" {
					route = "unmatched"
				}
				if m != nil {
					m.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
					m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
				}
				level := slog.LevelInfo
				if rec.status >= 500 {
					level = slog.LevelError
				}
				l.Log(r.Context(), level, "http", "method", r.Method, "path", r.URL.Path, "route", route,
					"status", rec.status, "bytes", rec.bytes, "ms", time.Since(start).Milliseconds(),
					"actor", inf.actor, "ip", ClientIP(r))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// SecurityHeaders sets headers every response should carry.
func SecurityHeaders(tls bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; media-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
			if tls {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ClientIP is the peer address (proxies are not trusted by default).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// SessionCookie is the name of the session cookie.
const SessionCookie = "sitroom_session"

// Resolver turns credentials into an actor. The app adapts the users store
// to it, so this package does not depend on how sessions are kept.
type Resolver struct {
	// Session resolves a session cookie value; it returns the actor and the
	// session's CSRF token.
	Session func(ctx context.Context, cookie, ip string) (*auth.Actor, string, error)
	// Token resolves an API bearer token.
	Token func(ctx context.Context, token, ip string) (*auth.Actor, error)
}

// Authenticate puts the actor of the request (if any) into its context. A
// bearer token that does not resolve is refused at once (401): an integrator
// must learn that its token is wrong rather than act anonymously. A stale
// session cookie is ignored (the page will ask to sign in) and cleared.
func Authenticate(res Resolver, secure bool) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := ClientIP(r)
			ctx := r.Context()
			if h := r.Header.Get("Authorization"); h != "" {
				scheme, tok, _ := strings.Cut(h, " ")
				if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
					w.Header().Set("WWW-Authenticate", `Bearer realm="sitroom"`)
					Error(w, r, apperr.Unauthorized("the Authorization header must be \"Bearer <token>\""))
					return
				}
				a, err := res.Token(ctx, strings.TrimSpace(tok), ip)
				if err != nil {
					w.Header().Set("WWW-Authenticate", `Bearer realm="sitroom", error="invalid_token"`)
					if apperr.Is(err, apperr.KindUnauthorized) {
						Error(w, r, apperr.Unauthorized("the token is unknown, revoked or expired"))
					} else {
						Error(w, r, err)
					}
					return
				}
				a.IP = ip
				if i := infoFrom(ctx); i != nil {
					i.actor = a.Label()
				}
				next.ServeHTTP(w, r.WithContext(auth.With(ctx, a)))
				return
			}
			if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
				a, csrf, err := res.Session(ctx, c.Value, ip)
				switch {
				case err == nil:
					a.IP = ip
					if i := infoFrom(ctx); i != nil {
						i.actor = a.Label()
					}
					ctx = context.WithValue(auth.With(ctx, a), keyCSRF, csrf)
				case apperr.Is(err, apperr.KindUnauthorized):
					ClearSessionCookie(w, secure)
				default:
					Error(w, r, err)
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// SetSessionCookie sets the session cookie: HttpOnly, SameSite=Lax (a link
// from an e-mail must open signed in), Secure under TLS.
func SetSessionCookie(w http.ResponseWriter, value string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: 0})
}

// ClearSessionCookie removes the session cookie.
func ClearSessionCookie(w http.ResponseWriter, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// CSRFHeader carries the CSRF token on script requests; forms send the field
// CSRFField.
const (
	CSRFHeader = "X-CSRF-Token"
	CSRFField  = "csrf_token"
)

// ProtectCSRF refuses state-changing requests from other origins (Fetch
// metadata / Origin, via net/http's CrossOriginProtection) and, when the
// caller is signed in by cookie, those without the session's CSRF token.
// Bearer-token requests carry no ambient credentials and need no token.
func ProtectCSRF() Middleware {
	cop := http.NewCrossOriginProtection()
	return func(next http.Handler) http.Handler {
		inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				next.ServeHTTP(w, r)
				return
			}
			if r.Header.Get("Authorization") != "" {
				next.ServeHTTP(w, r)
				return
			}
			want := CSRFToken(r.Context())
			if want != "" {
				got := r.Header.Get(CSRFHeader)
				if got == "" {
					got = r.PostFormValue(CSRFField)
				}
				if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
					Error(w, r, apperr.Forbidden("csrf", "the form has expired or did not come from this site; reload the page and try again"))
					return
				}
			}
			next.ServeHTTP(w, r)
		})
		cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			Error(w, r, apperr.Forbidden("cross-origin", "a request from another site was refused"))
		}))
		return cop.Handler(inner)
	}
}
