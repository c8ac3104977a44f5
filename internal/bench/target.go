package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"sitroom/internal/db"
)

// Options say what a bench run talks to.
type Options struct {
	// DB: prepare this (empty) store and start a server on it as a separate
	// process. URL+Token: use a running server instead, set up through its
	// API with an administrator's token.
	DB    string
	URL   string
	Token string
	// PID of the server behind URL, to read its CPU time and memory from
	// /proc (only when it runs on this machine); 0: not measured.
	PID int

	Exe           string   // the sitroom binary for the server process (default: this one)
	ServerCommand []string // default: serve
	ServerEnv     []string // extra environment of the server process
	ServerArgs    []string // extra flags of the server process
	ServerLog     string   // file for the server's log (default: a temp file)
	// Profiling: the server runs as `bench server --cpuprofile` and takes a
	// heap profile on SIGUSR1.
	Profiling bool

	Progress io.Writer // human progress lines (may be nil)
}

func (o *Options) progress(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
}

// Target is a prepared server to measure.
type Target struct {
	Client   *Client
	Addr     string // host:port, for streams
	Fixture  *Fixture
	Server   *Server // nil when measuring a server started by someone else
	PID      int     // 0: not on this machine / unknown
	Settings map[string]string
	DB       *db.DB // nil in --url mode
}

// Close stops the server this run started and closes the store.
func (t *Target) Close() {
	if t.Server != nil {
		_ = t.Server.Stop(20 * time.Second)
	}
	if t.DB != nil {
		t.DB.Close()
	}
}

// Setup prepares a target: with o.DB a fresh fixture and a server process
// of its own; with o.URL the running server, through the API.
func Setup(ctx context.Context, o Options, fo FixtureOptions, conns int) (*Target, error) {
	switch {
	case o.DB != "" && o.URL != "":
		return nil, fmt.Errorf("give --db or --url, not both")
	case o.DB != "":
		return setupDB(ctx, o, fo, conns)
	case o.URL != "":
		if o.Token == "" {
			return nil, fmt.Errorf("--url needs --token (an administrator's API token)")
		}
		return setupURL(ctx, o, fo, conns)
	}
	return nil, fmt.Errorf("give --db DSN (a new, empty database) or --url URL --token TOKEN")
}

func setupDB(ctx context.Context, o Options, fo FixtureOptions, conns int) (*Target, error) {
	d, err := db.Open(ctx, o.DB, db.Options{MaxConns: 2})
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	start := time.Now()
	f, err := Prepare(ctx, d, fo)
	if err != nil {
		d.Close()
		return nil, err
	}
	o.progress("prepared %d posts, officers and tokens in %s", len(f.Posts), time.Since(start).Round(time.Millisecond))
	s, err := StartServer(ctx, ServerOptions{Exe: o.Exe, Command: o.ServerCommand, DB: o.DB, Env: o.ServerEnv, Args: o.ServerArgs, LogPath: o.ServerLog})
	if err != nil {
		d.Close()
		return nil, err
	}
	o.progress("server pid %d at %s (log %s)", s.PID, s.URL, s.LogPath)
	return &Target{Client: NewClient(s.URL, conns), Addr: s.Addr, Fixture: f, Server: s, PID: s.PID, Settings: d.Settings(ctx), DB: d}, nil
}

func setupURL(ctx context.Context, o Options, fo FixtureOptions, conns int) (*Target, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" || (u.Scheme != "http") {
		return nil, fmt.Errorf("--url: an http:// URL of a running sitroom, not %q (the light stream client speaks plain HTTP/1.1)", o.URL)
	}
	c := NewClient(o.URL, conns)
	f, err := prepareViaAPI(ctx, c, o, fo)
	if err != nil {
		return nil, err
	}
	return &Target{Client: c, Addr: u.Host, Fixture: f, PID: o.PID,
		Settings: map[string]string{"engine": "unknown", "note": "not exposed by the API; use --db to measure with known settings"}}, nil
}
