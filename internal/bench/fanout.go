package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FanoutOptions shape a fan-out run.
type FanoutOptions struct {
	Options
	Subscribers int           // streams, one per post officer
	Alerts      int           // measured alerts (default 20)
	Warmup      int           // alerts sent and awaited before measuring (default 2)
	Interval    time.Duration // between measured alerts (default 1s)
	// Wait is how long to wait for the last receptions (default 30s).
	Wait time.Duration
	// DialConcurrency bounds stream connections being opened at once.
	DialConcurrency int
}

// FanoutResult is the outcome; its JSON is the last line of the command.
type FanoutResult struct {
	P50ms             float64           `json:"p50_ms"`
	P99ms             float64           `json:"p99_ms"`
	MaxMs             float64           `json:"max_ms"`
	CPUusPerDelivery  *float64          `json:"cpu_us_per_delivery"`
	ClientCPUus       float64           `json:"client_cpu_us_per_delivery"`
	RSSPeakMB         *float64          `json:"rss_peak_mb"`
	Subscribers       int               `json:"subscribers"`
	Alerts            int               `json:"alerts"`
	Receptions        int               `json:"receptions"`
	Missing           int               `json:"missing"`
	CreateP50ms       float64           `json:"create_answer_p50_ms"`
	FirstReceptionP50 float64           `json:"first_reception_p50_ms"`
	Settings          map[string]string `json:"settings"`
	Durable           bool              `json:"durable"`
}

const fanoutTitle = "bench fan-out #"

