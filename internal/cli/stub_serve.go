package cli

import (
	"context"
	"errors"
)

// Replaced by serve.go and demo.go.
func runServe(ctx context.Context, env *Env, args []string) error { return errors.New("not built yet") }
func runDemo(ctx context.Context, env *Env, args []string) error  { return errors.New("not built yet") }
