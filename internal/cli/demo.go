package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"sitroom/demo"
	"sitroom/internal/app"
	"sitroom/internal/config"
	"sitroom/internal/directory"
)

// runDemo fills an empty database with the demo organisation, prints how to
// get in, then serves like `serve` — with the demo's simulated duty officers,
// which never run under `serve`.
func runDemo(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "demo", "demo [--db DSN] [--addr HOST:PORT] [flags]")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv))
	if err != nil {
		return err
	}
	c.Demo.Enabled = true
	log := app.NewLogger(c, env.Stderr)
	a, err := app.New(ctx, c, log)
	if err != nil {
		return err
	}
	defer a.Close()
	seeded, err := demo.Seed(ctx, a.Directory, a.Users)
	if err != nil {
		return err
	}
	return a.Run(ctx, func(addr string) {
		banner(env.Stdout, c, addr, seeded)
	})
}

// banner prints the URL and the demo logins, one per role first.
func banner(w io.Writer, c *config.Config, addr string, s *demo.Seeded) {
	url := c.BaseURL
	if url == "" {
		url = "http://" + addr
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "sitroom demo is running:", url)
	if s.Fresh {
		fmt.Fprintf(w, "  (a fresh demo organisation was written to %s)\n", c.DB)
	} else {
		fmt.Fprintf(w, "  (using the organisation already in %s)\n", c.DB)
	}
	fmt.Fprintf(w, "\nSign in with any of these; the password of every demo user is %q (demo only).\n\n", demo.Password)
	byRole := map[string][]directory.FileUser{}
	for _, u := range s.Logins {
		for _, r := range u.Roles {
			role, _, _ := strings.Cut(r, ":")
			byRole[role] = append(byRole[role], u)
		}
	}
	roles := make([]string, 0, len(byRole))
	for r := range byRole {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	for _, r := range roles {
		us := byRole[r]
		sort.Slice(us, func(i, j int) bool {
			return len(us[i].Login) < len(us[j].Login) || len(us[i].Login) == len(us[j].Login) && us[i].Login < us[j].Login
		})
		first := us[0]
		more := ""
		if len(us) > 1 {
			more = fmt.Sprintf("  (and %d more)", len(us)-1)
		}
		fmt.Fprintf(w, "  %-18s %-40s %s%s\n", r, first.Login, strings.Join(first.Roles, " "), more)
	}
	fmt.Fprintln(w)
}
