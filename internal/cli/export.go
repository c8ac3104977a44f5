package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sitroom/internal/config"
	"sitroom/internal/directory"
)

// runExport: sitroom export --db DSN [--format yaml|json] [-o FILE]. The
// file holds every record (archived ones with their active_to) and the user
// accounts with their roles, never passwords; importing it into an empty
// database gives the same directory.
func runExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export", "export --db DSN [--format yaml|json] [-o FILE]")
	format := fs.String("format", "", "yaml or json (default: json when -o names a .json file, else yaml)")
	out := fs.String("o", "", "write to FILE (replaced only once the export is complete) instead of standard output")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	switch *format = strings.ToLower(*format); *format {
	case "":
		*format = "yaml"
		if strings.EqualFold(filepath.Ext(*out), ".json") {
			*format = "json"
		}
	case "yaml", "yml", "json":
	default:
		return &ExitError{Code: 2, Err: fmt.Errorf("--format: yaml or json, not %q", *format)}
	}

	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	ctx, ds, us, _ := directoryStores(ctx, d)
	f, err := ds.Export(ctx, directory.ExportOptions{Users: us.ExportFileUsers})
	if err != nil {
		return err
	}
	if *out == "" {
		return directory.WriteFile(env.Stdout, f, *format)
	}
	return writeAtomically(*out, func(w *os.File) error { return directory.WriteFile(w, f, *format) })
}

// writeAtomically writes a temporary file beside path and renames it over
// path once complete, so a failed export never leaves half a file behind.
func writeAtomically(path string, write func(*os.File) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	err = write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return errors.Join(fmt.Errorf("export to %s", path), err)
	}
	return nil
}
