package cli

import (
	"context"

	"sitroom/internal/app"
	"sitroom/internal/config"
)

// runServe runs the server until SIGINT/SIGTERM, then shuts down gracefully.
func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "serve", "serve [--db DSN] [--addr HOST:PORT] [flags]")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv))
	if err != nil {
		return err
	}
	log := app.NewLogger(c, env.Stderr)
	a, err := app.New(ctx, c, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.Run(ctx, nil)
}
