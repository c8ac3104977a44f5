// Package config is sitroom's one typed table of options. Each option has a
// flag name, a SITROOM_* environment variable, a default and a help text; a
// subcommand binds the options it uses to its flag set, and after parsing,
// a flag given on the command line wins over the environment, which wins over
// the default. No other package reads the environment.
package config

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Config is the parsed configuration, passed down explicitly.
type Config struct {
	DB          string
	Addr        string
	BaseURL     string
	LogLevel    string
	LogFormat   string
	TLSCert     string
	TLSKey      string
	TestMode    bool
	TestClock   string
	SessionIdle time.Duration
	DutyIdle    time.Duration
	SessionMax  time.Duration
	DBMaxConns  int
	AnchorEvery time.Duration
	OutboxKeep  time.Duration
	SMTPAddr    string
	SMTPFrom    string
	SMTPUser    string
	SMTPPass    string
	Demo        DemoOptions
}

// DemoOptions are set by `sitroom demo` only.
type DemoOptions struct {
	Enabled bool
}

// Option is one row of the table.
type Option struct {
	Name    string // flag name
	Env     string // environment variable
	Default string
	Help    string
	set     func(c *Config, v string) error
}

func str(p func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func dur(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("not a duration (e.g. 30m, 24h): %q", v)
		}
		*p(c) = d
		return nil
	}
}

func integer(p func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("not a non-negative integer: %q", v)
		}
		*p(c) = n
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("not a boolean (1/0, true/false): %q", v)
		}
		*p(c) = b
		return nil
	}
}

// Options is the table. The README's configuration table is printed from it
// (`sitroom config`), and a test checks the README lists every variable.
var Options = []Option{
	{"db", "SITROOM_DB", "./sitroom.db", "database: an SQLite file path, or a postgres:// URL", str(func(c *Config) *string { return &c.DB })},
	{"addr", "SITROOM_ADDR", "127.0.0.1:8080", "address to listen on", str(func(c *Config) *string { return &c.Addr })},
	{"base-url", "SITROOM_BASE_URL", "", "public URL of the site, for links in e-mails and feeds (default http://ADDR)", str(func(c *Config) *string { return &c.BaseURL })},
	{"log-level", "SITROOM_LOG_LEVEL", "info", "debug, info, warn or error", str(func(c *Config) *string { return &c.LogLevel })},
	{"log-format", "SITROOM_LOG_FORMAT", "text", "text or json", str(func(c *Config) *string { return &c.LogFormat })},
	{"tls-cert", "SITROOM_TLS_CERT", "", "TLS certificate file; with --tls-key, serve HTTPS (cookies become Secure)", str(func(c *Config) *string { return &c.TLSCert })},
	{"tls-key", "SITROOM_TLS_KEY", "", "TLS private key file", str(func(c *Config) *string { return &c.TLSKey })},
	{"test-mode", "SITROOM_TEST_MODE", "0", "enables --test-clock and POST /api/v1/test/clock; never in production", boolean(func(c *Config) *bool { return &c.TestMode })},
	{"test-clock", "SITROOM_TEST_CLOCK", "", "start the clock at this RFC 3339 instant (needs SITROOM_TEST_MODE=1)", str(func(c *Config) *string { return &c.TestClock })},
	{"session-idle", "SITROOM_SESSION_IDLE", "12h", "a session ends after this long without activity", dur(func(c *Config) *time.Duration { return &c.SessionIdle })},
	{"duty-session-idle", "SITROOM_DUTY_SESSION_IDLE", "36h", "idle limit for users holding post roles (at least 24h: a duty desk must stay signed in)", dur(func(c *Config) *time.Duration { return &c.DutyIdle })},
	{"session-max", "SITROOM_SESSION_MAX", "720h", "a session ends this long after sign-in whatever the activity", dur(func(c *Config) *time.Duration { return &c.SessionMax })},
	{"db-max-conns", "SITROOM_DB_MAX_CONNS", "8", "connections in the read pool (PostgreSQL: the whole pool); each SQLite reader keeps its own page cache", integer(func(c *Config) *int { return &c.DBMaxConns })},
	{"audit-anchor-every", "SITROOM_AUDIT_ANCHOR_EVERY", "1h", "how often the server logs an audit anchor (sequence:hash)", dur(func(c *Config) *time.Duration { return &c.AnchorEvery })},
	{"outbox-keep", "SITROOM_OUTBOX_KEEP", "720h", "how long live events are kept for clients that reconnect (older positions get a resync)", dur(func(c *Config) *time.Duration { return &c.OutboxKeep })},
	{"smtp-addr", "SITROOM_SMTP_ADDR", "", "SMTP server host:port for e-mail notifications (empty: no e-mail)", str(func(c *Config) *string { return &c.SMTPAddr })},
	{"smtp-from", "SITROOM_SMTP_FROM", "sitroom@localhost", "sender address of e-mails", str(func(c *Config) *string { return &c.SMTPFrom })},
	{"smtp-user", "SITROOM_SMTP_USER", "", "SMTP user (PLAIN auth over TLS)", str(func(c *Config) *string { return &c.SMTPUser })},
	{"smtp-password", "SITROOM_SMTP_PASSWORD", "", "SMTP password", str(func(c *Config) *string { return &c.SMTPPass })},
}

