package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"sitroom/internal/app"
	"sitroom/internal/bench"
	"sitroom/internal/config"
)

// runBench measures a server from the outside: fan-out to SSE streams,
// acknowledgements, escalation. See package bench for what each measures.
// The last line on stdout is always one JSON object (with --json, the only
// one; the summary then goes to stderr).
func runBench(ctx context.Context, env *Env, args []string) error {
	if len(args) > 0 && args[0] == "server" { // started by the bench itself
		return benchServer(ctx, env, args[1:])
	}
	sub, rest, err := splitSub(args, "fanout", "ack", "escalate")
	if err != nil {
		return err
	}
	fs := newFlags(env, "bench "+sub, "bench "+sub+" (--db DSN | --url URL --token T) [flags]")
	var o bench.Options
	fs.StringVar(&o.DB, "db", "", "a new, empty database (SQLite file or postgres:// URL): the bench fills it and runs its own server process on it")
	fs.StringVar(&o.URL, "url", "", "a running server to measure instead (set up through the API)")
	fs.StringVar(&o.Token, "token", "", "with --url: an administrator's API token")
	fs.IntVar(&o.PID, "pid", 0, "with --url: the server's process id, to read its CPU time and memory from /proc")
	fs.StringVar(&o.ServerLog, "server-log", "", "with --db: write the server's log to this file (default: a temp file)")
	cpuprofile := fs.String("cpuprofile", "", "with --db: run the server with a CPU profile written to this file when it stops")
	fs.Func("server-env", "with --db: KEY=VALUE in the server's environment, e.g. GOMEMLIMIT=150MiB or SITROOM_DB_MAX_CONNS=4 (repeatable)", func(v string) error {
		if !strings.Contains(v, "=") {
			return fmt.Errorf("want KEY=VALUE, not %q", v)
		}
		o.ServerEnv = append(o.ServerEnv, v)
		return nil
	})
	asJSON := fs.Bool("json", false, "print only the JSON result on stdout (the summary goes to stderr)")
	var fo bench.FanoutOptions
	var ao bench.AckOptions
	var eo bench.EscalateOptions
	switch sub {
	case "fanout":
		fs.IntVar(&fo.Subscribers, "subscribers", 1000, "streams, one per post officer")
		fs.IntVar(&fo.Alerts, "alerts", 20, "measured alerts, each to every post")
		fs.IntVar(&fo.Warmup, "warmup", 2, "alerts sent and awaited before measuring")
		fs.DurationVar(&fo.Interval, "interval", time.Second, "between measured alerts")
	case "ack":
		fs.IntVar(&ao.Acks, "acks", 10000, "deliveries to acknowledge (one alert to this many posts)")
		fs.IntVar(&ao.Concurrency, "concurrency", 64, "clients acknowledging at once")
	case "escalate":
		fs.IntVar(&eo.Deadlines, "deadlines", 10000, "deliveries whose deadlines fall in the same second")
	}
	if err := fs.Parse(rest); err != nil {
		if err == flag.ErrHelp {
			return &ExitError{Code: 0}
		}
		return &ExitError{Code: 2, Err: err}
	}
	if fs.NArg() > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *cpuprofile != "" {
		if o.DB == "" {
			return &ExitError{Code: 2, Err: fmt.Errorf("--cpuprofile needs --db (the bench must start the server)")}
		}
		o.ServerCommand = []string{"bench", "server", "--cpuprofile", *cpuprofile}
		o.Profiling = true
	}
	o.Progress = env.Stderr
	summary := env.Stdout
	if *asJSON {
		summary = env.Stderr
	}
	var result any
	switch sub {
	case "fanout":
		fo.Options = o
		r, err := bench.Fanout(ctx, fo)
		if err != nil {
			return err
		}
		bench.WriteFanout(summary, r)
		result = r
	case "ack":
		ao.Options = o
		r, err := bench.Ack(ctx, ao)
		if err != nil {
			return err
		}
		bench.WriteAck(summary, r)
		result = r
	case "escalate":
		eo.Options = o
		r, err := bench.Escalate(ctx, eo)
		if err != nil {
			return err
		}
		bench.WriteEscalate(summary, r)
		result = r
	}
	b, err := json.Marshal(result)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(env.Stdout, string(b))
	return err
}

// benchServer is `serve` with profiles, for `bench … --cpuprofile`: the
// same app, started the same way, with a CPU profile around its whole run
// and heap profiles on SIGUSR1 (FILE.heap.N). Not listed in the usage; the
// bench starts it.
func benchServer(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "bench server", "bench server --cpuprofile FILE [serve flags]")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile here when the server stops")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv))
	if err != nil {
		return err
	}
	log := app.NewLogger(c, env.Stderr)
	a, err := app.New(ctx, c, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
		// SIGUSR1 writes a heap profile (FILE.heap.N): the bench asks for
		// one while every stream is open.
		usr := make(chan os.Signal, 1)
		signal.Notify(usr, syscall.SIGUSR1)
		defer signal.Stop(usr)
		go func() {
			for n := 1; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-usr:
				}
				if h, err := os.Create(fmt.Sprintf("%s.heap.%d", *cpuprofile, n)); err == nil {
					runtime.GC()
					_ = pprof.Lookup("heap").WriteTo(h, 0)
					h.Close()
				}
			}
		}()
	}
	return a.Run(ctx, nil)
}
