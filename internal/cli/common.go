package cli

import (
	"context"
	"flag"
	"fmt"
	"io"

	"sitroom/internal/config"
	"sitroom/internal/db"
)

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(env *Env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("sitroom "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: sitroom %s\n\nflags:\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and resolves the bound configuration; a bad flag exits 2.
func parse(fs *flag.FlagSet, args []string, resolve func() (*config.Config, error)) (*config.Config, error) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, &ExitError{Code: 0}
		}
		return nil, &ExitError{Code: 2, Err: err}
	}
	c, err := resolve()
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return c, nil
}

// openDB opens and migrates the store named in c. Commands that write run
// migrations first, so a fresh file works with any command.
func openDB(ctx context.Context, c *config.Config) (*db.DB, error) {
	d, err := db.Open(ctx, c.DB, db.Options{MaxConns: 4})
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func runMigrate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "migrate", "migrate --db DSN")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, c.DB, db.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(env.Stdout, "database is up to date")
	}
	for _, a := range applied {
		fmt.Fprintln(env.Stdout, "applied", a)
	}
	return nil
}

func runConfig(ctx context.Context, env *Env, args []string) error {
	config.WriteMarkdown(env.Stdout)
	return nil
}

// Version is set at build time with -ldflags "-X sitroom/internal/cli.Version=…".
var Version = "dev"

func runVersion(ctx context.Context, env *Env, args []string) error {
	_, err := io.WriteString(env.Stdout, "sitroom "+Version+"\n")
	return err
}
