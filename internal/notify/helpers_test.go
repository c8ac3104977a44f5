package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/events"
)

var t0 = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeRoster answers on-duty and escalation questions from maps (as in the
// alert package's tests).
type fakeRoster struct {
	mu     sync.Mutex
	onDuty map[string][]alert.OnDuty
}

func (f *fakeRoster) OnDutyAt(ctx context.Context, q db.Querier, ids []string, at time.Time) (map[string][]alert.OnDuty, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][]alert.OnDuty{}
	for _, id := range ids {
		if od := f.onDuty[id]; len(od) > 0 {
			out[id] = od
		}
	}
	return out, nil
}

func (f *fakeRoster) IsOnDuty(ctx context.Context, q db.Querier, person, post string, at time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, od := range f.onDuty[post] {
		if od.PersonID == person {
			return true, nil
		}
	}
	return false, nil
}

// Levels: level 1 reaches the post's deputy ("deputy-<post>"), then nothing.
func (f *fakeRoster) Levels(ctx context.Context, q db.Querier, ids []string, level int, at time.Time) (map[string]alert.Level, error) {
	out := map[string]alert.Level{}
	for _, id := range ids {
		switch level {
		case 0:
			out[id] = alert.Level{Exists: true}
		case 1:
			out[id] = alert.Level{Exists: true, People: []alert.Recipient{{PersonID: "deputy-" + id, Login: "deputy-" + id + "@x"}}}
		}
	}
	return out, nil
}

