package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/db"
	"sitroom/internal/events"
	"sitroom/internal/testutil"
)

func createHook(t *testing.T, w *world, who string, in NewWebhook) (*Webhook, string) {
	t.Helper()
	h, secret, err := w.n.CreateWebhook(as(who), in)
	if err != nil {
		t.Fatal(err)
	}
	return h, secret
}

func TestWebhookRetriesWithBackoffAndTheSameEventID(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		srv := newHookServer(t, func(n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		// Nobody has an e-mail address: the webhook is the only channel.
		if _, err := d.Exec(ctx, "UPDATE people SET email = ''"); err != nil {
			t.Fatal(err)
		}
		_, secret := createHook(t, w, "super", NewWebhook{Name: "KZ national system", URL: srv.URL + "/hook", PostID: "KZ-MOD"})
		al := w.send(t, alert.NewAlert{Title: "Flash drill", Priority: alert.Flash, Exercise: true, Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		if n, err := w.disp.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("dispatch: %d calls queued, %v", n, err)
		}
		wantAttempts := []struct {
			advance time.Duration
			calls   int
			status  string
			next    time.Duration // from t0
		}{
			{0, 1, StatusPending, 1 * time.Second},               // attempt 1 fails at t0: retry after 1 s
			{1 * time.Second, 2, StatusPending, 3 * time.Second}, // attempt 2 fails at +1 s: retry after 2 s
			{1 * time.Second, 2, StatusPending, 3 * time.Second}, // +2 s: not due yet
			{1 * time.Second, 3, StatusSent, 0},                  // attempt 3 at +3 s succeeds
		}
		for i, step := range wantAttempts {
			w.clk.Advance(step.advance)
			if _, err := w.snd.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			rs := outbound(t, d, "kind = 'webhook'")
			if len(srv.requests()) != step.calls || len(rs) != 1 || rs[0].status != step.status || rs[0].attempts != step.calls {
				t.Fatalf("step %d: %d calls, rows %+v", i, len(srv.requests()), rs)
			}
			if step.status == StatusPending && !rs[0].next.Time.Equal(t0.Add(step.next)) {
				t.Fatalf("step %d: next attempt at %v, want t0+%v", i, rs[0].next.Time, step.next)
			}
		}
		rs := outbound(t, d, "kind = 'webhook'")
		reqs := srv.requests()
		for i, r := range reqs {
			if got := r.header.Get("Sitroom-Event-Id"); got != rs[0].id {
				t.Fatalf("request %d: Sitroom-Event-Id %q, want the stable id %q", i, got, rs[0].id)
			}
			sentAt := t0.Add([]time.Duration{0, time.Second, 3 * time.Second}[i])
			if err := VerifySignature(r.header.Get("Sitroom-Signature"), r.body, []string{secret}, sentAt, 5*time.Minute); err != nil {
				t.Fatalf("request %d: signature does not verify with the secret: %v (%s)", i, err, r.header.Get("Sitroom-Signature"))
			}
			if err := VerifySignature(r.header.Get("Sitroom-Signature"), r.body, []string{"whsec_other"}, sentAt, 5*time.Minute); err != ErrSignatureMismatch {
				t.Fatalf("request %d: another secret verifies: %v", i, err)
			}
			if string(r.body) != string(reqs[0].body) || r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("request %d: body or type changed between retries", i)
			}
		}
		var env struct {
			ID       string          `json:"id"`
			Type     string          `json:"type"`
			Position int64           `json:"position"`
			Exercise *bool           `json:"exercise"`
			Data     json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(reqs[0].body, &env); err != nil {
			t.Fatal(err)
		}
		var data alert.Alert
		_ = json.Unmarshal(env.Data, &data)
		if env.ID != rs[0].id || env.Type != events.TypeAlertCreated || env.Position <= 0 || env.Exercise == nil || !*env.Exercise || data.ID != al.ID {
			t.Fatalf("envelope %s", reqs[0].body)
		}
		if dl := w.delivery(t, al.ID, "KZ-MOD"); dl.DeliveredVia != alert.ChannelWebhook || dl.State != alert.DDelivered {
			t.Fatalf("a 2xx from the post's webhook did not deliver: %+v", dl)
		}
		// The webhook survives: nothing else is queued for it but what
		// the receipt announced (delivery.updated for its post).
		if n, _ := w.disp.Tick(ctx); n != 1 {
			t.Fatalf("after the receipt: %d calls queued, want the delivery.updated one", n)
		}
	})
}

func TestWebhookRotationSendsBothSignaturesUntilTheOverlapEnds(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		srv := newHookServer(t, func(int) int { return http.StatusNoContent })
		hook, old := createHook(t, w, "admin", NewWebhook{URL: srv.URL, EventTypes: []string{events.TypeAlertCreated}})
		_, fresh, err := w.n.RotateWebhookSecret(as("admin"), hook.ID, time.Hour)
		if err != nil || fresh == old || !strings.HasPrefix(fresh, "whsec_") {
			t.Fatalf("rotate: %q %v", fresh, err)
		}
		w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		w.tick(t)
		w.clk.Advance(2 * time.Hour) // the overlap is over
		w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		w.tick(t)
		reqs := srv.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests", len(reqs))
		}
		during, after := reqs[0], reqs[1]
		if n := strings.Count(during.header.Get("Sitroom-Signature"), "v1="); n != 2 {
			t.Fatalf("during the rotation: %d signatures: %s", n, during.header.Get("Sitroom-Signature"))
		}
		for _, s := range []string{old, fresh} {
			if err := VerifySignature(during.header.Get("Sitroom-Signature"), during.body, []string{s}, t0, time.Minute); err != nil {
				t.Fatalf("during the rotation a receiver with one of the secrets must verify: %v", err)
			}
		}
		if n := strings.Count(after.header.Get("Sitroom-Signature"), "v1="); n != 1 {
			t.Fatalf("after the overlap: %d signatures", n)
		}
		now := t0.Add(2 * time.Hour)
		if err := VerifySignature(after.header.Get("Sitroom-Signature"), after.body, []string{old}, now, time.Minute); err != ErrSignatureMismatch {
			t.Fatalf("the old secret still verifies after the overlap: %v", err)
		}
		if err := VerifySignature(after.header.Get("Sitroom-Signature"), after.body, []string{fresh}, now, time.Minute); err != nil {
			t.Fatal(err)
		}
		// A rotation without overlap ends the old secret at once.
		_, third, err := w.n.RotateWebhookSecret(as("admin"), hook.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		w.tick(t)
		last := srv.requests()[2]
		if strings.Count(last.header.Get("Sitroom-Signature"), "v1=") != 1 ||
			VerifySignature(last.header.Get("Sitroom-Signature"), last.body, []string{third}, now, time.Minute) != nil {
			t.Fatalf("after an immediate rotation: %s", last.header.Get("Sitroom-Signature"))
		}
	})
}

