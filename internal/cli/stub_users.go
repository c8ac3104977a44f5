package cli

import (
	"context"
	"errors"
)

// Replaced by user.go and token.go.
func runUser(ctx context.Context, env *Env, args []string) error  { return errors.New("not built yet") }
func runToken(ctx context.Context, env *Env, args []string) error { return errors.New("not built yet") }
