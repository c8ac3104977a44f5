package notify

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"sitroom/internal/alert"
	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

const cyrTitle = "Учения: проверка готовности дежурных смен"

func TestEmailSaysExerciseAndPriorityAndCarriesASignedLink(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.NewAlert{Title: cyrTitle, Body: "Confirm receipt.\n.\nA line with a lone dot above.", Priority: alert.Flash,
			Exercise: true, Targets: alert.Targets{Posts: []string{"KZ-MOD", "BY-MOD"}}})
		if n := count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE kind = 'email' AND status = 'pending'"); n != 3 {
			t.Fatalf("%d e-mails queued in the send, want kz1, guest and ru1", n)
		}
		w.tick(t)
		if got := len(w.smtp.messages()); got != 3 {
			t.Fatalf("%d e-mails received", got)
		}
		kz := w.smtp.to(t, "kz1@example.org")
		if len(kz) != 1 {
			t.Fatalf("kz1 got %d e-mails", len(kz))
		}
		m := kz[0]
		for _, c := range m.rawSubject {
			if c > 0x7e {
				t.Fatalf("raw Subject is not RFC 2047 encoded: %q", m.rawSubject)
			}
		}
		if !strings.Contains(strings.ToLower(m.rawSubject), "=?utf-8?b?") {
			t.Fatalf("raw Subject %q", m.rawSubject)
		}
		if want := "EXERCISE — [FLASH] " + cyrTitle; m.subject != want {
			t.Fatalf("subject %q, want %q", m.subject, want)
		}
		if first, _, _ := strings.Cut(m.body, "\n"); !strings.HasPrefix(first, "EXERCISE") {
			t.Fatalf("the body's first line is %q", first)
		}
		row := outbound(t, d, "kind = 'email' AND person_id = 'kz1'")[0]
		if got := m.header.Get("Message-Id"); got != "<"+row.id+"@example.org>" {
			t.Fatalf("Message-ID %q, want the row id %s", got, row.id)
		}
		if m.header.Get("Content-Type") != "text/plain; charset=utf-8" || m.header.Get("Date") == "" || m.header.Get("From") != `"Sitroom" <alerts@example.org>` {
			t.Fatalf("headers %v", m.header)
		}
		deadline := t0.Add(10 * time.Minute)
		almaty, _ := time.LoadLocation("Asia/Almaty")
		for _, want := range []string{cyrTitle, "Confirm receipt.\n.\nA line with a lone dot above.", "KZ-MOD — KZ-MOD command post",
			deadline.Format("2006-01-02 15:04") + " UTC", deadline.In(almaty).Format("2006-01-02 15:04") + " Asia/Almaty", al.ID} {
			if !strings.Contains(m.body, want) {
				t.Fatalf("body lacks %q:\n%s", want, m.body)
			}
		}
		token := linkIn(t, m.body)
		did, pid, err := w.n.VerifyAckLink(token, t0)
		if err != nil || pid != "kz1" || did != w.delivery(t, al.ID, "KZ-MOD").ID {
			t.Fatalf("link: %s %s %v", did, pid, err)
		}
		// The Russian officer's e-mail is in Russian; the guest, who has
		// no account, gets no link.
		ru := w.smtp.to(t, "ru1@example.org")
		if len(ru) != 1 || !strings.Contains(ru[0].body, "Подтвердить до") || !strings.Contains(ru[0].body, "Минобороны РБ") ||
			!strings.HasPrefix(ru[0].subject, "EXERCISE — [FLASH] ") || !strings.Contains(ru[0].body, baseURL+"/ack/") {
			t.Fatalf("Russian e-mail: %+v", ru)
		}
		if to := ru[0].header.Get("To"); !strings.Contains(to, "=?utf-8?") || !strings.Contains(to, "<ru1@example.org>") {
			t.Fatalf("To %q", to)
		}
		guest := w.smtp.to(t, "guest@example.org")
		if len(guest) != 1 || strings.Contains(guest[0].body, "/ack/") || !strings.Contains(guest[0].body, "no account") {
			t.Fatalf("guest e-mail: %+v", guest)
		}
		// After the 250, the deliveries are delivered via e-mail, in the
		// name of the officers who may acknowledge.
		for _, post := range []string{"KZ-MOD", "BY-MOD"} {
			if dl := w.delivery(t, al.ID, post); dl.State != alert.DDelivered || dl.DeliveredVia != alert.ChannelEmail {
				t.Fatalf("%s: %+v", post, dl)
			}
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE status = 'sent'"); n != 3 {
			t.Fatalf("%d rows sent", n)
		}
	})
}

