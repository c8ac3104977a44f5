package notify

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

// Retry schedule.
const (
	firstBackoff = time.Second
	maxBackoff   = time.Hour
	// DefaultMaxAge is how long a message may keep failing before it is dead.
	DefaultMaxAge = 24 * time.Hour
	// WebhookTimeout bounds one webhook call.
	WebhookTimeout = 10 * time.Second
)

// Backoff is the wait after the n-th failed attempt (n ≥ 1): 1 s, 2 s,
// 4 s … doubling up to 1 h.
func Backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// SenderOptions configure a Sender.
type SenderOptions struct {
	// From is the e-mail sender ("Name <address>" or an address).
	From string
	// Mailer sends e-mails; nil leaves e-mails queued (no SMTP configured).
	Mailer Mailer
	// HTTP calls webhooks (default: 10 s timeout, redirects not followed).
	HTTP *http.Client
	// Workers send in parallel (default 4); each claims Batch rows at a
	// time (default 5) under a lease of Lease (default 2 min). A row whose
	// lease runs out (its sender died) is due again.
	Workers int
	Batch   int
	Lease   time.Duration
	// SafetyTick is the slow fallback wake-up (default 1 min); the sender
	// otherwise wakes on Poke, on NOTIFY (PostgreSQL) and at the next due
	// time.
	SafetyTick time.Duration
	// MaxAge is how long a message fails before it is dead (default 24 h).
	MaxAge time.Duration
	// Registry registers the sender's counters (may be nil).
	Registry prometheus.Registerer
}

// Sender works the outbound queue. Several may run (replicas): each claims
// its own rows.
type Sender struct {
	n     *Notifier
	log   *slog.Logger
	o     SenderOptions
	from  *mail.Address
	owner string
	kinds []any

	sent, failures, dead *prometheus.CounterVec

	// crashAfterSend, when set and true for a message, makes the sender
	// stop between sending it and recording the outcome, as a crash would
	// (tests).
	crashAfterSend func(id string) bool
}

// NewSender returns a sender for n's queue.
func NewSender(n *Notifier, log *slog.Logger, o SenderOptions) (*Sender, error) {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Batch <= 0 {
		o.Batch = 5
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.SafetyTick <= 0 {
		o.SafetyTick = time.Minute
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: WebhookTimeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	s := &Sender{n: n, log: log, o: o, owner: db.NewID(), kinds: []any{KindWebhook}}
	if o.Mailer != nil {
		from, err := mail.ParseAddress(o.From)
		if err != nil {
			return nil, fmt.Errorf("e-mail sender address %q: %w", o.From, err)
		}
		s.from = from
		s.kinds = append(s.kinds, KindEmail)
	}
	lbl := []string{"kind"}
	s.sent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitroom_notify_sent_total", Help: "Off-line messages sent (e-mail accepted with 250, webhook answered 2xx)."}, lbl)
	s.failures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitroom_notify_failures_total", Help: "Failed attempts to send off-line messages (each is retried)."}, lbl)
	s.dead = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sitroom_notify_dead_total", Help: "Off-line messages given up after failing for the maximum age."}, lbl)
	if o.Registry != nil {
		o.Registry.MustRegister(s.sent, s.failures, s.dead)
	}
	return s, nil
}

// Poke wakes the sender (non-blocking).
func (s *Sender) Poke() { s.n.PokeSender() }

// Run sends until ctx ends. It wakes when a commit queued rows, at the next
// due time, when the clock is moved, and on a slow safety tick.
func (s *Sender) Run(ctx context.Context) {
	go s.n.db.Listen(ctx, wakeChannel, s.n.PokeSender, s.log)
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("notification sender failed; retrying", "err", err)
		}
		wait := s.o.SafetyTick
		next, err := s.nextDue(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Error("notification sender cannot read the queue", "err", err)
			}
			wait = time.Second
		case next != nil:
			wait = min(wait, max(next.Sub(s.n.clock.Now()), 0))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.n.sendWake:
		case <-s.n.clock.Changed():
		case <-t.C:
		}
		t.Stop()
	}
}

// The status literals below are spelled out (not bound) so that both
// engines can use the partial index notify_outbound_due.
func (s *Sender) nextDue(ctx context.Context) (*time.Time, error) {
	var t db.NullTime
	err := s.n.db.QueryRow(ctx, "SELECT MIN(next_attempt_at) FROM notify_outbound WHERE status IN ('pending', 'sending') AND kind IN ("+ph(len(s.kinds))+")",
		s.kinds...).Scan(&t)
	if err != nil || !t.Valid {
		return nil, err
	}
	return &t.Time, nil
}

