package cli

import (
	"context"
	"errors"
)

// Replaced by backup.go, restore.go and audit.go.
func runBackup(ctx context.Context, env *Env, args []string) error  { return errors.New("not built yet") }
func runRestore(ctx context.Context, env *Env, args []string) error { return errors.New("not built yet") }
func runAudit(ctx context.Context, env *Env, args []string) error   { return errors.New("not built yet") }
