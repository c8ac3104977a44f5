package cli

import (
	"context"
	"errors"
	"fmt"

	"sitroom/internal/audit"
	"sitroom/internal/config"
	"sitroom/internal/db"
)

// runRestore restores a backup into an empty database and checks the
// restored audit chain (against the anchor in a dump's header, when there is
// one). Either backup format goes into either engine, so this also moves an
// installation from SQLite to PostgreSQL; see internal/db/backup.go. The
// restore itself is not audited in the restored database, which then holds
// exactly what the source held.
func runRestore(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "restore", "restore --db DSN FILE")
	c, pos, err := parseInterleaved(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &ExitError{Code: 2, Err: errors.New("name one backup file")}
	}
	info, err := db.Restore(ctx, c.DB, pos[0])
	if err != nil {
		return err
	}
	how := "copied the SQLite backup into place"
	if info.Method == "load" {
		how = fmt.Sprintf("loaded %d rows into %d tables", info.Rows, info.Tables)
	}
	fmt.Fprintf(env.Stdout, "restored %s: %s (backup schema version %d, now migrated)\n", pos[0], how, info.SchemaVersion)

	var anchor *audit.Anchor
	if info.Anchor != "" {
		if a, err := audit.ParseAnchor(info.Anchor); err == nil {
			anchor = &a
		}
	}
	d, err := db.Open(ctx, c.DB, db.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer d.Close()
	r, err := audit.Verify(ctx, d, anchor)
	if err != nil {
		return err
	}
	if !r.OK() {
		return &ExitError{Code: 1, Err: fmt.Errorf("restored, but the audit chain is broken at seq %d: %s", r.Broken.Seq, r.Broken.Reason)}
	}
	fmt.Fprintf(env.Stdout, "audit chain verifies: %d entries, head %s\n", r.Checked, r.Head)
	return nil
}