// message is a claimed queue row.
type message struct {
	ID, Kind, Target, Purpose, Payload       string
	Attempts                                 int
	CreatedAt, FirstAttemptAt, leaseUntil    time.Time
	AlertID, DeliveryID, PersonID, WebhookID string
}

// Tick sends every message due now and returns how many it worked.
func (s *Sender) Tick(ctx context.Context) (int, error) {
	var total atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range s.o.Workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				ms, err := s.claim(ctx, s.o.Batch)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if len(ms) == 0 {
					return
				}
				s.process(ctx, ms)
				total.Add(int64(len(ms)))
			}
		})
	}
	wg.Wait()
	return int(total.Load()), firstErr
}

// claim takes up to limit due rows in one short transaction: they become
// "sending" under this sender's lease, and their attempt is counted.
func (s *Sender) claim(ctx context.Context, limit int) ([]*message, error) {
	var out []*message
	err := s.n.db.RunInTx(ctx, func(tx *db.Tx) error {
		out = nil
		now := s.n.clock.Now()
		lease := now.Add(s.o.Lease)
		args := []any{StatusSending, s.owner, lease, now, now}
		args = append(args, s.kinds...)
		args = append(args, limit)
		rows, err := tx.Query(ctx, `UPDATE notify_outbound SET status = ?, attempts = attempts + 1, lease_owner = ?, next_attempt_at = ?,
			first_attempt_at = COALESCE(first_attempt_at, ?)
			WHERE id IN (SELECT o.id FROM notify_outbound o WHERE o.status IN ('pending', 'sending') AND o.next_attempt_at <= ? AND o.kind IN (`+ph(len(s.kinds))+`)
				ORDER BY o.next_attempt_at LIMIT ?`+tx.ForUpdateSkipLocked("o")+`)
			RETURNING id, kind, target, purpose, payload, attempts, created_at, first_attempt_at,
				COALESCE(alert_id, ''), COALESCE(delivery_id, ''), COALESCE(person_id, ''), COALESCE(webhook_id, '')`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := &message{leaseUntil: lease}
			var created, first db.NullTime
			if err := rows.Scan(&m.ID, &m.Kind, &m.Target, &m.Purpose, &m.Payload, &m.Attempts, &created, &first,
				&m.AlertID, &m.DeliveryID, &m.PersonID, &m.WebhookID); err != nil {
				return err
			}
			m.CreatedAt, m.FirstAttemptAt = created.Time, first.Time
			out = append(out, m)
		}
		return rows.Err()
	})
	return out, err
}

// process sends claimed messages one after another (this worker's share)
// and records their outcomes in one transaction at the end (a crash before
// that resends the batch when its lease ends: at least once).
func (s *Sender) process(ctx context.Context, ms []*message) {
	var out outcomes
	defer s.flush(ctx, &out)
	var mails, calls []*message
	for _, m := range ms {
		if m.Kind == KindEmail {
			mails = append(mails, m)
		} else {
			calls = append(calls, m)
		}
	}
	if len(mails) > 0 {
		jobs, err := s.loadMailJobs(ctx, mails)
		for _, m := range mails {
			if err != nil {
				s.failed(&out, m, err)
				continue
			}
			j := jobs[m.ID]
			if j == nil {
				s.failed(&out, m, errors.New("the alert of this e-mail is gone"))
				continue
			}
			s.sendMail(ctx, j, &out)
		}
	}
	if len(calls) > 0 {
		hooks, err := s.loadSecrets(ctx, calls)
		for _, m := range calls {
			if err != nil {
				s.failed(&out, m, err)
				continue
			}
			s.call(ctx, m, hooks[m.WebhookID], &out)
		}
	}
}

// leaseLeft tells whether there is time to send before the lease ends; if
// not, the row is handed back at once rather than sent twice.
func (s *Sender) leaseLeft(ctx context.Context, m *message, need time.Duration, out *outcomes) bool {
	if ctx.Err() == nil && !s.n.clock.Now().Add(need).After(m.leaseUntil) {
		return true
	}
	out.add(m, "release", `UPDATE notify_outbound SET status = ?, attempts = attempts - 1, next_attempt_at = ?, lease_owner = ''
		WHERE id = ? AND status = ? AND lease_owner = ?`, StatusPending, s.n.clock.Now(), m.ID, StatusSending, s.owner)
	return false
}