func TestLinkGetChangesNothingAndPostAcknowledgesInThePersonsName(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.NewAlert{Title: "Check", Priority: alert.Urgent, Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		// The e-mail is not sent yet: nothing marks the delivery but the link.
		var token string
		{
			// Render the e-mail without sending it, to read its link.
			ms, err := w.snd.claim(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			jobs, err := w.snd.loadMailJobs(context.Background(), ms)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range ms {
				if m.PersonID == "kz1" {
					token = linkIn(t, w.n.mailText(jobs[m.ID]))
				}
			}
		}
		before := snapshot(t, d)
		for range 3 { // gateways, previewers, the officer: all GET
			li, err := w.n.LinkInfo(context.Background(), token)
			if err != nil {
				t.Fatal(err)
			}
			if li.Title != "Check" || li.PostCode != "KZ-MOD" || li.PersonID != "kz1" || li.Exercise || li.AckedAt != nil ||
				!li.DeadlineAt.Equal(t0.Add(10*time.Minute)) || li.DeadlineLocal.Location().String() != "Asia/Almaty" || li.AlertState != alert.StateOpen {
				t.Fatalf("link info %+v", li)
			}
		}
		if after := snapshot(t, d); after != before {
			t.Fatalf("GET changed the store:\n%s\n%s", before, after)
		}
		// The POST, anonymous (no session: the link is the credential).
		ack, err := w.n.AckByLink(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		if ack.Channel != alert.ChannelEmail || ack.AckedBy == nil || *ack.AckedBy.Login != "kz1@x" || ack.Late || ack.Repeated {
			t.Fatalf("ack %+v", ack)
		}
		dl := w.delivery(t, al.ID, "KZ-MOD")
		if dl.State != alert.DAcknowledged || dl.AckChannel != alert.ChannelEmail || *dl.AckedBy.Login != "kz1@x" {
			t.Fatalf("delivery %+v", dl)
		}
		if n := count(t, d, "SELECT COUNT(*) FROM audit_log WHERE action = 'alert.ack' AND actor = 'user:kz1@x'"); n != 1 {
			t.Fatalf("%d audit entries in kz1's name", n)
		}
		again, err := w.n.AckByLink(context.Background(), token)
		if err != nil || !again.Repeated {
			t.Fatalf("second POST: %+v %v", again, err)
		}
		if li, err := w.n.LinkInfo(context.Background(), token); err != nil || li.AckedAt == nil || li.AckedBy != "kz1@x" {
			t.Fatalf("link info after the ack: %+v %v", li, err)
		}
	})
}

func TestExpiredAndForgedLinksAreRefusedAndChangeNothing(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		al := w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		did := w.delivery(t, al.ID, "KZ-MOD").ID
		exp := w.n.linkExpiry(al.DeadlineAt, t0)
		if !exp.Equal(al.DeadlineAt.Add(24 * time.Hour)) {
			t.Fatalf("links expire at %v, want 24 h after the deadline", exp)
		}
		good := w.n.SignAckLink(did, "kz1", exp)
		body, sig, _ := strings.Cut(good, ".")
		other := &Links{key: []byte(strings.Repeat("k", 32))}
		rawBody, _ := base64.RawURLEncoding.DecodeString(body)
		forged := []string{
			"", "garbage", good + "x", body + "." + sig[:len(sig)-2] + "AA",
			other.SignAckLink(did, "kz1", exp), // signed with another key
			base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(rawBody), "kz1", "ru1", 1))) + "." + sig, // someone else's name
			w.n.SignAckLink(did, "kz1", exp.Add(time.Hour))[:len(body)] + "." + sig,                                     // a later expiry
		}
		before := snapshot(t, d)
		check := func(token, typ string, kind apperr.Kind) {
			t.Helper()
			if _, err := w.n.LinkInfo(context.Background(), token); !isType(err, kind, typ) {
				t.Errorf("LinkInfo(%.20q…): %v, want %s", token, err, typ)
			}
			if _, err := w.n.AckByLink(context.Background(), token); !isType(err, kind, typ) {
				t.Errorf("AckByLink(%.20q…): %v, want %s", token, err, typ)
			}
		}
		for _, f := range forged {
			check(f, "link-invalid", apperr.KindUnauthorized)
		}
		w.clk.Set(exp)
		check(good, "link-expired", apperr.KindForbidden)
		if after := snapshot(t, d); after != before {
			t.Fatalf("refused links changed the store:\n%s\n%s", before, after)
		}
		if dl := w.delivery(t, al.ID, "KZ-MOD"); dl.AckedAt != nil {
			t.Fatal("acknowledged through a refused link")
		}
		// A genuine link of someone who may not acknowledge for the post
		// is refused by the alert rules, not by the link.
		w.clk.Set(t0)
		if _, err := w.n.AckByLink(context.Background(), w.n.SignAckLink(did, "ru1", exp)); !isType(err, apperr.KindNotFound, "not-found") {
			t.Fatalf("ru1 acknowledging for KZ-MOD: %v", err)
		}
		if _, err := w.n.AckByLink(context.Background(), w.n.SignAckLink(did, "guest", exp)); !isType(err, apperr.KindForbidden, "no-account") {
			t.Fatalf("a person without an account: %v", err)
		}
	})
}

