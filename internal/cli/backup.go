package cli

import (
	"context"
	"fmt"

	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
)

// runBackup backs up a live database: SQLite by VACUUM INTO (a consistent
// copy, writers carry on), PostgreSQL as a gzip'd logical dump read in one
// snapshot. It first seals the audit log and records an anchor, which is in
// the backup (its audit_anchors table; a dump's header too) and printed
// alone on the last line, so `sitroom audit verify --anchor` can later show
// that no entry up to the backup was cut off or rewritten.
func runBackup(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "backup", "backup --db DSN [-o FILE]")
	out := fs.String("o", "", "the backup file, which must not exist (default: sitroom-backup-<UTC time>.db for SQLite, .jsonl.gz for PostgreSQL)")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q (the output file goes after -o)", fs.Arg(0))}
	}
	d, err := openExisting(ctx, c.DB)
	if err != nil {
		return err
	}
	defer d.Close()
	path := *out
	if path == "" {
		path = "sitroom-backup-" + clock.Real{}.Now().Format("20060102T150405Z")
		if d.Dialect == db.Postgres {
			path += ".jsonl.gz"
		} else {
			path += ".db"
		}
	}
	anchor, err := audit.New(d, clock.Real{}).AnchorNote(ctx, "backup")
	if err != nil {
		return err
	}
	info, err := d.Backup(ctx, path, db.BackupMeta{Anchor: anchor.String()})
	if err != nil {
		return err
	}
	kind := "SQLite database"
	if info.Format == db.FormatDump {
		kind = fmt.Sprintf("logical dump, %d tables, %d rows", info.Tables, info.Rows)
	}
	fmt.Fprintf(env.Stdout, "backup written to %s (%s, %d bytes)\n", info.Path, kind, info.Bytes)
	fmt.Fprintln(env.Stdout, "audit anchor (keep it; check later with sitroom audit verify --anchor):")
	fmt.Fprintln(env.Stdout, anchor)
	return nil
}
