package app

import (
	"context"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/events"
)

// roster adapts the duty rosters to what alerts need, so neither domain
// package imports the other.
type roster struct{ d *duty.Store }

func (r roster) OnDutyAt(ctx context.Context, q db.Querier, ids []string, at time.Time) (map[string][]alert.OnDuty, error) {
	m, err := r.d.OnDutySystem(ctx, q, ids, at)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]alert.OnDuty, len(m))
	for post, es := range m {
		for _, e := range es {
			out[post] = append(out[post], alert.OnDuty{PersonID: e.PersonID, Name: e.Name.EN, UserID: e.UserID, Login: e.Login, Slot: string(e.Slot)})
		}
	}
	return out, nil
}

func (r roster) IsOnDuty(ctx context.Context, q db.Querier, personID, postID string, at time.Time) (bool, error) {
	return r.d.IsOnDuty(ctx, q, personID, postID, at)
}

func (r roster) Levels(ctx context.Context, q db.Querier, ids []string, level int, at time.Time) (map[string]alert.Level, error) {
	m, err := r.d.ResolveSteps(ctx, q, ids, level, at)
	if err != nil {
		return nil, err
	}
	out := make(map[string]alert.Level, len(m))
	for post, st := range m {
		l := alert.Level{Exists: st.Exists, After: st.Delay}
		for _, p := range st.Recipients {
			l.People = append(l.People, alert.Recipient{PersonID: p.PersonID, UserID: p.UserID, Login: p.Login, Name: p.Name.EN, Email: p.Email, Phone: p.Phone})
		}
		out[post] = l
	}
	return out, nil
}

// audienceResolver tells the hub which posts (and states) an alert or a
// post audience covers.
func audienceResolver(d *db.DB) events.Resolver {
	return func(ctx context.Context, kind, id string) (events.Scope, error) {
		s := events.Scope{Posts: map[string]bool{}, States: map[string]bool{}}
		var q string
		switch kind {
		case "alert":
			q = "SELECT d.post_id, COALESCE(p.state_id, '') FROM deliveries d JOIN posts p ON p.id = d.post_id WHERE d.alert_id = ?"
		case "post":
			q = "SELECT id, COALESCE(state_id, '') FROM posts WHERE id = ?"
		default:
			return s, nil
		}
		rows, err := d.Query(ctx, q, id)
		if err != nil {
			return s, err
		}
		defer rows.Close()
		for rows.Next() {
			var p, st string
			if err := rows.Scan(&p, &st); err != nil {
				return s, err
			}
			s.Posts[p] = true
			if st != "" {
				s.States[st] = true
			}
		}
		return s, rows.Err()
	}
}