func isType(err error, kind apperr.Kind, typ string) bool {
	e, ok := apperr.As(err)
	return ok && e.Kind == kind && e.Type == typ
}

func TestRestartAfterACrashBetweenSendAndRecordResendsWithTheSameID(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		srv := newHookServer(t, func(int) int { return http.StatusOK })
		createHook(t, w, "super", NewWebhook{URL: srv.URL, PostID: "KZ-MOD"})
		w.roster.onDuty["KZ-MOD"] = w.roster.onDuty["KZ-MOD"][:1] // kz1 only
		al := w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		if _, err := w.disp.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		w.snd.crashAfterSend = func(string) bool { return true }
		if n, err := w.snd.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("first process worked %d, %v", n, err)
		}
		if len(w.smtp.messages()) != 1 || len(srv.requests()) != 1 {
			t.Fatal("not sent before the crash")
		}
		if n := count(t, d, "SELECT COUNT(*) FROM notify_outbound WHERE status = 'sending'"); n != 2 {
			t.Fatalf("%d rows left sending by the crash", n)
		}
		if dl := w.delivery(t, al.ID, "KZ-MOD"); dl.DeliveredAt != nil {
			t.Fatal("delivered although the crash came before recording")
		}
		// A new process on the same store: a new notifier and sender.
		n2 := w.notifier(t)
		s2 := w.sender(t, n2)
		if n, _ := s2.Tick(ctx); n != 0 {
			t.Fatalf("the new sender took %d rows still under lease", n)
		}
		w.clk.Advance(2 * time.Minute) // the dead process's lease runs out
		if n, err := s2.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("restart worked %d, %v", n, err)
		}
		mails, reqs := w.smtp.messages(), srv.requests()
		if len(mails) != 2 || len(reqs) != 2 {
			t.Fatalf("%d e-mails, %d calls after the restart", len(mails), len(reqs))
		}
		if a, b := parse(t, mails[0]).header.Get("Message-Id"), parse(t, mails[1]).header.Get("Message-Id"); a != b || a == "" {
			t.Fatalf("Message-ID changed on resend: %q %q", a, b)
		}
		if parse(t, mails[0]).body != parse(t, mails[1]).body {
			t.Fatal("the resent e-mail differs (its link must be the same)")
		}
		if a, b := reqs[0].header.Get("Sitroom-Event-Id"), reqs[1].header.Get("Sitroom-Event-Id"); a != b || a == "" || string(reqs[0].body) != string(reqs[1].body) {
			t.Fatalf("Sitroom-Event-Id changed on resend: %q %q", a, b)
		}
		for _, r := range outbound(t, d, "1 = 1") {
			if r.status != StatusSent || r.attempts != 2 {
				t.Fatalf("after restart: %+v", r)
			}
		}
		if dl := w.delivery(t, al.ID, "KZ-MOD"); dl.DeliveredAt == nil {
			t.Fatal("not delivered after the resend")
		}
	})
}

func TestEmailRefusedByTheServerIsRetriedAndDeliversOnlyAfter250(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.smtp.failNext = 1
		al := w.send(t, alert.NewAlert{Targets: alert.Targets{Posts: []string{"BY-MOD"}}})
		if _, err := w.snd.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		r := outbound(t, d, "kind = 'email'")[0]
		if r.status != StatusPending || r.attempts != 1 || !strings.Contains(r.lastError, "451") || !r.next.Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("after a 451: %+v", r)
		}
		if dl := w.delivery(t, al.ID, "BY-MOD"); dl.DeliveredAt != nil {
			t.Fatal("delivered without a 250")
		}
		w.clk.Advance(time.Second)
		if _, err := w.snd.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if r := outbound(t, d, "kind = 'email'")[0]; r.status != StatusSent {
			t.Fatalf("after the retry: %+v", r)
		}
		if dl := w.delivery(t, al.ID, "BY-MOD"); dl.DeliveredVia != alert.ChannelEmail {
			t.Fatalf("after the 250: %+v", dl)
		}
	})
}