func (s *Sender) sendMail(ctx context.Context, j *mailJob, out *outcomes) {
	m := j.m
	if !s.leaseLeft(ctx, m, 30*time.Second, out) {
		return
	}
	msg := s.n.buildMessage(j, s.from)
	err := s.o.Mailer.Send(ctx, s.from.Address, []string{m.Target}, msg)
	if s.crashAfterSend != nil && s.crashAfterSend(m.ID) {
		return
	}
	if err != nil {
		s.failed(out, m, err)
		return
	}
	// The server said 250: if the e-mail asked someone who may acknowledge
	// for the post to do so, the delivery is delivered via e-mail. The
	// receipt goes through alert.Store in that person's name, which refuses
	// anyone who may not acknowledge there. It is recorded before the row
	// is marked sent: a crash between the two repeats an idempotent receipt.
	if (m.Purpose == PurposeAlert || m.Purpose == PurposeEscalation) && m.DeliveryID != "" && m.PersonID != "" && j.hasUser && j.postID != "" {
		s.receipt(ctx, m, j.postID, alert.ChannelEmail, func(ctx context.Context) (*auth.Actor, error) { return s.n.personActor(ctx, m.PersonID) })
	}
	s.succeeded(out, m)
}

func (s *Sender) receipt(ctx context.Context, m *message, postID, via string, actor func(context.Context) (*auth.Actor, error)) {
	ctx = context.WithoutCancel(ctx)
	// Most posts get several messages; only the first receipt writes. A
	// read spares the others a write transaction.
	var delivered bool
	if err := s.n.db.QueryRow(ctx, "SELECT delivered_at IS NOT NULL FROM deliveries WHERE id = ?", m.DeliveryID).Scan(&delivered); err == nil && delivered {
		return
	}
	act, err := actor(ctx)
	if err != nil {
		s.log.Debug("no receipt: no actor", "message", m.ID, "err", err)
		return
	}
	if _, err := s.n.alerts.Receipt(auth.With(ctx, act), m.AlertID, postID, via); err != nil {
		if _, ok := apperr.As(err); ok {
			s.log.Debug("no receipt: refused", "message", m.ID, "delivery", m.DeliveryID, "err", err)
		} else {
			s.log.Warn("cannot record the receipt of a sent message", "message", m.ID, "delivery", m.DeliveryID, "err", err)
		}
	}
}

type hookSecrets struct {
	active      bool
	secret      string
	prev        string
	prevUntil   time.Time
	hasPrevTill bool
}

func (s *Sender) loadSecrets(ctx context.Context, ms []*message) (map[string]*hookSecrets, error) {
	ids := map[string]bool{}
	var args []any
	for _, m := range ms {
		if m.WebhookID != "" && !ids[m.WebhookID] {
			ids[m.WebhookID] = true
			args = append(args, m.WebhookID)
		}
	}
	out := map[string]*hookSecrets{}
	if len(args) == 0 {
		return out, nil
	}
	rows, err := s.n.db.Query(ctx, "SELECT id, active, secret, prev_secret, prev_valid_until FROM webhooks WHERE id IN ("+ph(len(args))+")", args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var h hookSecrets
		var until sql.NullTime
		if err := rows.Scan(&id, &h.active, &h.secret, &h.prev, &until); err != nil {
			return nil, err
		}
		h.prevUntil, h.hasPrevTill = until.Time, until.Valid
		out[id] = &h
	}
	return out, rows.Err()
}

