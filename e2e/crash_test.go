package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"sitroom/internal/bench"
	"sitroom/internal/db"
)

// crashPosts is the size of the fan-out the server is killed in.
const crashPosts = 1000

// TestSIGKILLDuringFanoutLosesNothing starts the real server on a store of
// 1,000 posts (every tenth with nobody on duty, so its delivery escalates at
// once), and in each round sends an alert to all of them while clients
// acknowledge concurrently (also late, for earlier rounds' alerts) and the
// test clock runs through deadlines and escalation levels; it SIGKILLs the
// process at a random moment (the first round while the alert is being
// written) and restarts it on the same store. At the end it runs every
// delivery past its last level and checks: every acknowledgement answered
// 200 is in the store; every alert answered 201 is, and every alert in the
// store has all 1,000 deliveries; no escalation step is recorded twice and
// none is missing; the audit chain verifies.
func TestSIGKILLDuringFanoutLosesNothing(t *testing.T) {
	for _, engine := range []db.Dialect{db.SQLite, db.Postgres} {
		t.Run(string(engine), func(t *testing.T) { crashRounds(t, engine) })
	}
}

// crashLog is what clients were told: only what was answered counts.
type crashLog struct {
	mu     sync.Mutex
	alerts []string            // answered 201
	acks   map[[2]string]bool  // (alert, post) answered 200
	clock  time.Time           // the latest instant the test clock was asked to show
	posts  map[string]struct{} // post ids of the fixture
}

func (l *crashLog) addAck(alertID, postID string) {
	l.mu.Lock()
	l.acks[[2]string{alertID, postID}] = true
	l.mu.Unlock()
}

func (l *crashLog) alertIDs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.alerts...)
}

func crashRounds(t *testing.T, engine db.Dialect) {
	dsn := dsnFor(t, engine)
	f := prepare(t, dsn, bench.FixtureOptions{Posts: crashPosts, At: epoch, Unstaffed: 10})
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	log := &crashLog{acks: map[[2]string]bool{}, clock: epoch}

	// Each round kills the server at a random moment of one phase: while
	// the alert's transaction is being written, during the
	// acknowledgements, while escalations are being worked, and anywhere.
	kills := []killAt{
		{phaseStart, 150 * time.Millisecond},
		{phaseAnswered, 300 * time.Millisecond},
		{phaseEscalating, 150 * time.Millisecond},
		{phaseStart, 3 * time.Second},
	}
	for round, k := range kills {
		s := startServer(t, dsn, log.clock, fmt.Sprintf("round%d", round))
		delay := time.Duration(rng.Int64N(int64(k.window)))
		crashRound(t, s, f, log, round, k.phase, delay, rng)
		t.Logf("round %d: killed %s after %s; alerts answered so far %d, acknowledgements answered %d",
			round, delay.Round(time.Millisecond), k.phase, len(log.alertIDs()), len(log.acks))
	}

	// Restart once more and let every timer run out.
	s := startServer(t, dsn, log.clock, "final")
	c := bench.NewClient(s.URL, 4)
	ctx := context.Background()
	end := log.clock.Add(2 * time.Hour)
	if _, err := c.MoveClock(ctx, f.Admin.Token, "", end); err != nil {
		t.Fatal(err)
	}
	d := openDB(t, dsn)
	waitFor(t, 60*time.Second, "every unacknowledged delivery missed", func() (bool, string) {
		n := count(t, d, `SELECT COUNT(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id
			WHERE a.state = 'open' AND d.acked_at IS NULL AND d.state <> 'missed'`)
		return n == 0, fmt.Sprintf("%d deliveries not yet missed", n)
	})

	// Every acknowledgement answered 200 is in the store.
	lost := 0
	for k := range log.acks {
		if count(t, d, "SELECT COUNT(*) FROM deliveries WHERE alert_id = ? AND post_id = ? AND acked_at IS NOT NULL", k[0], k[1]) != 1 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledgements answered 200 are not in the store", lost, len(log.acks))
	}
	// Every alert answered 201 is in the store; every alert in the store
	// has all its deliveries.
	for _, id := range log.alertIDs() {
		if count(t, d, "SELECT COUNT(*) FROM alerts WHERE id = ?", id) != 1 {
			t.Errorf("alert %s was answered 201 but is not in the store", id)
		}
	}
	rows, err := d.Query(ctx, "SELECT a.id, a.recipients, (SELECT COUNT(*) FROM deliveries d WHERE d.alert_id = a.id) FROM alerts a")
	if err != nil {
		t.Fatal(err)
	}
	alerts := 0
	for rows.Next() {
		var id string
		var recipients, n int
		if err := rows.Scan(&id, &recipients, &n); err != nil {
			t.Fatal(err)
		}
		alerts++
		if recipients != crashPosts || n != crashPosts {
			t.Errorf("alert %s: %d recipients, %d deliveries; want %d", id, recipients, n, crashPosts)
		}
	}
	rows.Close()
	if alerts < len(log.alertIDs()) {
		t.Errorf("%d alerts in the store, %d answered 201", alerts, len(log.alertIDs()))
	}
	// Every unacknowledged delivery reached the last level, once each.
	if n := count(t, d, "SELECT COUNT(*) FROM deliveries WHERE acked_at IS NULL AND (state <> 'missed' OR escalation_level <> ?)", lastLevel); n > 0 {
		t.Errorf("%d unacknowledged deliveries did not run through every level to missed", n)
	}
	checkSteps(t, d)
	t.Logf("%d alerts, %d deliveries (%d acknowledged, %d missed), %d escalation steps",
		alerts, count(t, d, "SELECT COUNT(*) FROM deliveries"), count(t, d, "SELECT COUNT(*) FROM deliveries WHERE acked_at IS NOT NULL"),
		count(t, d, "SELECT COUNT(*) FROM deliveries WHERE state = 'missed'"), count(t, d, "SELECT COUNT(*) FROM delivery_steps WHERE kind = 'escalated'"))

	if err := s.Stop(15 * time.Second); err != nil {
		t.Errorf("the final server did not stop cleanly: %v", err)
	}
	auditVerify(t, dsn)
}