func TestWebhookDeadAfter24HoursOfFailuresIsListedAndCanBeRetried(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		ok := false
		srv := newHookServer(t, func(int) int {
			if ok {
				return http.StatusOK
			}
			return http.StatusServiceUnavailable
		})
		createHook(t, w, "super", NewWebhook{URL: srv.URL, PostID: "BY-MOD"})
		w.send(t, alert.NewAlert{Exercise: true, Targets: alert.Targets{Posts: []string{"BY-MOD"}}})
		if _, err := w.disp.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		var r row
		for i := 0; ; i++ {
			if i > 100 {
				t.Fatal("never dead")
			}
			if _, err := w.snd.Tick(ctx); err != nil {
				t.Fatal(err)
			}
			r = outbound(t, d, "kind = 'webhook'")[0]
			if r.status == StatusDead {
				break
			}
			if r.status != StatusPending || !r.first.Time.Equal(t0) {
				t.Fatalf("attempt %d: %+v", r.attempts, r)
			}
			// 1 s, 2 s, 4 s … up to 1 h, the last attempt at exactly 24 h.
			want := min(Backoff(r.attempts), t0.Add(24*time.Hour).Sub(w.clk.Now()))
			if gap := r.next.Time.Sub(w.clk.Now()); gap != want || gap > time.Hour {
				t.Fatalf("attempt %d: next attempt in %v, want %v", r.attempts, gap, want)
			}
			w.clk.Set(r.next.Time)
		}
		if !r.dead.Valid || !r.dead.Time.Equal(t0.Add(24*time.Hour)) || r.attempts != len(srv.requests()) || r.lastError != "HTTP 503" {
			t.Fatalf("dead row %+v after %d calls", r, len(srv.requests()))
		}
		// Dead means dead: time passing sends nothing more.
		w.clk.Advance(48 * time.Hour)
		calls := len(srv.requests())
		if _, err := w.snd.Tick(ctx); err != nil || len(srv.requests()) != calls {
			t.Fatal("a dead message was sent again")
		}
		for _, who := range []string{"centre", "admin"} {
			dl, _, err := w.n.DeadLetters(as(who), ListOptions{})
			if err != nil || len(dl) != 1 || dl[0].ID != r.id || dl[0].Kind != KindWebhook || dl[0].AlertTitle == "" || dl[0].LastError != "HTTP 503" {
				t.Fatalf("%s: dead letters %+v %v", who, dl, err)
			}
		}
		if dl, _, err := w.n.DeadLetters(as("centre"), ListOptions{Kind: KindEmail}); err != nil || len(dl) != 0 {
			t.Fatalf("e-mail dead letters %+v %v", dl, err)
		}
		for who, kind := range map[string]apperr.Kind{"ru1": apperr.KindForbidden, "headby": apperr.KindForbidden, "": apperr.KindUnauthorized} {
			if _, _, err := w.n.DeadLetters(as(who), ListOptions{}); !apperr.Is(err, kind) {
				t.Errorf("%q listing dead letters: %v", who, err)
			}
			if _, err := w.n.Retry(as(who), r.id); !apperr.Is(err, kind) {
				t.Errorf("%q retrying: %v", who, err)
			}
		}
		ok = true
		m, err := w.n.Retry(as("centre"), r.id)
		if err != nil || m.Status != StatusPending {
			t.Fatalf("retry: %+v %v", m, err)
		}
		if _, err := w.n.Retry(as("centre"), r.id); !apperr.Is(err, apperr.KindConflict) {
			t.Fatalf("retrying a message that is not dead: %v", err)
		}
		if _, err := w.snd.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r := outbound(t, d, "kind = 'webhook'")[0]; r.status != StatusSent {
			t.Fatalf("after retry: %+v", r)
		}
		reqs := srv.requests()
		if reqs[len(reqs)-1].header.Get("Sitroom-Event-Id") != r.id {
			t.Fatal("a retried message changed its id")
		}
		if count(t, d, "SELECT COUNT(*) FROM audit_log WHERE action = 'notify.retry'") != 1 {
			t.Fatal("the retry is not audited")
		}
	})
}

