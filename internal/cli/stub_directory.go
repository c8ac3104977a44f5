package cli

import (
	"context"
	"errors"
)

// Replaced by import.go and export.go.
func runImport(ctx context.Context, env *Env, args []string) error { return errors.New("not built yet") }
func runExport(ctx context.Context, env *Env, args []string) error { return errors.New("not built yet") }
