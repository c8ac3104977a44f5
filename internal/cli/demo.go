package cli

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"sitroom/demo"
	"sitroom/internal/app"
	"sitroom/internal/config"
	"sitroom/internal/directory"
)

// runDemo fills an empty database with the demo organisation, its duty
// rosters and readiness checks, prints how to get in, then serves like
// `serve` — with the demo's simulated duty officers, which never run under
// `serve`.
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
	// The hub starts from here: the simulated officers read every alert
	// sent after it, the start-up check below included.
	after := a.Hub.Position()
	seeded, err := demo.Seed(ctx, a.Directory, a.Users)
	if err != nil {
		return err
	}
	isDemo, err := demo.InStore(ctx, a.Directory)
	if err != nil {
		return err
	}
	var rosters *demo.RosterReport
	if isDemo {
		if rosters, err = demo.SeedRosters(ctx, a.Clock, a.Directory, a.Duty); err != nil {
			return err
		}
		if len(rosters.Posts) > 0 {
			log.Info("demo rosters written", "posts", len(rosters.Posts), "rotations", rosters.Rotations,
				"gap_post", demo.GapPost, "gap", rosters.Gap, "escalation_path_post", rosters.Path)
		}
		// Readiness checks decorate the demo; one that cannot be scheduled
		// (e.g. every post archived by a demo user) does not stop it.
		if _, err := demo.SeedReadiness(ctx, a.Directory, a.Readiness, seeded.Fresh); err != nil {
			log.Warn("demo readiness checks not scheduled", "err", err)
		}
		life := demo.NewLife(demo.LifeDeps{DB: a.DB, Clock: a.Clock, Log: log, Alerts: a.Alerts, Users: a.Users, Duty: a.Duty},
			demo.LifeOptions{Seed: 1, After: after})
		a.Events.AlsoWake(life.Poke)
		a.AddLoop(life.Run)
		a.AddLoop(func(ctx context.Context) {
			demo.RunTerminals(ctx, demo.TerminalDeps{DB: a.DB, Clock: a.Clock, Log: log, Users: a.Users, Duty: a.Duty, Presence: a.Presence})
		})
	} else {
		log.Warn("this database does not hold the demo organisation: no demo rosters, readiness checks or simulated duty officers")
	}
	return a.Run(ctx, func(addr string) {
		banner(env.Stdout, c, addr, seeded, rosters)
	})
}

// banner prints the URL and the demo logins, one per role first.
func banner(w io.Writer, c *config.Config, addr string, s *demo.Seeded, r *demo.RosterReport) {
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
	if r != nil {
		fmt.Fprintln(w, "  Simulated duty officers at the posts acknowledge alerts: most within a minute, some late, a few never.")
	}
	if r != nil && r.Gap != nil {
		fmt.Fprintf(w, "  The rosters leave %s with nobody on duty from %s (see the gaps report).\n", demo.GapPost, r.Gap.Start.Format(time.RFC3339))
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