func TestWebhooksReceiveOnlyTheEventsTheirPostAndFilterCover(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		srv := newHookServer(t, func(int) int { return http.StatusOK })
		all, _ := createHook(t, w, "super", NewWebhook{Name: "all", URL: srv.URL + "/all"})
		by, _ := createHook(t, w, "super", NewWebhook{Name: "by", URL: srv.URL + "/by", PostID: "BY-MOD"})
		kz, _ := createHook(t, w, "headkz", NewWebhook{Name: "kz", URL: srv.URL + "/kz", PostID: "KZ-MOD", EventTypes: []string{events.TypeAlertCancelled}})
		al := w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		if _, err := w.alerts.Cancel(as("centre"), al.ID, "sent in error"); err != nil {
			t.Fatal(err)
		}
		if n, err := w.disp.Tick(ctx); err != nil || n != 3 {
			t.Fatalf("queued %d, %v; want all×2 + kz×1", n, err)
		}
		got := map[string][]string{}
		for _, h := range []*Webhook{all, by, kz} {
			rows, err := d.Query(ctx, "SELECT purpose FROM notify_outbound WHERE webhook_id = ? ORDER BY event_pos", h.ID)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var p string
				_ = rows.Scan(&p)
				got[h.Name] = append(got[h.Name], p)
			}
			rows.Close()
		}
		if fmt.Sprint(got) != "map[all:[alert.created alert.cancelled] kz:[alert.cancelled]]" {
			t.Fatalf("queued per webhook: %v", got)
		}
		// The cursors are durable: another tick, or a new dispatcher after a
		// restart, queues nothing again.
		if n, _ := w.disp.Tick(ctx); n != 0 {
			t.Fatalf("second tick queued %d", n)
		}
		if n, _ := NewDispatcher(w.notifier(t), quiet, nil).Tick(ctx); n != 0 {
			t.Fatalf("a restarted dispatcher queued %d", n)
		}
		// Events for the centre only (a surprise check before it fires) or
		// for one user never leave through a webhook.
		out := events.NewAppender(nil, w.clk)
		if err := d.RunInTx(ctx, func(tx *db.Tx) error {
			_, err := out.Append(ctx, tx, events.Event{Type: events.TypeCheckScheduled, Audience: events.AudienceCentre(), Payload: map[string]any{"at": t0}},
				events.Event{Type: events.TypeAlertCreated, Audience: events.AudienceUser("u-kz1"), Payload: map[string]any{}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n, _ := w.disp.Tick(ctx); n != 0 {
			t.Fatalf("%d calls queued for centre-only and personal events", n)
		}
		// A webhook created now starts at the end of the outbox.
		createHook(t, w, "admin", NewWebhook{URL: srv.URL + "/late"})
		if n, _ := w.disp.Tick(ctx); n != 0 {
			t.Fatalf("a new webhook received %d old events", n)
		}
		// A disabled webhook gets nothing more, and what was queued for it dies.
		if _, err := w.n.DisableWebhook(as("super"), all.ID); err != nil {
			t.Fatal(err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE webhook_id = ? AND status = 'dead'", all.ID); n != 2 {
			t.Fatalf("%d dead calls of the disabled webhook", n)
		}
		w.send(t, alert.NewAlert{Targets: alert.Targets{All: true}})
		if n, _ := w.disp.Tick(ctx); n != 2 { // the late unbound webhook and BY-MOD's
			t.Fatalf("after disabling: %d queued", n)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE webhook_id = ?", all.ID); n != 2 {
			t.Fatalf("the disabled webhook has %d calls", n)
		}
	})
}

func TestWebhookManagementRights(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		url := "https://national.example.kz/sitroom"
		cases := []struct {
			who  string
			post string
			kind apperr.Kind // 0 = allowed
		}{
			{"", "", apperr.KindUnauthorized},
			{"admin", "", 0},
			{"super", "BY-MOD", 0},
			{"centre", "", apperr.KindForbidden},
			{"kz1", "KZ-MOD", apperr.KindForbidden},
			{"headkz", "KZ-MOD", 0},
			{"headkz", "", apperr.KindForbidden},
			{"headkz", "BY-MOD", apperr.KindForbidden},
		}
		for _, c := range cases {
			_, secret, err := w.n.CreateWebhook(as(c.who), NewWebhook{URL: url, PostID: c.post})
			if c.kind == 0 && (err != nil || secret == "") || c.kind != 0 && !apperr.Is(err, c.kind) {
				t.Errorf("%q creating for %q: %v", c.who, c.post, err)
			}
		}
		for _, bad := range []NewWebhook{{URL: "ftp://x/y"}, {URL: "/relative"}, {URL: ""}, {URL: url, EventTypes: []string{"alert.deleted"}}, {URL: url, PostID: "NOPE"}} {
			if _, _, err := w.n.CreateWebhook(as("admin"), bad); !apperr.Is(err, apperr.KindInvalid) {
				t.Errorf("%+v: %v", bad, err)
			}
		}
		list, err := w.n.Webhooks(as("headkz"))
		if err != nil || len(list) != 1 || list[0].PostCode != "KZ-MOD" {
			t.Fatalf("a head of post lists %+v %v", list, err)
		}
		if all, _ := w.n.Webhooks(as("super")); len(all) != 3 {
			t.Fatalf("the supervisor lists %d", len(all))
		}
		if _, _, err := w.n.RotateWebhookSecret(as("headby"), list[0].ID, time.Hour); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("another post's head rotating: %v", err)
		}
		if _, err := w.n.DisableWebhook(as("headby"), list[0].ID); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("another post's head disabling: %v", err)
		}
		if _, _, err := w.n.RotateWebhookSecret(as("headkz"), list[0].ID, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := w.n.DisableWebhook(as("headkz"), list[0].ID); err != nil {
			t.Fatal(err)
		}
		var secrets int
		if err := d.QueryRow(context.Background(), "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'webhook.%' AND (after_json LIKE '%whsec_%' OR before_json LIKE '%whsec_%')").Scan(&secrets); err != nil || secrets != 0 {
			t.Fatalf("secrets in the audit log: %d %v", secrets, err)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'webhook.%'"); n != 5 {
			t.Fatalf("%d webhook audit entries, want 5", n)
		}
	})
}