// call makes one webhook request: any 2xx is success; anything else,
// including a redirect or a network error, is retried.
func (s *Sender) call(ctx context.Context, m *message, h *hookSecrets, out *outcomes) {
	if h == nil || !h.active {
		s.kill(out, m, "webhook disabled")
		return
	}
	if !s.leaseLeft(ctx, m, WebhookTimeout, out) {
		return
	}
	now := s.n.clock.Now()
	secrets := []string{h.secret}
	if h.prev != "" && h.hasPrevTill && now.Before(h.prevUntil) {
		secrets = append(secrets, h.prev)
	}
	body := []byte(m.Payload)
	err := func() error {
		cctx, cancel := context.WithTimeout(ctx, WebhookTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(cctx, http.MethodPost, m.Target, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "sitroom-webhook/1")
		req.Header.Set("Sitroom-Event-Id", m.ID)
		req.Header.Set("Sitroom-Event-Type", m.Purpose)
		req.Header.Set("Sitroom-Signature", Sign(body, now, secrets...))
		resp, err := s.o.HTTP.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			// The body is not kept: it is the receiver's, and a URL
			// pointing inward must not turn into a way of reading pages.
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}()
	if s.crashAfterSend != nil && s.crashAfterSend(m.ID) {
		return
	}
	if err != nil {
		s.failed(out, m, err)
		return
	}
	// A 2xx from a national system bound to the post delivers the alert.
	if m.Purpose == events.TypeAlertCreated && m.DeliveryID != "" {
		if alertID, postID, err := s.n.alerts.DeliveryByID(context.WithoutCancel(ctx), m.DeliveryID); err == nil && alertID == m.AlertID {
			s.receipt(ctx, m, postID, alert.ChannelWebhook, func(context.Context) (*auth.Actor, error) { return auth.System("webhook"), nil })
		}
	}
	s.succeeded(out, m)
}

// outcomes are the statements recording what happened to a batch.
type outcomes struct{ stmts []outcome }

type outcome struct {
	m    *message
	what string
	q    string
	args []any
}

func (o *outcomes) add(m *message, what, q string, args ...any) {
	o.stmts = append(o.stmts, outcome{m: m, what: what, q: q, args: args})
}

// flush records a batch's outcomes in one transaction, even while the
// process shuts down (a sent message left "sending" is sent again when its
// lease ends).
func (s *Sender) flush(ctx context.Context, o *outcomes) {
	if len(o.stmts) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.n.db.RunInTx(rctx, func(tx *db.Tx) error {
		for _, st := range o.stmts {
			if _, err := tx.Exec(rctx, st.q, st.args...); err != nil {
				return fmt.Errorf("record %s of %s: %w", st.what, st.m.ID, err)
			}
		}
		return nil
	}); err != nil {
		s.log.Error("cannot record the outcome of messages; they will be sent again when their lease ends", "messages", len(o.stmts), "err", err)
	}
}

func (s *Sender) succeeded(out *outcomes, m *message) {
	out.add(m, "sent", `UPDATE notify_outbound SET status = ?, sent_at = ?, lease_owner = '', last_error = ''
		WHERE id = ? AND status IN (?, ?)`, StatusSent, s.n.clock.Now(), m.ID, StatusPending, StatusSending)
	s.sent.WithLabelValues(m.Kind).Inc()
	s.log.Debug("message sent", "message", m.ID, "kind", m.Kind, "purpose", m.Purpose, "attempt", m.Attempts)
}

func errText(err error) string {
	t := strings.ToValidUTF8(err.Error(), "?")
	if len(t) > 500 {
		t = t[:500]
	}
	return t
}

// failed schedules the next attempt, or declares the message dead once it
// has failed for MaxAge since its first attempt. The last attempt is made
// at exactly MaxAge.
func (s *Sender) failed(out *outcomes, m *message, err error) {
	s.failures.WithLabelValues(m.Kind).Inc()
	now := s.n.clock.Now()
	deadline := m.FirstAttemptAt.Add(s.o.MaxAge)
	if !now.Before(deadline) {
		s.kill(out, m, errText(err))
		return
	}
	next := now.Add(Backoff(m.Attempts))
	if next.After(deadline) {
		next = deadline
	}
	s.log.Warn("message not sent; will retry", "message", m.ID, "kind", m.Kind, "target", redactTarget(m), "attempt", m.Attempts,
		"next_attempt_at", next, "err", err)
	out.add(m, "retry", `UPDATE notify_outbound SET status = ?, next_attempt_at = ?, lease_owner = '', last_error = ?
		WHERE id = ? AND status = ? AND lease_owner = ?`, StatusPending, next, errText(err), m.ID, StatusSending, s.owner)
}

func (s *Sender) kill(out *outcomes, m *message, reason string) {
	s.dead.WithLabelValues(m.Kind).Inc()
	s.log.Error("message is dead: it failed for too long", "message", m.ID, "kind", m.Kind, "target", redactTarget(m),
		"attempts", m.Attempts, "err", reason)
	out.add(m, "dead", `UPDATE notify_outbound SET status = ?, dead_at = ?, lease_owner = '', last_error = ?
		WHERE id = ? AND status = ? AND lease_owner = ?`, StatusDead, s.n.clock.Now(), reason, m.ID, StatusSending, s.owner)
}

// redactTarget keeps addresses out of logs (a webhook's host is enough).
func redactTarget(m *message) string {
	if m.Kind == KindEmail {
		if i := strings.LastIndexByte(m.Target, '@'); i >= 0 {
			return "…" + m.Target[i:]
		}
		return "…"
	}
	if i := strings.Index(m.Target, "://"); i >= 0 {
		rest := m.Target[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			rest = rest[:j]
		}
		return m.Target[:i+3] + rest
	}
	return ""
}
