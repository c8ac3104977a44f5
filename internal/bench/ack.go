package bench

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// AckOptions shape an acknowledgement run.
type AckOptions struct {
	Options
	Acks        int // deliveries to acknowledge (one alert to this many posts)
	Concurrency int // clients acknowledging at once
}

// AckResult is the outcome; its JSON is the last line of the command.
type AckResult struct {
	PerSecond   float64           `json:"per_second"`
	P50ms       float64           `json:"p50_ms"`
	P99ms       float64           `json:"p99_ms"`
	MaxMs       float64           `json:"max_ms"`
	Acks        int               `json:"acks"`
	Concurrency int               `json:"concurrency"`
	Errors      int               `json:"errors"`
	InDatabase  *int              `json:"acknowledged_in_database,omitempty"`
	Settings    map[string]string `json:"settings"`
	Durable     bool              `json:"durable"`
}

// Ack runs the acknowledgement benchmark: one alert to Acks posts, then
// Concurrency clients acknowledge every delivery, each with the token bound
// to that delivery's post (the only kind of token that may). Every answer
// comes after the acknowledgement's commit.
func Ack(ctx context.Context, o AckOptions) (*AckResult, error) {
	if o.Acks <= 0 || o.Concurrency <= 0 {
		return nil, fmt.Errorf("--acks and --concurrency must be at least 1")
	}
	t, err := Setup(ctx, o.Options, FixtureOptions{Posts: o.Acks}, o.Concurrency+2)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	posts := t.Fixture.Posts[:o.Acks]
	al, err := t.Client.SendAlert(ctx, t.Fixture.Centre.Token, t.Fixture, "bench acknowledgements", 3600)
	if err != nil {
		return nil, fmt.Errorf("send the alert: %w", err)
	}
	o.progress("alert %s sent to %d posts; %d clients acknowledge", al.ID, o.Acks, o.Concurrency)

	if t.PID > 0 && !WaitQuiet(t.PID, 30*time.Second) {
		o.progress("note: the server did not go quiet after the send; measuring anyway")
	}
	// Open the clients' connections first, so the run measures answers,
	// not TCP handshakes.
	var warm sync.WaitGroup
	for c := 0; c < o.Concurrency; c++ {
		warm.Add(1)
		go func(c int) {
			defer warm.Done()
			_ = t.Client.Do(ctx, "GET", "/healthz", "", nil, nil)
		}(c)
	}
	warm.Wait()

	lat := make([]time.Duration, o.Acks)
	var next atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < o.Concurrency; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(posts) {
					return
				}
				t0 := time.Now()
				err := t.Client.Ack(ctx, posts[i].Token, al.ID, posts[i].PostID)
				lat[i] = time.Since(t0)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := &AckResult{Acks: o.Acks, Concurrency: o.Concurrency, Errors: int(errs.Load()), Settings: t.Settings}
	res.Durable, _ = Durability(t.Settings)
	res.PerSecond = float64(int64(float64(o.Acks)/elapsed.Seconds()*10)) / 10
	res.P50ms, res.P99ms, res.MaxMs = ms(Percentile(lat, 50)), ms(Percentile(lat, 99)), ms(Percentile(lat, 100))
	if e := firstErr.Load(); e != nil {
		o.progress("first error: %s", e)
	}
	if t.DB != nil {
		var n int
		if err := t.DB.QueryRow(ctx, "SELECT COUNT(*) FROM deliveries WHERE alert_id = ? AND acked_at IS NOT NULL", al.ID).Scan(&n); err == nil {
			res.InDatabase = &n
		}
	}
	return res, nil
}

// WriteAck prints the human summary.
func WriteAck(w io.Writer, r *AckResult) {
	fmt.Fprintf(w, "acknowledgements: %d from %d concurrent clients, %d errors\n", r.Acks, r.Concurrency, r.Errors)
	fmt.Fprintf(w, "  %.0f per second; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.PerSecond, r.P50ms, r.P99ms, r.MaxMs)
	if r.InDatabase != nil {
		fmt.Fprintf(w, "  acknowledged in the database afterwards: %d\n", *r.InDatabase)
		if *r.InDatabase != r.Acks-r.Errors {
			fmt.Fprintf(w, "!!! %d answered 200 but %d are in the database\n", r.Acks-r.Errors, *r.InDatabase)
		}
	}
	writeSettings(w, r.Settings)
}