// waitFor polls cond until it holds; the bound is a liveness limit for a
// hung loop, not a speed measurement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestLoopsWakeOnCommitAndWhenTheClockReachesTheNextAttempt(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		w.snd.o.SafetyTick = time.Hour // nothing may depend on it
		w.disp.SafetyTick = time.Hour
		srv := newHookServer(t, func(n int) int {
			if n == 1 {
				return http.StatusBadGateway
			}
			return http.StatusOK
		})
		createHook(t, w, "super", NewWebhook{URL: srv.URL, EventTypes: []string{events.TypeAlertCreated}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{}, 2)
		go func() { w.snd.Run(ctx); done <- struct{}{} }()
		go func() { w.disp.Run(ctx); done <- struct{}{} }()
		defer func() { cancel(); <-done; <-done }()
		w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"BY-MOD"}}})
		waitFor(t, "the e-mail and the first webhook call", func() bool { return len(w.smtp.messages()) == 1 && len(srv.requests()) == 1 })
		waitFor(t, "the failed call to be rescheduled", func() bool {
			return count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE kind = 'webhook' AND status = 'pending' AND attempts = 1") == 1
		})
		w.clk.Advance(time.Second)
		waitFor(t, "the retry after the clock moved", func() bool {
			return count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE kind = 'webhook' AND status = 'sent'") == 1
		})
		if len(srv.requests()) != 2 {
			t.Fatalf("%d calls", len(srv.requests()))
		}
	})
}
