// Package app wires sitroom together: configuration → store → domain
// services → background loops → HTTP. It owns the start and stop order and
// nothing else; rules live in the domain packages.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
)

// App is a configured, running-or-ready sitroom.
type App struct {
	Cfg      *config.Config
	Log      *slog.Logger
	DB       *db.DB
	Clock    clock.Clock
	Fake     *clock.Fake // set only in test mode with --test-clock
	Audit    *audit.Log
	Registry *prometheus.Registry
	Services

	handler    http.Handler
	extraLoops []func(ctx context.Context)
}

// NewLogger builds the process logger from the configuration.
func NewLogger(c *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// New opens the store, runs migrations and builds every service.
func New(ctx context.Context, c *config.Config, log *slog.Logger) (*App, error) {
	a := &App{Cfg: c, Log: log, Clock: clock.Real{}}
	if c.TestMode {
		log.Warn("TEST MODE: the clock can be moved through POST /api/v1/test/clock; never run production like this")
		start := time.Now()
		if c.TestClock != "" {
			start, _ = time.Parse(time.RFC3339, c.TestClock)
		}
		a.Fake = clock.NewFake(start, false)
		a.Clock = a.Fake
		log.Warn("TEST MODE: the clock stands still until moved", "now", a.Fake.Now().Format(time.RFC3339))
	}
	d, err := db.Open(ctx, c.DB, db.Options{MaxConns: c.DBMaxConns})
	if err != nil {
		return nil, err
	}
	a.DB = d
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, m := range applied {
		log.Info("migration applied", "name", m)
	}
	a.Audit = audit.New(d, a.Clock)
	a.Registry = prometheus.NewRegistry()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := a.buildServices(ctx); err != nil {
		d.Close()
		return nil, err
	}
	a.handler = a.routes()
	return a, nil
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler { return a.handler }

// Close releases the store.
func (a *App) Close() error { return a.DB.Close() }

func (a *App) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := a.DB.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "database unreachable: "+err.Error()+"\n")
			return
		}
		if n, err := a.DB.Pending(ctx); err != nil || n > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "database schema is behind by %d migrations\n", n)
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{}))
}

// Run serves HTTP and runs the background loops until ctx ends, then shuts
// down gracefully: stop accepting, finish requests (streams are told to
// reconnect elsewhere), stop loops, close the store.
func (a *App) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", a.Cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.Cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	loopCtx, stopLoops := context.WithCancel(context.Background())
	waitLoops := a.StartLoops(loopCtx)
	errc := make(chan error, 1)
	go func() {
		if a.Cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, a.Cfg.TLSCert, a.Cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	addr := ln.Addr().String()
	a.Log.Info("sitroom is serving", "addr", addr, "url", a.Cfg.PublicURL(), "db", redact(a.Cfg.DB), "settings", a.DB.Settings(ctx))
	if ready != nil {
		ready(addr)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
		a.Log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	stopLoops()
	waitLoops()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// StartLoops starts every background worker (hub, group commit, engine,
// scheduler, senders, sealer, housekeeping and any added with AddLoop)
// until ctx ends; the returned function waits for them to stop.
func (a *App) StartLoops(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	for _, loop := range a.loops() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	return wg.Wait
}

// redact hides a password in a PostgreSQL URL for the log.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.Index(dsn[i+3:], "@"); j >= 0 {
			cred := dsn[i+3 : i+3+j]
			if k := strings.Index(cred, ":"); k >= 0 {
				return dsn[:i+3] + cred[:k] + ":***" + dsn[i+3+j:]
			}
		}
	}
	return dsn
}