type phase string

const (
	phaseStart      phase = "the traffic began"
	phaseAnswered   phase = "the alert was answered 201"
	phaseEscalating phase = "the clock passed the deadline"
)

type killAt struct {
	phase  phase
	window time.Duration
}

// crashRound runs one round of traffic against s and kills s delay after
// the phase begins.
func crashRound(t *testing.T, s *bench.Server, f *bench.Fixture, log *crashLog, round int, at phase, delay time.Duration, rng *rand.Rand) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := bench.NewClient(s.URL, 16)
	earlier := log.alertIDs()
	sent := make(chan string, 1)
	var wg sync.WaitGroup

	// What the clients will do, drawn before the traffic starts (rng is
	// not safe for concurrent use).
	order := rng.Perm(len(f.Posts))
	toAck := order[:len(order)/2]
	type late struct {
		alert string
		post  int
	}
	var lates []late
	for _, a := range earlier {
		for _, p := range rng.Perm(len(f.Posts))[:40] {
			lates = append(lates, late{a, p})
		}
	}

	phases := map[phase]chan struct{}{phaseStart: make(chan struct{}), phaseAnswered: make(chan struct{}), phaseEscalating: make(chan struct{})}
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		select {
		case <-phases[at]:
		case <-time.After(10 * time.Second):
			t.Logf("round %d: %s never happened; killing anyway", round, at)
		}
		time.Sleep(delay)
		s.Kill()
	}()
	close(phases[phaseStart])

	// The alert.
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(sent)
		al, err := c.SendAlert(ctx, f.Centre.Token, f, fmt.Sprintf("crash round %d", round), 60)
		if err != nil {
			return
		}
		log.mu.Lock()
		log.alerts = append(log.alerts, al.ID)
		log.mu.Unlock()
		close(phases[phaseAnswered])
		sent <- al.ID
	}()
	// waitAlert waits for the alert's id; false when it was not sent.
	var idOnce sync.Once
	var id string
	idReady := make(chan struct{})
	waitAlert := func() (string, bool) {
		idOnce.Do(func() {
			go func() {
				select {
				case id = <-sent:
				case <-ctx.Done():
				}
				close(idReady)
			}()
		})
		<-idReady
		return id, id != ""
	}

	// Acknowledgements of this round's alert by half the posts, and late
	// ones of earlier alerts, from 8 clients.
	work := make(chan func())
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fn := range work {
				fn()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(work)
		feed := func(fn func()) bool {
			select {
			case work <- fn:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for _, l := range lates {
			p := f.Posts[l.post]
			if !feed(func() {
				if c.Ack(ctx, p.Token, l.alert, p.PostID) == nil {
					log.addAck(l.alert, p.PostID)
				}
			}) {
				return
			}
		}
		id, ok := waitAlert()
		if !ok {
			return
		}
		for _, i := range toAck {
			p := f.Posts[i]
			if !feed(func() {
				if c.Ack(ctx, p.Token, id, p.PostID) == nil {
					log.addAck(id, p.PostID)
				}
			}) {
				return
			}
		}
	}()

	// The clock: through the deadline (60 s), level 2 (5 min later) and
	// the miss (5 min after that), 20 s at a time.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, ok := waitAlert(); !ok {
			return
		}
		log.mu.Lock()
		to := log.clock
		log.mu.Unlock()
		deadline := to.Add(60 * time.Second)
		stop := to.Add(12 * time.Minute)
		passed := false
		for to.Before(stop) && ctx.Err() == nil {
			to = to.Add(20 * time.Second)
			log.mu.Lock()
			log.clock = to
			log.mu.Unlock()
			if _, err := c.MoveClock(ctx, f.Admin.Token, "", to); err != nil {
				return
			}
			if !passed && !to.Before(deadline) {
				passed = true
				close(phases[phaseEscalating])
			}
			time.Sleep(25 * time.Millisecond)
		}
	}()

	<-killed
	cancel()
	wg.Wait()
}