// Fanout runs the fan-out benchmark.
func Fanout(ctx context.Context, o FanoutOptions) (*FanoutResult, error) {
	if o.Subscribers <= 0 {
		return nil, fmt.Errorf("--subscribers must be at least 1")
	}
	if o.Alerts <= 0 {
		o.Alerts = 20
	}
	if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.DialConcurrency <= 0 {
		o.DialConcurrency = 64
	}
	t, err := Setup(ctx, o.Options, FixtureOptions{Posts: o.Subscribers}, 4)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	n, total := o.Subscribers, o.Warmup+o.Alerts
	subs := t.Fixture.Posts[:n]

	base := time.Now()
	since := func() int64 { return int64(time.Since(base)) }
	recv := make([]int64, total*n) // [alert][subscriber] → ns since base, 0: not yet
	counts := make([]atomic.Int64, total)
	complete := make([]chan struct{}, total)
	for i := range complete {
		complete[i] = make(chan struct{})
	}
	var unexpected atomic.Int64
	title := []byte(`"title":"` + fanoutTitle)
	fleet, err := NewFleet(2, func(i int, ev Event) {
		at := since()
		k, ok := benchAlert(ev, title, total)
		if !ok {
			unexpected.Add(1)
			return
		}
		if atomic.CompareAndSwapInt64(&recv[k*n+i], 0, at) {
			if counts[k].Add(1) == int64(n) {
				close(complete[k])
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer fleet.Close()
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()

	// Connect every subscriber.
	o.progress("opening %d streams…", n)
	dialStart := time.Now()
	sem := make(chan struct{}, o.DialConcurrency)
	var dialWG sync.WaitGroup
	var dialErr error
	var dialMu sync.Mutex
	for i := range subs {
		sem <- struct{}{}
		dialWG.Add(1)
		go func(i int) {
			defer dialWG.Done()
			defer func() { <-sem }()
			dctx, cancel := context.WithTimeout(readCtx, 60*time.Second)
			s, err := DialStream(dctx, t.Addr, "/api/v1/stream", subs[i].Token, -1)
			cancel()
			if err != nil {
				dialMu.Lock()
				if dialErr == nil {
					dialErr = fmt.Errorf("stream of %s: %w", subs[i].PostCode, err)
				}
				dialMu.Unlock()
				return
			}
			if err := fleet.Add(i, s); err != nil {
				s.Close()
				dialMu.Lock()
				if dialErr == nil {
					dialErr = err
				}
				dialMu.Unlock()
			}
		}(i)
		dialMu.Lock()
		failed := dialErr != nil
		dialMu.Unlock()
		if failed {
			break
		}
	}
	dialWG.Wait()
	if dialErr != nil {
		return nil, dialErr
	}
	o.progress("%d streams open in %s", n, time.Since(dialStart).Round(time.Millisecond))
	if t.PID > 0 {
		if rss, err := RSS(t.PID); err == nil {
			o.progress("server RSS with %d streams open: %.1f MB", n, float64(rss)/(1<<20))
		}
	}
	if m, err := t.Client.Metrics(ctx, "go_memstats_heap_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes",
		"go_memstats_stack_inuse_bytes", "go_memstats_sys_bytes", "go_goroutines"); err == nil && len(m) > 0 {
		mb := func(k string) float64 { return m[k] / (1 << 20) }
		o.progress("server Go memory: heap in use %.1f MB, idle %.1f MB (released %.1f MB), stacks %.1f MB, from the OS %.1f MB; %.0f goroutines",
			mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes"), mb("go_memstats_heap_released_bytes"),
			mb("go_memstats_stack_inuse_bytes"), mb("go_memstats_sys_bytes"), m["go_goroutines"])
	}
	if t.Server != nil && o.Profiling {
		t.Server.HeapProfile()
	}

	sent := make([]int64, total)
	answered := make([]int64, total)
	send := func(k int) error {
		sent[k] = since()
		_, err := t.Client.SendAlert(ctx, t.Fixture.Centre.Token, t.Fixture, fanoutTitle+strconv.Itoa(k), 3600)
		answered[k] = since()
		return err
	}
	wait := func(k int, limit time.Duration) bool {
		select {
		case <-complete[k]:
			return true
		case <-time.After(limit):
			return false
		case <-ctx.Done():
			return false
		}
	}
	for k := 0; k < o.Warmup; k++ {
		if err := send(k); err != nil {
			return nil, fmt.Errorf("warm-up alert: %w", err)
		}
		if !wait(k, o.Wait) {
			return nil, fmt.Errorf("warm-up alert %d reached %d of %d subscribers within %s", k, counts[k].Load(), n, o.Wait)
		}
	}
	o.progress("warm-up done; sending %d alerts %s apart", o.Alerts, o.Interval)

	var cpu0 time.Duration
	if t.PID > 0 {
		cpu0, _ = CPUTime(t.PID)
	}
	self0 := SelfCPUTime()
	start := time.Now()
	var sendErr error
	for j := 0; j < o.Alerts; j++ {
		k := o.Warmup + j
		if d := time.Until(start.Add(time.Duration(j) * o.Interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err := send(k); err != nil {
			sendErr = fmt.Errorf("alert %d: %w", j, err)
			break
		}
	}
	if sendErr != nil {
		return nil, sendErr
	}
	deadline := time.Now().Add(o.Wait)
	for k := o.Warmup; k < total; k++ {
		wait(k, time.Until(deadline))
	}
	end := since()
	res := &FanoutResult{Subscribers: n, Alerts: o.Alerts, Settings: t.Settings}
	res.ClientCPUus = float64(int64(float64(SelfCPUTime()-self0)/float64(time.Microsecond)/float64(n*o.Alerts)*100)) / 100
	res.Durable, _ = Durability(t.Settings)
	if t.PID > 0 {
		if cpu1, err := CPUTime(t.PID); err == nil {
			v := float64(cpu1-cpu0) / float64(time.Microsecond) / float64(n*o.Alerts)
			v = float64(int64(v*100)) / 100
			res.CPUusPerDelivery = &v
		}
		if rss, err := PeakRSS(t.PID); err == nil {
			v := float64(rss) / (1 << 20)
			v = float64(int64(v*10)) / 10
			res.RSSPeakMB = &v
		}
	}
	var lat, creates, firsts []time.Duration
	for k := o.Warmup; k < total; k++ {
		creates = append(creates, time.Duration(answered[k]-sent[k]))
		first := int64(0)
		for i := 0; i < n; i++ {
			r := atomic.LoadInt64(&recv[k*n+i])
			if r == 0 || r > end {
				res.Missing++
				continue
			}
			lat = append(lat, time.Duration(r-sent[k]))
			if first == 0 || r < first {
				first = r
			}
		}
		if first > 0 {
			firsts = append(firsts, time.Duration(first-sent[k]))
		}
	}
	res.Receptions = len(lat)
	res.P50ms, res.P99ms, res.MaxMs = ms(Percentile(lat, 50)), ms(Percentile(lat, 99)), ms(Percentile(lat, 100))
	res.CreateP50ms, res.FirstReceptionP50 = ms(Percentile(creates, 50)), ms(Percentile(firsts, 50))
	if u := unexpected.Load(); u > 0 {
		o.progress("note: %d events other than the bench's alerts arrived (e.g. delivery.updated)", u)
	}
	return res, nil
}

// benchAlert tells which bench alert (by its number k < total) ev announces.
func benchAlert(ev Event, title []byte, total int) (int, bool) {
	if !bytes.Equal(ev.Type, []byte("alert.created")) {
		return 0, false
	}
	j := bytes.Index(ev.Data, title)
	if j < 0 {
		return 0, false
	}
	rest := ev.Data[j+len(title):]
	e := bytes.IndexByte(rest, '"')
	k, err := strconv.Atoi(string(rest[:max(e, 0)]))
	if err != nil || k < 0 || k >= total {
		return 0, false
	}
	return k, true
}

// WriteFanout prints the human summary.
func WriteFanout(w io.Writer, r *FanoutResult) {
	fmt.Fprintf(w, "fan-out: %d alerts to %d subscribers (%d receptions, %d missing)\n", r.Alerts, r.Subscribers, r.Receptions, r.Missing)
	fmt.Fprintf(w, "  latency create-sent → event read: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.P50ms, r.P99ms, r.MaxMs)
	fmt.Fprintf(w, "  create answered after (p50): %.1f ms; first subscriber reached after (p50): %.1f ms\n", r.CreateP50ms, r.FirstReceptionP50)
	if r.CPUusPerDelivery != nil {
		fmt.Fprintf(w, "  server CPU per delivery: %.2f µs (the load generator beside it: %.2f µs)\n", *r.CPUusPerDelivery, r.ClientCPUus)
	}
	if r.RSSPeakMB != nil {
		fmt.Fprintf(w, "  server peak RSS (VmHWM): %.1f MB\n", *r.RSSPeakMB)
	}
	writeSettings(w, r.Settings)
	if r.Missing > 0 {
		fmt.Fprintf(w, "!!! %d receptions MISSING: an event did not reach every subscriber\n", r.Missing)
	}
}

func writeSettings(w io.Writer, s map[string]string) {
	fmt.Fprintf(w, "  durability settings: %v\n", s)
	if ok, why := Durability(s); !ok {
		fmt.Fprintln(w, Warning(why))
	}
}
