package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/api"
	"sitroom/internal/auth"
	"sitroom/internal/board"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/duty"
	"sitroom/internal/events"
	"sitroom/internal/httpx"
	"sitroom/internal/notify"
	"sitroom/internal/presence"
	"sitroom/internal/readiness"
	"sitroom/internal/users"
	"sitroom/internal/web"
)

// Services are the domain stores and workers, built once and shared by
// every handler.
type Services struct {
	Directory *directory.Store
	Users     *users.Store
	Duty      *duty.Store
	Hub       *events.Hub
	Events    *events.Appender
	Alerts    *alert.Store
	Engine    *alert.Engine
	Group     *db.Group
	Readiness *readiness.Store
	Scheduler *readiness.Scheduler
	Notify    *notify.Notifier
	Sender    *notify.Sender
	Webhooks  *notify.Dispatcher
	Presence  *presence.Store
	Board     *board.Store
}

func (a *App) buildServices(ctx context.Context) error {
	a.Directory = directory.New(a.DB, a.Clock, a.Audit)
	a.Users = users.New(a.DB, a.Clock, a.Audit, users.Options{
		SessionIdle: a.Cfg.SessionIdle, DutySessionIdle: a.Cfg.DutyIdle, SessionMax: a.Cfg.SessionMax,
	})
	a.Duty = duty.New(a.DB, a.Clock, a.Audit)
	if u, err := url.Parse(a.Cfg.PublicURL()); err == nil {
		a.Duty.SetFeedHost(u.Hostname()) // UIDs of calendar events
	}
	hub, err := events.NewHub(ctx, a.DB, audienceResolver(a.DB), a.Log, events.Options{Registry: a.Registry})
	if err != nil {
		return err
	}
	a.Hub = hub
	a.Events = events.NewAppender(hub, a.Clock)
	a.Alerts = alert.New(a.DB, a.Clock, a.Audit, a.Events, roster{a.Duty})
	a.Group = a.DB.NewGroup(256)
	a.Alerts.SetGroup(a.Group)
	a.Engine = alert.NewEngine(a.Alerts, a.Log)
	a.Readiness = readiness.New(a.DB, a.Clock, a.Audit, a.Events, a.Alerts)
	a.Readiness.SetOrgZone(func(ctx context.Context) (string, error) {
		o, err := a.Directory.GetOrgInfo(auth.With(ctx, auth.System("readiness")))
		if err != nil {
			return "", err
		}
		return o.TZ, nil
	})
	a.Scheduler = readiness.NewScheduler(a.Readiness, a.Log)

	// Off-line channels: e-mail (when an SMTP server is configured) and
	// webhooks, queued in the alert transactions and sent after commit.
	n, err := notify.New(ctx, a.DB, a.Clock, a.Audit, a.Alerts, notify.Options{
		BaseURL: a.Cfg.PublicURL(), Email: a.Cfg.SMTPAddr != "",
		ActorForPerson: notify.PersonActor(a.DB, a.Users.ActorForUser), Log: a.Log,
	})
	if err != nil {
		return err
	}
	a.Notify = n
	var mailer notify.Mailer
	if a.Cfg.SMTPAddr != "" {
		mailer = &notify.SMTP{Addr: a.Cfg.SMTPAddr, User: a.Cfg.SMTPUser, Password: a.Cfg.SMTPPass}
	}
	if a.Sender, err = notify.NewSender(n, a.Log, notify.SenderOptions{From: a.Cfg.SMTPFrom, Mailer: mailer, Registry: a.Registry}); err != nil {
		return err
	}
	a.Webhooks = notify.NewDispatcher(n, a.Log, a.Registry)
	a.Events.AlsoWake(n.PokeDispatcher)

	// The situation board: posts' connection state and its read model.
	a.Presence = presence.New(a.DB, a.Clock, a.Events, a.Duty, replicaName())
	a.Presence.SetGroup(a.Group)
	a.Board = board.New(a.Clock, a.Duty, a.Alerts, a.Presence)
	return nil
}

// replicaName names this process in rows that record which replica wrote
// them (heartbeats): host and process id.
func replicaName() string {
	h, err := os.Hostname()
	if err != nil {
		h = "unknown"
	}
	return fmt.Sprintf("%s:%d", h, os.Getpid())
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
		Duty: a.Duty, Alerts: a.Alerts, Hub: a.Hub, Readiness: a.Readiness, Notify: a.Notify,
		Presence: a.Presence, Board: a.Board,
	})
	web.Register(mux, web.Deps{
		DB: a.DB, Clock: a.Clock, Audit: a.Audit, Directory: a.Directory, Users: a.Users, Log: a.Log,
		Secure: secure, TestMode: a.Fake != nil,
		Duty: a.Duty, Alerts: a.Alerts, Hub: a.Hub, Readiness: a.Readiness, Notify: a.Notify,
		Presence: a.Presence, Board: a.Board,
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

// loops are the background workers started by Run and stopped after the
// HTTP server has drained (so acknowledgements in flight still commit).
func (a *App) loops() []func(ctx context.Context) {
	return append([]func(ctx context.Context){
		func(ctx context.Context) { a.Audit.RunSealer(ctx, a.Log) },
		func(ctx context.Context) { a.Audit.RunAnchors(ctx, a.Cfg.AnchorEvery, a.Log) },
		a.Hub.Run,
		a.Group.Run,
		a.Engine.Run,
		a.Scheduler.Run,
		a.Sender.Run,
		a.Webhooks.Run,
		a.housekeeping,
	}, a.extraLoops...)
}

// AddLoop adds a background worker (e.g. the demo's simulated duty
// officers, which only `sitroom demo` starts). Call before Run.
func (a *App) AddLoop(f func(ctx context.Context)) { a.extraLoops = append(a.extraLoops, f) }

// housekeeping prunes what is kept only for a while and tops up rosters:
// at start, then hourly.
func (a *App) housekeeping(ctx context.Context) {
	sys := auth.With(ctx, auth.System("housekeeping"))
	for {
		if _, err := a.Users.PruneSessions(sys); err != nil && ctx.Err() == nil {
			a.Log.Warn("prune sessions", "err", err)
		}
		if _, err := a.Users.PruneLoginFailures(sys); err != nil && ctx.Err() == nil {
			a.Log.Warn("prune login failures", "err", err)
		}
		if _, err := a.Hub.Prune(ctx, a.Clock.Now().Add(-a.Cfg.OutboxKeep)); err != nil && ctx.Err() == nil {
			a.Log.Warn("prune outbox", "err", err)
		}
		if _, err := a.Duty.ExtendHorizon(sys); err != nil && ctx.Err() == nil {
			a.Log.Warn("extend rosters", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Hour):
		}
	}
}
