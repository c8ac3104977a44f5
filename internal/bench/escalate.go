package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// EscalateOptions shape an escalation run.
type EscalateOptions struct {
	Options
	Deadlines int           // deliveries whose deadlines fall in the same second
	Wait      time.Duration // how long to wait for every step (default 60s)
}

// EscalateResult is the outcome; its JSON is the last line of the command.
type EscalateResult struct {
	P50ms     float64           `json:"p50_ms"`
	P99ms     float64           `json:"p99_ms"`
	MaxMs     float64           `json:"max_ms"`
	Deadlines int               `json:"deadlines"`
	Steps     int               `json:"steps_seen"`
	Missing   int               `json:"missing"`
	InDB      *int              `json:"steps_in_database,omitempty"`
	Repeated  *int              `json:"steps_repeated,omitempty"`
	Settings  map[string]string `json:"settings"`
	Durable   bool              `json:"durable"`
}

// Escalate runs the escalation benchmark on a test-mode server: one alert
// to Deadlines posts (every one staffed, so every deadline is the alert's),
// nobody acknowledges, the test clock is set to the deadline, and a centre
// stream times each delivery.updated event that carries escalation level 1.
// Latency counts from the moment the clock request was sent (the due
// instant, as the server sees it, comes a little later: the move is audited
// first), so it overstates rather than flatters.
func Escalate(ctx context.Context, o EscalateOptions) (*EscalateResult, error) {
	if o.Deadlines <= 0 {
		return nil, fmt.Errorf("--deadlines must be at least 1")
	}
	if o.Wait <= 0 {
		o.Wait = 60 * time.Second
	}
	at := time.Now().UTC().Truncate(time.Second)
	if o.DB != "" {
		o.ServerEnv = append(o.ServerEnv, "SITROOM_TEST_MODE=1")
		o.ServerArgs = append(o.ServerArgs, "--test-clock", at.Format(time.RFC3339))
	}
	t, err := Setup(ctx, o.Options, FixtureOptions{Posts: o.Deadlines, At: at}, 4)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	n := o.Deadlines

	st, err := DialStream(ctx, t.Addr, "/api/v1/stream", t.Fixture.Centre.Token, -1)
	if err != nil {
		return nil, fmt.Errorf("centre stream: %w", err)
	}
	defer st.Close()
	al, err := t.Client.SendAlert(ctx, t.Fixture.Centre.Token, t.Fixture, "bench escalation", 30)
	if err != nil {
		return nil, fmt.Errorf("send the alert: %w", err)
	}
	o.progress("alert %s to %d posts, deadline %s (test clock)", al.ID, n, al.DeadlineAt.Format(time.RFC3339))
	// One reader keeps the stream drained throughout (a stream that stops
	// reading is dropped by the server), noting when each delivery's first
	// escalation step arrives.
	var mu sync.Mutex
	seen := map[string]time.Time{}
	created := make(chan struct{})
	all := make(chan struct{})
	go func() {
		var d struct {
			ID              string `json:"id"`
			AlertID         string `json:"alert_id"`
			EscalationLevel int    `json:"escalation_level"`
		}
		gotAlert := false
		for {
			ev, err := st.Next()
			if err != nil {
				return
			}
			at := time.Now()
			switch string(ev.Type) {
			case "alert.created":
				if !gotAlert && bytes.Contains(ev.Data, []byte(al.ID)) {
					gotAlert = true
					close(created)
				}
			case "delivery.updated":
				d.ID, d.AlertID, d.EscalationLevel = "", "", 0
				if json.Unmarshal(ev.Data, &d) != nil || d.AlertID != al.ID || d.EscalationLevel < 1 {
					continue
				}
				mu.Lock()
				if _, ok := seen[d.ID]; !ok {
					seen[d.ID] = at
					if len(seen) == n {
						close(all)
					}
				}
				mu.Unlock()
			}
		}
	}()
	select {
	case <-created:
	case <-time.After(o.Wait):
		return nil, fmt.Errorf("the alert did not come through the centre stream within %s", o.Wait)
	}
	if t.PID > 0 && !WaitQuiet(t.PID, 30*time.Second) {
		o.progress("note: the server did not go quiet after the send; measuring anyway")
	}
	mu.Lock()
	early := len(seen)
	mu.Unlock()
	if early > 0 {
		return nil, fmt.Errorf("%d deliveries escalated before their deadline", early)
	}
	t0 := time.Now()
	if _, err := t.Client.MoveClock(ctx, t.Fixture.Admin.Token, "", al.DeadlineAt); err != nil {
		return nil, fmt.Errorf("move the test clock to the deadline: %w", err)
	}
	select {
	case <-all:
	case <-time.After(o.Wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	lat := make([]time.Duration, 0, len(seen))
	for _, at := range seen {
		lat = append(lat, at.Sub(t0))
	}
	res := &EscalateResult{Deadlines: n, Steps: len(seen), Missing: n - len(seen), Settings: t.Settings}
	res.Durable, _ = Durability(t.Settings)
	res.P50ms, res.P99ms, res.MaxMs = ms(Percentile(lat, 50)), ms(Percentile(lat, 99)), ms(Percentile(lat, 100))
	if t.DB != nil {
		var steps, repeated int
		if err := t.DB.QueryRow(ctx, "SELECT COUNT(*) FROM delivery_steps WHERE alert_id = ? AND kind = 'escalated' AND level = 1", al.ID).Scan(&steps); err == nil {
			res.InDB = &steps
		}
		if err := t.DB.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT delivery_id, level FROM delivery_steps WHERE alert_id = ? AND kind = 'escalated'
			GROUP BY delivery_id, level HAVING COUNT(*) > 1) x`, al.ID).Scan(&repeated); err == nil {
			res.Repeated = &repeated
		}
	}
	return res, nil
}

// WriteEscalate prints the human summary.
func WriteEscalate(w io.Writer, r *EscalateResult) {
	fmt.Fprintf(w, "escalation: %d deadlines in the same second; %d level-1 steps seen on a centre stream, %d missing\n", r.Deadlines, r.Steps, r.Missing)
	fmt.Fprintf(w, "  due → committed step seen: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50ms, r.P99ms, r.MaxMs)
	if r.InDB != nil && r.Repeated != nil {
		fmt.Fprintf(w, "  level-1 steps in the database: %d; repeated steps: %d\n", *r.InDB, *r.Repeated)
	}
	writeSettings(w, r.Settings)
	if r.Missing > 0 {
		fmt.Fprintf(w, "!!! %d deliveries showed no escalation step within the wait\n", r.Missing)
	}
}