func find(name string) *Option {
	for i := range Options {
		if Options[i].Name == name {
			return &Options[i]
		}
	}
	panic("config: no option " + name)
}

// Bind registers the named options (all when none are named) on fs and
// returns a function that, after fs.Parse, resolves flag > environment >
// default into a Config. getenv is os.Getenv in the CLI and a map in tests.
func Bind(fs *flag.FlagSet, getenv func(string) string, names ...string) func() (*Config, error) {
	var opts []*Option
	if len(names) == 0 {
		for i := range Options {
			opts = append(opts, &Options[i])
		}
	} else {
		for _, n := range names {
			opts = append(opts, find(n))
		}
	}
	vals := map[string]*string{}
	for _, o := range opts {
		vals[o.Name] = fs.String(o.Name, o.Default, o.Help+" ("+o.Env+")")
	}
	return func() (*Config, error) {
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		c := &Config{}
		// Defaults for every option, so unbound ones are still sensible.
		for i := range Options {
			if err := Options[i].set(c, Options[i].Default); err != nil {
				return nil, err
			}
		}
		for _, o := range opts {
			v := *vals[o.Name]
			if !given[o.Name] {
				if e := getenv(o.Env); e != "" {
					v = e
				}
			}
			if err := o.set(c, v); err != nil {
				return nil, fmt.Errorf("--%s / %s: %w", o.Name, o.Env, err)
			}
		}
		if err := c.validate(); err != nil {
			return nil, err
		}
		return c, nil
	}
}

func (c *Config) validate() error {
	if c.TestClock != "" && !c.TestMode {
		return fmt.Errorf("--test-clock needs SITROOM_TEST_MODE=1")
	}
	if c.TestClock != "" {
		if _, err := time.Parse(time.RFC3339, c.TestClock); err != nil {
			return fmt.Errorf("--test-clock: not an RFC 3339 time: %q", c.TestClock)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if c.DutyIdle < 24*time.Hour {
		return fmt.Errorf("--duty-session-idle must be at least 24h (a duty desk must stay signed in)")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format: text or json, not %q", c.LogFormat)
	}
	return nil
}

// PublicURL is the base URL for links (BaseURL, or http://Addr).
func (c *Config) PublicURL() string {
	if c.BaseURL != "" {
		return strings.TrimRight(c.BaseURL, "/")
	}
	scheme := "http"
	if c.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + c.Addr
}

// WriteMarkdown prints the option table as Markdown (for the README).
func WriteMarkdown(w io.Writer) {
	fmt.Fprintln(w, "| flag | environment | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, o := range Options {
		d := o.Default
		if d == "" {
			d = "—"
		}
		fmt.Fprintf(w, "| `--%s` | `%s` | `%s` | %s |\n", o.Name, o.Env, d, o.Help)
	}
}
