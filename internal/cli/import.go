package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
	"sitroom/internal/directory"
	"sitroom/internal/users"
)

// runImport: sitroom import --db DSN [--dry-run] FILE. It acts as the
// system ("system:cli"): whoever can run it can write the database anyway.
// A file with any problem is rejected whole, each problem printed with its
// line, and the exit status is 1.
func runImport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "import", "import --db DSN [--dry-run] FILE\n\n"+
		"Imports the directory from FILE (YAML, or JSON when named *.json or starting with '{'; - for standard input).\n"+
		"Records are keyed by code: created or updated, never deleted; records the file lacks are listed.")
	dry := fs.Bool("dry-run", false, "check the file and report what would change, changing nothing")
	resolve := config.Bind(fs, env.Getenv, "db")
	c, err := parse(fs, flagsFirst(fs, args), resolve)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return &ExitError{Code: 2, Err: errors.New("give one FILE to import (- for standard input)")}
	}
	name := fs.Arg(0)
	var r io.Reader = env.Stdin
	if name == "-" {
		name = "stdin"
	} else {
		fh, err := os.Open(name)
		if err != nil {
			return err
		}
		defer fh.Close()
		r = fh
	}
	f, err := directory.ParseFile(r, name)
	if err != nil {
		return fileProblems(env, name, err)
	}

	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, ds, us, log := directoryStores(ctx, d)
	rep, err := ds.Import(ctx, f, directory.ImportOptions{DryRun: *dry, Users: us.ImportFileUsers})
	if err != nil {
		return fileProblems(env, name, err)
	}
	// Seal the import's entry into the audit chain now rather than when a
	// server next runs; a server sealing at the same time takes turns.
	if _, err := log.SealPending(ctx); err != nil {
		fmt.Fprintf(env.Stderr, "sitroom import: warning: the import is done, but its audit entry is not sealed yet: %v\n", err)
	}
	return rep.WriteText(env.Stdout)
}

// directoryStores opens the stores the directory commands use, acting as
// the CLI.
func directoryStores(ctx context.Context, d *db.DB) (context.Context, *directory.Store, *users.Store, *audit.Log) {
	clk := clock.Real{}
	log := audit.New(d, clk)
	return auth.With(ctx, auth.System("cli")), directory.New(d, clk, log), users.New(d, clk, log, users.Options{}), log
}

// fileProblems prints a rejected file's problems one per line, so each
// keeps its "file:line:" at the start where editors look for it.
func fileProblems(env *Env, name string, err error) error {
	var fe *directory.FileError
	if !errors.As(err, &fe) {
		return err
	}
	fmt.Fprintln(env.Stderr, fe.Error())
	n := len(fe.Problems)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return &ExitError{Code: 1, Err: fmt.Errorf("%s has %d problem%s; nothing was imported", name, n, plural)}
}

// flagsFirst moves positional arguments after the flags, so that
// "import org.yaml --dry-run" works as well as "import --dry-run org.yaml"
// (the flag package stops at the first positional argument). Flags must be
// defined on fs before it is called.
func flagsFirst(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if a == "-" || !strings.HasPrefix(a, "-") {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // unknown: Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if len(pos) == 0 {
		return flags
	}
	return append(append(flags, "--"), pos...)
}
