package app

import (
	"context"
	"net/http"

	"sitroom/internal/api"
	"sitroom/internal/auth"
	"sitroom/internal/directory"
	"sitroom/internal/httpx"
	"sitroom/internal/users"
	"sitroom/internal/web"
)

// Services are the domain stores, built once and shared by every handler.
type Services struct {
	Directory *directory.Store
	Users     *users.Store
}

func (a *App) buildServices() error {
	a.Directory = directory.New(a.DB, a.Clock, a.Audit)
	a.Users = users.New(a.DB, a.Clock, a.Audit, users.Options{
		SessionIdle: a.Cfg.SessionIdle, DutySessionIdle: a.Cfg.DutyIdle, SessionMax: a.Cfg.SessionMax,
	})
	return nil
}

// routes builds the mux and the middleware around it, in one place and in
// order: observe (ids, logs, metrics, recovery) → security headers →
// authentication → cross-origin and CSRF protection → the route.
func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	a.health(mux)
	secure := a.Cfg.TLSCert != "" || len(a.Cfg.BaseURL) > 8 && a.Cfg.BaseURL[:8] == "https://"
	api.Register(mux, api.Deps{
		DB: a.DB, Clock: a.Clock, Fake: a.Fake, Audit: a.Audit, Directory: a.Directory, Users: a.Users, Log: a.Log,
	})
	web.Register(mux, web.Deps{
		DB: a.DB, Clock: a.Clock, Audit: a.Audit, Directory: a.Directory, Users: a.Users, Log: a.Log,
		Secure: secure, TestMode: a.Fake != nil,
	})
	res := httpx.Resolver{
		Session: func(ctx context.Context, cookie, ip string) (*auth.Actor, string, error) {
			act, s, err := a.Users.SessionActor(ctx, cookie, ip)
			if err != nil {
				return nil, "", err
			}
			return act, s.CSRF, nil
		},
		Token: a.Users.TokenActor,
	}
	return httpx.Chain(httpx.Routed(mux),
		httpx.Observe(a.Log, httpx.NewMetrics(a.Registry)),
		httpx.SecurityHeaders(secure),
		httpx.Authenticate(res, secure),
		httpx.ProtectCSRF(),
	)
}

// loops are the background workers started by Run.
func (a *App) loops() []func(ctx context.Context) {
	return []func(ctx context.Context){
		func(ctx context.Context) { a.Audit.RunSealer(ctx, a.Log) },
		func(ctx context.Context) { a.Audit.RunAnchors(ctx, a.Cfg.AnchorEvery, a.Log) },
	}
}
