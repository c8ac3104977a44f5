package cli

import (
	"context"
	"errors"
	"fmt"
	"os"

	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
)

func runAudit(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := splitSub(args, "verify", "anchor")
	if err != nil {
		return err
	}
	if sub == "anchor" {
		return auditAnchor(ctx, env, rest)
	}
	return auditVerify(ctx, env, rest)
}

// auditVerify only reads, so it neither migrates nor seals: it may run
// against the database of a running server, or a restored copy, unchanged.
func auditVerify(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit verify", "audit verify --db DSN [--anchor SEQ:HASH]")
	anchorText := fs.String("anchor", "", "an anchor SEQ:HASH taken earlier (server log, backup): the entry at SEQ must still have HASH")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	var anchor *audit.Anchor
	if *anchorText != "" {
		a, err := audit.ParseAnchor(*anchorText)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		anchor = &a
	}
	d, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := audit.Verify(ctx, d, anchor)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "entries checked: %d\n", r.Checked)
	fmt.Fprintf(env.Stdout, "head: %s\n", r.Head)
	if r.Unsealed > 0 {
		fmt.Fprintf(env.Stdout, "not yet sealed: %d (the sealer adds them to the chain; not an error)\n", r.Unsealed)
	}
	if !r.OK() {
		return &ExitError{Code: 1, Err: fmt.Errorf("broken link at seq %d: %s", r.Broken.Seq, r.Broken.Reason)}
	}
	if anchor != nil {
		fmt.Fprintf(env.Stdout, "anchor matches: %s\n", anchor)
	}
	fmt.Fprintln(env.Stdout, "audit chain verifies")
	return nil
}

// auditAnchor seals what is pending and prints the head, to be written
// down somewhere the database's administrators cannot reach.
func auditAnchor(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "audit anchor", "audit anchor --db DSN")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	d, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer d.Close()
	a, err := audit.New(d, clock.Real{}).AnchorNote(ctx, "cli")
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, a)
	return nil
}

// openExisting opens a store without migrating it: for commands that must
// not change a live server's schema (backup, audit). An SQLite path that
// does not exist is an error rather than a new, empty database.
func openExisting(ctx context.Context, dsn string) (*db.DB, error) {
	if !db.IsPostgresDSN(dsn) {
		p := db.SQLitePath(dsn)
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no database at %s", p)
		}
	}
	return db.Open(ctx, dsn, db.Options{MaxConns: 2})
}
