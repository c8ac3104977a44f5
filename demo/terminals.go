package demo

import (
	"context"
	"log/slog"
	"time"

	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/presence"
	"sitroom/internal/users"
)

// TerminalDeps are what the simulated duty desks' screens need.
type TerminalDeps struct {
	DB       *db.DB
	Clock    clock.Clock
	Log      *slog.Logger
	Users    *users.Store
	Duty     *duty.Store
	Presence *presence.Store
}

// DarkPosts are the demo posts whose simulated screen is never on, so the
// demo board also shows what a silent, unconnected post looks like.
var DarkPosts = []string{"KG-MES-CP", "TJ-MOD-CP"}

// RunTerminals keeps the simulated duty desks "connected": every 15 s the
// officer on duty at each demo post (but DarkPosts) reports a heartbeat for
// it, exactly as a real duty desk's page does, through the presence store.
// Only `sitroom demo` runs it.
func RunTerminals(ctx context.Context, d TerminalDeps) {
	for {
		if err := beatOnce(ctx, d); err != nil && ctx.Err() == nil {
			d.Log.Debug("simulated terminals: heartbeat failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-d.Clock.Changed():
		case <-time.After(presence.Interval):
		}
	}
}

func beatOnce(ctx context.Context, d TerminalDeps) error {
	dark := map[string]bool{}
	for _, c := range DarkPosts {
		dark[c] = true
	}
	rows, err := d.DB.Query(ctx, "SELECT id, code FROM posts WHERE kind = 'ministry' AND (active_to IS NULL OR active_to > ?)", d.Clock.Now())
	if err != nil {
		return err
	}
	var ids []string
	codes := map[string]string{}
	for rows.Next() {
		var id, code string
		if err := rows.Scan(&id, &code); err != nil {
			rows.Close()
			return err
		}
		if !dark[code] {
			ids = append(ids, id)
			codes[id] = code
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	on, err := d.Duty.OnDutySystem(ctx, d.DB, ids, d.Clock.Now())
	if err != nil {
		return err
	}
	sys := auth.With(ctx, auth.System("demo"))
	for post, es := range on {
		for _, e := range es {
			if e.UserID == "" {
				continue
			}
			a, err := d.Users.ActorForUser(sys, e.UserID)
			if err != nil {
				break
			}
			a.SessionID = "demo-terminal-" + codes[post]
			if _, err := d.Presence.Beat(auth.With(ctx, a), []string{post}); err != nil {
				d.Log.Debug("simulated terminal: beat refused", "post", codes[post], "err", err)
			}
			break
		}
	}
	return nil
}