// seed writes two member states, three posts and the people by SQL.
// People with a user: kz1, ru1 (Russian), deputy-KZ-MOD, centre. guest has
// an e-mail address but no user.
func seed(t *testing.T, d *db.DB) {
	ctx := context.Background()
	err := d.RunInTx(ctx, func(tx *db.Tx) error {
		ex := func(q string, args ...any) {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		for _, s := range [][2]string{{"KZ", "Asia/Almaty"}, {"BY", "Europe/Minsk"}} {
			ex("INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", s[0], s[0], s[0], s[0], s[1], t0, t0)
			ex("INSERT INTO member_state_statuses (id, state_id, status, valid_from, created_at) VALUES (?, ?, 'active', '1992-05-15', ?)", "st-"+s[0], s[0], t0)
		}
		for _, p := range []struct{ id, state, kind, tz, nameRU string }{
			{"CRC", "", "centre", "UTC", "ЦКР"}, {"KZ-MOD", "KZ", "ministry", "Asia/Almaty", "Минобороны РК"}, {"BY-MOD", "BY", "ministry", "Europe/Minsk", "Минобороны РБ"},
		} {
			var st any
			if p.state != "" {
				st = p.state
			}
			ex("INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, ministry_kind, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'defence', ?, ?, ?)",
				p.id, p.id, p.kind, p.id+" command post", p.nameRU, st, p.tz, t0, t0)
		}
		for _, p := range []struct{ id, nameEN, nameRU, email, locale string }{
			{"kz1", "Aidar Kz", "Айдар", "kz1@example.org", "en"},
			{"guest", "Guest Officer", "Гость", "guest@example.org", ""},
			{"ru1", "Ivan Petrov", "Иван Петров", "ru1@example.org", "ru"},
			{"deputy-KZ-MOD", "Deputy Kz", "Заместитель", "deputy@example.org", "en"},
			{"centre", "Centre Officer", "Дежурный", "", "en"},
		} {
			ex("INSERT INTO people (id, code, name_en, name_ru, email, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", p.id, p.id, p.nameEN, p.nameRU, p.email, t0, t0)
			if p.locale != "" {
				ex("INSERT INTO users (id, person_id, login, locale, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)", "u-"+p.id, p.id, p.id+"@x", p.locale, t0, t0)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var actors = map[string]*auth.Actor{
	"centre": {Kind: auth.KindUser, UserID: "u-centre", PersonID: "centre", Login: "centre@x",
		Grants: []auth.Grant{{Role: auth.CentreOfficer, ScopeKind: auth.ScopeGlobal}}},
	"super": {Kind: auth.KindUser, UserID: "u-super", Login: "super@x",
		Grants: []auth.Grant{{Role: auth.CentreSupervisor, ScopeKind: auth.ScopeGlobal}}},
	"admin": {Kind: auth.KindUser, UserID: "u-admin", Login: "admin@x",
		Grants: []auth.Grant{{Role: auth.Admin, ScopeKind: auth.ScopeGlobal}}},
	"kz1": {Kind: auth.KindUser, UserID: "u-kz1", PersonID: "kz1", Login: "kz1@x",
		Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
	"ru1": {Kind: auth.KindUser, UserID: "u-ru1", PersonID: "ru1", Login: "ru1@x",
		Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "BY-MOD", StateID: "BY"}}},
	"deputy": {Kind: auth.KindUser, UserID: "u-deputy-KZ-MOD", PersonID: "deputy-KZ-MOD", Login: "deputy-KZ-MOD@x",
		Grants: []auth.Grant{{Role: auth.PostOfficer, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
	"headkz": {Kind: auth.KindUser, UserID: "u-headkz", Login: "headkz@x",
		Grants: []auth.Grant{{Role: auth.PostHead, ScopeKind: auth.ScopePost, ScopeID: "KZ-MOD", StateID: "KZ"}}},
	"headby": {Kind: auth.KindUser, UserID: "u-headby", Login: "headby@x",
		Grants: []auth.Grant{{Role: auth.PostHead, ScopeKind: auth.ScopePost, ScopeID: "BY-MOD", StateID: "BY"}}},
}

func as(who string) context.Context {
	if who == "" {
		return context.Background()
	}
	a := actors[who]
	if a == nil {
		panic(who)
	}
	return auth.With(context.Background(), a)
}

// actorForUser plays users.Store.ActorForUser.
func actorForUser(ctx context.Context, userID string) (*auth.Actor, error) {
	for _, a := range actors {
		if a.UserID == userID {
			c := *a
			return &c, nil
		}
	}
	return nil, apperr.NotFound("user")
}

// smtpRecorder is an in-process SMTP server that keeps what it accepts.
type smtpRecorder struct {
	mu       sync.Mutex
	msgs     []recorded
	failNext int    // reject the next DATA this many times (451)
	user     string // require AUTH PLAIN with this user when set
	addr     string
}

type recorded struct {
	from string
	to   []string
	data []byte
}

type smtpSession struct {
	r      *smtpRecorder
	authed bool
	from   string
	to     []string
}

func (s *smtpSession) Reset()        { s.from, s.to = "", nil }
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.r.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { s.to = append(s.to, to); return nil }
func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.failNext > 0 {
		s.r.failNext--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.r.msgs = append(s.r.msgs, recorded{from: s.from, to: s.to, data: b})
	return nil
}
func (s *smtpSession) AuthMechanisms() []string {
	if s.r.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.r.user || password != "secret" {
			return errors.New("bad credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func newSMTP(t *testing.T) *smtpRecorder {
	r := &smtpRecorder{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &smtpSession{r: r}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return r
}

func (r *smtpRecorder) messages() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.msgs...)
}

// parsed is a received e-mail, decoded.
type parsed struct {
	raw        []byte
	header     mail.Header
	rawSubject string
	subject    string
	body       string
	to         string
}

func parse(t *testing.T, m recorded) parsed {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatalf("unreadable message: %v\n%s", err, m.data)
	}
	p := parsed{raw: m.data, header: msg.Header, rawSubject: msg.Header.Get("Subject"), to: strings.Join(m.to, ",")}
	if p.subject, err = new(mime.WordDecoder).DecodeHeader(p.rawSubject); err != nil {
		t.Fatalf("subject %q: %v", p.rawSubject, err)
	}
	if msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("transfer encoding %q", msg.Header.Get("Content-Transfer-Encoding"))
	}
	b, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	p.body = strings.ReplaceAll(string(b), "\r\n", "\n")
	return p
}

func (r *smtpRecorder) to(t *testing.T, addr string) []parsed {
	t.Helper()
	var out []parsed
	for _, m := range r.messages() {
		if len(m.to) == 1 && m.to[0] == addr {
			out = append(out, parse(t, m))
		}
	}
	return out
}

// hookServer is a webhook receiver that answers from a script.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []hookReq
	status func(n int) int // status of the n-th request (1-based)
}

type hookReq struct {
	header http.Header
	body   []byte
}

func newHookServer(t *testing.T, status func(n int) int) *hookServer {
	h := &hookServer{status: status}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, hookReq{header: r.Header.Clone(), body: b})
		n := len(h.reqs)
		h.mu.Unlock()
		w.WriteHeader(h.status(n))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) requests() []hookReq {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookReq(nil), h.reqs...)
}

// world is a store with alerts, the notifier, its loops and the outside
// servers.
type world struct {
	d      *db.DB
	clk    *clock.Fake
	audit  *audit.Log
	alerts *alert.Store
	eng    *alert.Engine
	n      *Notifier
	disp   *Dispatcher
	snd    *Sender
	smtp   *smtpRecorder
	roster *fakeRoster
}

const baseURL = "https://sitroom.example.org"

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	seed(t, d)
	w := &world{d: d, clk: clock.NewFake(t0, false), smtp: newSMTP(t)}
	w.roster = &fakeRoster{onDuty: map[string][]alert.OnDuty{
		"KZ-MOD": {{PersonID: "kz1", Name: "kz1", UserID: "u-kz1", Login: "kz1@x", Slot: "primary"}, {PersonID: "guest", Name: "guest", Slot: "deputy"}},
		"BY-MOD": {{PersonID: "ru1", Name: "ru1", UserID: "u-ru1", Login: "ru1@x", Slot: "primary"}},
		"CRC":    {{PersonID: "centre", Name: "centre", Slot: "primary"}},
	}}
	w.audit = audit.New(d, w.clk)
	w.alerts = alert.New(d, w.clk, w.audit, events.NewAppender(nil, w.clk), w.roster)
	w.eng = alert.NewEngine(w.alerts, quiet)
	w.n = w.notifier(t)
	w.disp = NewDispatcher(w.n, quiet, nil)
	w.snd = w.sender(t, w.n)
	return w
}

func (w *world) notifier(t *testing.T) *Notifier {
	t.Helper()
	n, err := New(context.Background(), w.d, w.clk, w.audit, w.alerts, Options{BaseURL: baseURL + "/", Email: true,
		ActorForPerson: PersonActor(w.d, actorForUser), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) sender(t *testing.T, n *Notifier) *Sender {
	t.Helper()
	s, err := NewSender(n, quiet, SenderOptions{From: "Sitroom <alerts@example.org>", Mailer: &SMTP{Addr: w.smtp.addr, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (w *world) send(t *testing.T, in alert.NewAlert) *alert.Alert {
	t.Helper()
	if in.Title == "" {
		in.Title = "Readiness check"
	}
	if in.AckWithinSeconds == 0 {
		in.AckWithinSeconds = 600
	}
	if in.Priority == "" {
		in.Priority = alert.Urgent
	}
	al, err := w.alerts.Send(as("centre"), in)
	if err != nil {
		t.Fatal(err)
	}
	// The engine records who was on duty and queues their e-mails (level 0)
	// right after the send commits.
	if _, err := w.eng.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	return al
}

func (w *world) tick(t *testing.T) {
	t.Helper()
	if _, err := w.disp.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.snd.Tick(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (w *world) delivery(t *testing.T, alertID, post string) alert.Delivery {
	t.Helper()
	al, err := w.alerts.Get(as("centre"), alertID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range al.Deliveries {
		if d.PostID == post {
			return d
		}
	}
	t.Fatalf("no delivery to %s", post)
	return alert.Delivery{}
}

func count(t testing.TB, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// snapshot counts what any write would change.
func snapshot(t *testing.T, d *db.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT COUNT(*) FROM outbox", "SELECT COUNT(*) FROM audit_log", "SELECT COUNT(*) FROM delivery_steps",
		"SELECT COUNT(*) FROM notify_outbound", "SELECT COUNT(*) FROM settings", "SELECT COUNT(*) FROM deliveries WHERE acked_at IS NOT NULL",
		"SELECT COUNT(*) FROM deliveries WHERE state = 'acknowledged'", "SELECT COUNT(*) FROM sessions",
	} {
		fmt.Fprintf(&b, "%s=%d ", q[len("SELECT COUNT(*) FROM "):], count(t, d, q))
	}
	return b.String()
}

type row struct {
	id, status, lastError      string
	attempts                   int
	next, first, dead, created db.NullTime
}

func outbound(t *testing.T, d *db.DB, where string, args ...any) []row {
	t.Helper()
	rows, err := d.Query(context.Background(), "SELECT id, status, last_error, attempts, next_attempt_at, first_attempt_at, dead_at, created_at FROM notify_outbound WHERE "+where+" ORDER BY id", args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.status, &r.lastError, &r.attempts, &r.next, &r.first, &r.dead, &r.created); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func linkIn(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, baseURL+"/ack/")
	if i < 0 {
		t.Fatalf("no acknowledgement link in:\n%s", body)
	}
	rest := body[i+len(baseURL+"/ack/"):]
	if j := strings.IndexAny(rest, " \n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