func TestEscalationEmailReachesTheDeputyWhoAcknowledgesByLink(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		al := w.send(t, alert.NewAlert{Title: "Check", Priority: alert.Routine, Targets: alert.Targets{Posts: []string{"KZ-MOD"}}})
		w.clk.Set(al.DeadlineAt)
		if _, err := w.eng.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		w.tick(t)
		got := w.smtp.to(t, "deputy@example.org")
		if len(got) != 1 || got[0].subject != "[ROUTINE] [ESCALATION 1] KZ-MOD: Check" || !strings.Contains(got[0].body, "ESCALATION, level 1") {
			t.Fatalf("escalation e-mail %+v", got)
		}
		// Links of escalation e-mails run 24 h from when they were queued.
		w.clk.Advance(24*time.Hour - time.Second)
		ack, err := w.n.AckByLink(ctx, linkIn(t, got[0].body))
		if err != nil || !ack.Late || *ack.AckedBy.Login != "deputy-KZ-MOD@x" || ack.Channel != alert.ChannelEmail {
			t.Fatalf("deputy's ack: %+v %v", ack, err)
		}
	})
}

func TestCancellationReachesEveryoneEmailedAndTheBoundWebhook(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		srv := newHookServer(t, func(int) int { return http.StatusOK })
		createHook(t, w, "super", NewWebhook{URL: srv.URL, PostID: "KZ-MOD"})
		al := w.send(t, alert.NewAlert{Title: "Wrong", Exercise: true, Targets: alert.Targets{Posts: []string{"KZ-MOD", "BY-MOD"}}})
		w.tick(t)
		if _, err := w.alerts.Cancel(as("centre"), al.ID, "sent in error"); err != nil {
			t.Fatal(err)
		}
		w.tick(t)
		for _, addr := range []string{"kz1@example.org", "guest@example.org", "ru1@example.org"} {
			ms := w.smtp.to(t, addr)
			if len(ms) != 2 {
				t.Fatalf("%s got %d e-mails", addr, len(ms))
			}
			c := ms[1]
			if c.subject != "EXERCISE — [CANCELLED] Wrong" || !strings.HasPrefix(c.body, "EXERCISE") || c.header.Get("In-Reply-To") != ms[0].header.Get("Message-Id") {
				t.Fatalf("%s cancellation: %q %v\n%s", addr, c.subject, c.header, c.body)
			}
			if !strings.Contains(c.body, "sent in error") && !strings.Contains(c.body, "ОТМЕНЕНО") {
				t.Fatalf("%s cancellation body:\n%s", addr, c.body)
			}
		}
		var types []string
		for _, r := range srv.requests() {
			types = append(types, r.header.Get("Sitroom-Event-Type"))
		}
		if !strings.Contains(strings.Join(types, " "), "alert.cancelled") {
			t.Fatalf("the post's webhook did not hear of the cancellation: %v", types)
		}
		// Nothing more: a second cancel is refused by alerts and queues nothing.
		before := count(t, d, "SELECT COUNT(*) FROM notify_outbound")
		if _, err := w.alerts.Cancel(as("centre"), al.ID, "again"); err == nil {
			t.Fatal("cancelled twice")
		}
		if count(t, d, "SELECT COUNT(*) FROM notify_outbound") != before {
			t.Fatal("a refused cancel queued e-mails")
		}
	})
}

func TestSMTPAuthenticatesWithPlain(t *testing.T) {
	r := newSMTP(t)
	r.user = "relay"
	m := &SMTP{Addr: r.addr, User: "relay", Password: "secret", Timeout: 5 * time.Second}
	if err := m.Send(context.Background(), "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
	bad := &SMTP{Addr: r.addr, User: "relay", Password: "wrong", Timeout: 5 * time.Second}
	if err := bad.Send(context.Background(), "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nhi\r\n")); err == nil {
		t.Fatal("wrong password accepted")
	}
	if len(r.messages()) != 1 {
		t.Fatalf("%d messages", len(r.messages()))
	}
}

func TestPersonActorNeedsAnActiveUser(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		seed(t, d)
		f := PersonActor(d, actorForUser)
		if a, err := f(context.Background(), "kz1"); err != nil || a.Login != "kz1@x" || a.Kind != auth.KindUser {
			t.Fatalf("kz1: %+v %v", a, err)
		}
		if _, err := f(context.Background(), "guest"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("guest: %v", err)
		}
		if _, err := d.Exec(context.Background(), "UPDATE users SET active = FALSE WHERE id = 'u-kz1'"); err != nil {
			t.Fatal(err)
		}
		if _, err := f(context.Background(), "kz1"); !apperr.Is(err, apperr.KindNotFound) {
			t.Fatalf("disabled user: %v", err)
		}
	})
}
