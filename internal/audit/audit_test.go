package audit_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

var t0 = time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)

func sysCtx() context.Context {
	return auth.With(context.Background(), auth.System("test"))
}

// record writes n entries, each in its own transaction, as the actor in ctx.
func record(t testing.TB, ctx context.Context, d *db.DB, l *audit.Log, n int, prefix string) {
	t.Helper()
	if err := recordErr(ctx, d, l, n, prefix); err != nil {
		t.Fatal(err)
	}
}

func recordErr(ctx context.Context, d *db.DB, l *audit.Log, n int, prefix string) error {
	for i := 0; i < n; i++ {
		err := d.RunInTx(ctx, func(tx *db.Tx) error {
			return l.Record(ctx, tx, audit.Entry{
				Action: "post.update", ObjectType: "post", ObjectID: fmt.Sprintf("%s-%d", prefix, i),
				Summary: fmt.Sprintf("%s entry %d", prefix, i),
				Before:  map[string]any{"name": "old"}, After: map[string]any{"name": fmt.Sprint("new ", i)},
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func seal(t testing.TB, l *audit.Log) int {
	t.Helper()
	n, err := l.SealPending(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func verify(t testing.TB, d *db.DB, a *audit.Anchor) *audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), d, a)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustOK(t testing.TB, r *audit.Report) {
	t.Helper()
	if !r.OK() {
		t.Fatalf("chain broken at %s", r.Broken)
	}
}

func TestEmptyChainVerifies(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		r := verify(t, d, nil)
		mustOK(t, r)
		if r.Checked != 0 || r.Head.Seq != 0 || r.Unsealed != 0 {
			t.Fatalf("report %+v", r)
		}
	})
}

func TestRecordedEntriesWaitUnsealedUntilTheSealerRuns(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.NewFake(t0, false))
		record(t, sysCtx(), d, l, 3, "a")
		r := verify(t, d, nil)
		mustOK(t, r)
		if r.Checked != 0 || r.Unsealed != 3 {
			t.Fatalf("before sealing: checked %d, unsealed %d; want 0, 3", r.Checked, r.Unsealed)
		}
		if n := seal(t, l); n != 3 {
			t.Fatalf("sealed %d, want 3", n)
		}
		r = verify(t, d, nil)
		mustOK(t, r)
		if r.Checked != 3 || r.Unsealed != 0 || r.Head.Seq != 3 || r.Head != r.Last {
			t.Fatalf("after sealing: %+v", r)
		}
		if n := seal(t, l); n != 0 {
			t.Fatalf("second seal sealed %d, want 0", n)
		}
	})
}

func TestRolledBackActionLeavesNoEntry(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := sysCtx()
		l := audit.New(d, clock.NewFake(t0, false))
		_ = d.RunInTx(ctx, func(tx *db.Tx) error {
			if err := l.Record(ctx, tx, audit.Entry{Action: "x.y", Summary: "s"}); err != nil {
				t.Fatal(err)
			}
			return fmt.Errorf("boom")
		})
		if n := seal(t, l); n != 0 {
			t.Fatalf("sealed %d entries of a rolled-back transaction", n)
		}
	})
}

// Writers in parallel, each action its own transaction, with the sealer
// running meanwhile: the chain stays one contiguous, verifiable line.
func TestConcurrentWritersAndSealerMakeOneContiguousChain(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.Real{})
		ctx, cancel := context.WithCancel(sysCtx())
		sealerDone := make(chan struct{})
		go func() {
			defer close(sealerDone)
			l.RunSealer(ctx, slog.New(slog.DiscardHandler))
		}()
		const writers, each = 8, 50
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := recordErr(ctx, d, l, each, fmt.Sprint("w", w)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		cancel()
		<-sealerDone
		seal(t, l)
		r := verify(t, d, nil)
		mustOK(t, r)
		if r.Checked != writers*each || r.Head.Seq != writers*each || r.Unsealed != 0 {
			t.Fatalf("checked %d, head %s, unsealed %d; want %d sealed", r.Checked, r.Head, r.Unsealed, writers*each)
		}
		var n, lo, hi int64
		if err := d.QueryRow(context.Background(), "SELECT COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM audit_log").Scan(&n, &lo, &hi); err != nil {
			t.Fatal(err)
		}
		if n != writers*each || lo != 1 || hi != writers*each {
			t.Fatalf("seq: %d distinct from %d to %d", n, lo, hi)
		}
	})
}

// Several sealers (replicas, or the CLI beside a server) on separate
// connections pools take turns on the head lock and never fork the chain.
func TestSeveralSealersNeverForkTheChain(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := sysCtx()
		var logs []*audit.Log
		for i := 0; i < 3; i++ {
			other, err := db.Open(ctx, d.DSN, db.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			logs = append(logs, audit.New(other, clock.Real{}))
		}
		w := audit.New(d, clock.Real{})
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for _, l := range logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := l.SealPending(ctx); err != nil {
						t.Error(err)
						return
					}
					select {
					case <-stop:
						return
					default:
					}
				}
			}()
		}
		record(t, ctx, d, w, 120, "x")
		close(stop)
		wg.Wait()
		seal(t, w)
		r := verify(t, d, nil)
		mustOK(t, r)
		if r.Checked != 120 {
			t.Fatalf("checked %d, want 120", r.Checked)
		}
	})
}

// PostgreSQL only: SQLite has one writer at a time, so transactions cannot
// commit out of order there. Transaction A inserts first and commits last;
// sealing in commit order keeps one chain holding both.
func TestOutOfOrderCommitsStillChainOnPostgres(t *testing.T) {
	d := testutil.Open(t, db.Postgres)
	ctx := sysCtx()
	l := audit.New(d, clock.NewFake(t0, false))
	inserted := make(chan struct{})
	release := make(chan struct{})
	errA := make(chan error, 1)
	go func() {
		errA <- d.RunInTx(ctx, func(tx *db.Tx) error {
			if err := l.Record(ctx, tx, audit.Entry{Action: "a.first", Summary: "A"}); err != nil {
				return err
			}
			select {
			case inserted <- struct{}{}:
			default:
			}
			<-release
			return nil
		})
	}()
	<-inserted
	record(t, ctx, d, l, 1, "B")
	if n := seal(t, l); n != 1 {
		t.Fatalf("sealed %d while A is open, want 1 (B)", n)
	}
	close(release)
	if err := <-errA; err != nil {
		t.Fatal(err)
	}
	if n := seal(t, l); n != 1 {
		t.Fatalf("sealed %d after A committed, want 1", n)
	}
	r := verify(t, d, nil)
	mustOK(t, r)
	if r.Checked != 2 {
		t.Fatalf("checked %d, want 2", r.Checked)
	}
	var idA, seqA, idB, seqB int64
	if err := d.QueryRow(ctx, "SELECT id, seq FROM audit_log WHERE action = 'a.first'").Scan(&idA, &seqA); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRow(ctx, "SELECT id, seq FROM audit_log WHERE action = 'post.update'").Scan(&idB, &seqB); err != nil {
		t.Fatal(err)
	}
	if !(idA < idB && seqA > seqB) {
		t.Fatalf("A id %d seq %d, B id %d seq %d: want A inserted first, sealed last", idA, seqA, idB, seqB)
	}
}

// Each way of tampering with sealed entries is reported at the right place.
func TestTamperingIsReportedAtTheBrokenLink(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		wantSeq int64
		reason  string
	}{
		{"summary edited", "UPDATE audit_log SET summary = 'nothing happened' WHERE seq = 4", 4, "edited"},
		{"actor edited", "UPDATE audit_log SET actor = 'user:someone-else' WHERE seq = 2", 2, "edited"},
		{"after edited", `UPDATE audit_log SET after_json = '{"name":"x"}' WHERE seq = 7`, 7, "edited"},
		{"user id nulled", "UPDATE audit_log SET actor_user_id = NULL WHERE seq = 3", 3, "edited"},
		{"time moved", "UPDATE audit_log SET at = ? WHERE seq = 5", 5, "edited"},
		{"middle row deleted", "DELETE FROM audit_log WHERE seq = 6", 6, "missing"},
		{"first row deleted", "DELETE FROM audit_log WHERE seq = 1", 1, "missing"},
		{"entry unsealed", "UPDATE audit_log SET seq = NULL, prev_hash = NULL, hash = NULL WHERE seq = 8", 8, "missing"},
		{"last rows deleted, head left", "DELETE FROM audit_log WHERE seq > 8", 9, "missing from the end"},
		{"hash re-pointed", "UPDATE audit_log SET prev_hash = 'beef' WHERE seq = 9", 9, "previous-hash"},
		{"head rewound", "UPDATE audit_head SET seq = 8", 9, "after the head"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
				ctx := auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, UserID: "u1", Login: "ann"})
				l := audit.New(d, clock.NewFake(t0, false))
				record(t, ctx, d, l, 10, "e")
				seal(t, l)
				mustOK(t, verify(t, d, nil))
				var args []any
				if strings.Contains(tc.sql, "?") {
					args = append(args, t0.Add(-time.Hour))
				}
				if _, err := d.Exec(ctx, tc.sql, args...); err != nil {
					t.Fatal(err)
				}
				r := verify(t, d, nil)
				if r.OK() {
					t.Fatalf("tampering not detected")
				}
				if r.Broken.Seq != tc.wantSeq || !strings.Contains(r.Broken.Reason, tc.reason) {
					t.Fatalf("broken at %s; want seq %d (%s)", r.Broken, tc.wantSeq, tc.reason)
				}
			})
		})
	}
}

// Cutting entries off the end and rewinding the head leaves a valid-looking
// chain; only an anchor taken earlier shows the loss. Rewriting the tail
// wholesale is caught the same way.
func TestCutTailIsDetectedOnlyWithAnAnchor(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := sysCtx()
		l := audit.New(d, clock.NewFake(t0, false))
		record(t, ctx, d, l, 5, "a")
		early, err := l.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		record(t, ctx, d, l, 5, "b")
		late, err := l.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if early.Seq != 5 || late.Seq != 10 {
			t.Fatalf("anchors %s, %s", early, late)
		}
		mustOK(t, verify(t, d, &late))

		// Cut the last three entries and rewind the head to the new end.
		var h string
		if err := d.QueryRow(ctx, "SELECT hash FROM audit_log WHERE seq = 7").Scan(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, "DELETE FROM audit_log WHERE seq > 7"); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, "UPDATE audit_head SET seq = 7, hash = ?", h); err != nil {
			t.Fatal(err)
		}
		r := verify(t, d, nil)
		mustOK(t, r) // undetectable without an anchor
		if r.Checked != 7 {
			t.Fatalf("checked %d, want 7", r.Checked)
		}
		mustOK(t, verify(t, d, &early)) // an anchor before the cut still holds
		r = verify(t, d, &late)
		if r.OK() || r.Broken.Seq != 8 || !strings.Contains(r.Broken.Reason, "cut off") {
			t.Fatalf("with the late anchor: %+v", r.Broken)
		}
	})
}

func TestRewrittenTailIsDetectedWithAnAnchor(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := sysCtx()
		l := audit.New(d, clock.NewFake(t0, false))
		record(t, ctx, d, l, 6, "a")
		anchor, err := l.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// A forger deletes entries 4.. and re-seals different ones in their
		// place: the chain is internally consistent again.
		if _, err := d.Exec(ctx, "DELETE FROM audit_log WHERE seq >= 4"); err != nil {
			t.Fatal(err)
		}
		var h string
		if err := d.QueryRow(ctx, "SELECT hash FROM audit_log WHERE seq = 3").Scan(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, "UPDATE audit_head SET seq = 3, hash = ?", h); err != nil {
			t.Fatal(err)
		}
		record(t, ctx, d, l, 3, "forged")
		seal(t, l)
		mustOK(t, verify(t, d, nil))
		r := verify(t, d, &anchor)
		if r.OK() || r.Broken.Seq != 6 || !strings.Contains(r.Broken.Reason, "differs from the anchor") {
			t.Fatalf("with the anchor: %+v", r.Broken)
		}
	})
}

func TestAnchorIsRecordedAndRoundTrips(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := sysCtx()
		l := audit.New(d, clock.NewFake(t0, false))
		empty, err := l.Anchor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if empty.String() != "0:" {
			t.Fatalf("empty chain anchor %q", empty)
		}
		record(t, ctx, d, l, 2, "a")
		a, err := l.AnchorNote(ctx, "backup")
		if err != nil {
			t.Fatal(err)
		}
		if a.Seq != 2 {
			t.Fatalf("anchor seq %d: Anchor must seal pending entries first", a.Seq)
		}
		var seq int64
		var h, note string
		var at time.Time
		if err := d.QueryRow(ctx, "SELECT seq, hash, at, note FROM audit_anchors WHERE note = 'backup'").Scan(&seq, &h, &at, &note); err != nil {
			t.Fatal(err)
		}
		if seq != a.Seq || h != a.Hash || !at.Equal(t0) {
			t.Fatalf("recorded %d:%s at %v; want %s at %v", seq, h, at, a, t0)
		}
		back, err := audit.ParseAnchor(a.String())
		if err != nil || back != a {
			t.Fatalf("ParseAnchor(%q) = %v, %v", a, back, err)
		}
	})
}

func TestParseAnchorRejectsMalformedInput(t *testing.T) {
	good := strings.Repeat("ab", 32)
	for _, s := range []string{"", "12", ":" + good, "x:" + good, "-1:" + good, "3:", "3:abc", "3:" + good + "00", "0:" + good, "3:" + strings.Repeat("zz", 32)} {
		if _, err := audit.ParseAnchor(s); err == nil {
			t.Errorf("ParseAnchor(%q) accepted", s)
		}
	}
	for _, s := range []string{"0:", "3:" + good, " 3:" + strings.ToUpper(good) + "\n"} {
		if _, err := audit.ParseAnchor(s); err != nil {
			t.Errorf("ParseAnchor(%q): %v", s, err)
		}
	}
}

func TestRunSealerSealsWhenPoked(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(sysCtx())
		defer cancel()
		l := audit.New(d, clock.Real{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.RunSealer(ctx, slog.New(slog.DiscardHandler))
		}()
		record(t, ctx, d, l, 1, "a") // Record pokes after commit
		deadline := time.Now().Add(20 * time.Second)
		for {
			r := verify(t, d, nil)
			mustOK(t, r)
			if r.Checked == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the sealer never sealed the entry")
			}
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done // RunSealer returns when its context ends
	})
}

func TestRunAnchorsLogsAnAnchorAtStart(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(sysCtx())
		l := audit.New(d, clock.NewFake(t0, false))
		record(t, ctx, d, l, 2, "a")
		var buf syncBuffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		done := make(chan struct{})
		go func() {
			defer close(done)
			l.RunAnchors(ctx, time.Hour, log)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(buf.String(), "audit anchor") && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		out := buf.String()
		var h string
		if err := d.QueryRow(context.Background(), "SELECT hash FROM audit_head").Scan(&h); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `msg="audit anchor" anchor=2:`+h) {
			t.Fatalf("log %q lacks the anchor 2:%s", out, h)
		}
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestListIsForAuditorsAndAdminsOnly(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.NewFake(t0, false))
		record(t, sysCtx(), d, l, 1, "a")
		user := func(gs ...auth.Grant) context.Context {
			return auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, UserID: "u", Login: "u", Grants: gs})
		}
		cases := []struct {
			name string
			ctx  context.Context
			want apperr.Kind // 0: allowed
		}{
			{"nobody", context.Background(), apperr.KindUnauthorized},
			{"viewer", user(auth.Grant{Role: auth.Viewer, ScopeKind: auth.ScopeGlobal}), apperr.KindForbidden},
			{"centre supervisor", user(auth.Grant{Role: auth.CentreSupervisor, ScopeKind: auth.ScopeGlobal}), apperr.KindForbidden},
			{"auditor of one state", user(auth.Grant{Role: auth.Auditor, ScopeKind: auth.ScopeState, ScopeID: "s1", StateID: "s1"}), apperr.KindForbidden},
			{"auditor", user(auth.Grant{Role: auth.Auditor, ScopeKind: auth.ScopeGlobal}), 0},
			{"admin", user(auth.Grant{Role: auth.Admin, ScopeKind: auth.ScopeGlobal}), 0},
		}
		for _, tc := range cases {
			got, _, err := l.List(tc.ctx, audit.Filter{})
			if tc.want == 0 {
				if err != nil || len(got) != 1 {
					t.Errorf("%s: %d entries, %v; want 1", tc.name, len(got), err)
				}
				continue
			}
			if !apperr.Is(err, tc.want) {
				t.Errorf("%s: err %v, want kind %d", tc.name, err, tc.want)
			}
		}
	})
}

func TestListFiltersAndPages(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		fc := clock.NewFake(t0, false)
		l := audit.New(d, fc)
		ann := auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, UserID: "u-ann", Login: "ann", IP: "10.0.0.1"})
		bob := auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, UserID: "u-bob", Login: "bob"})
		write := func(ctx context.Context, action, objType, objID string) {
			t.Helper()
			err := d.RunInTx(ctx, func(tx *db.Tx) error {
				return l.Record(ctx, tx, audit.Entry{Action: action, ObjectType: objType, ObjectID: objID, Summary: action + " " + objID,
					After: map[string]string{"id": objID}})
			})
			if err != nil {
				t.Fatal(err)
			}
			fc.Advance(time.Minute)
		}
		for i := 0; i < 5; i++ {
			write(ann, "post.update", "post", fmt.Sprint("p", i))
		}
		write(bob, "post.create", "post", "p9")
		write(bob, "user.login", "user", "u-bob")
		write(ann, "postal.thing", "x", "1")
		seal(t, l)
		auditor := auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, Login: "aud",
			Grants: []auth.Grant{{Role: auth.Auditor, ScopeKind: auth.ScopeGlobal}}})

		list := func(f audit.Filter) ([]audit.View, string) {
			t.Helper()
			v, next, err := l.List(auditor, f)
			if err != nil {
				t.Fatal(err)
			}
			return v, next
		}
		cases := []struct {
			name string
			f    audit.Filter
			want int
		}{
			{"all", audit.Filter{}, 8},
			{"actor", audit.Filter{Actor: "user:bob"}, 2},
			{"action exact", audit.Filter{Action: "post.update"}, 5},
			{"action prefix", audit.Filter{Action: "post.*"}, 6},
			{"object", audit.Filter{ObjectType: "post", ObjectID: "p3"}, 1},
			{"from", audit.Filter{From: t0.Add(5 * time.Minute)}, 3},
			{"window", audit.Filter{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}, 2},
		}
		for _, tc := range cases {
			if v, _ := list(tc.f); len(v) != tc.want {
				t.Errorf("%s: %d entries, want %d", tc.name, len(v), tc.want)
			}
		}

		v, _ := list(audit.Filter{ObjectID: "p0"})
		if len(v) != 1 {
			t.Fatalf("p0: %d", len(v))
		}
		e := v[0]
		if e.Seq == nil || *e.Seq != 1 || e.Hash == "" || e.Actor != "user:ann" || e.ActorUserID != "u-ann" ||
			e.IP != "10.0.0.1" || !e.At.Equal(t0) || string(e.After) != `{"id":"p0"}` || e.Before != nil {
			t.Fatalf("entry %+v", e)
		}

		// Pages of 3, newest first, until the cursor runs out.
		var seqs []int64
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			v, next := list(audit.Filter{Limit: 3, Cursor: cursor})
			for _, e := range v {
				seqs = append(seqs, *e.Seq)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if fmt.Sprint(seqs) != "[8 7 6 5 4 3 2 1]" {
			t.Fatalf("paged seqs %v", seqs)
		}
		if _, _, err := l.List(auditor, audit.Filter{Cursor: "nonsense"}); !apperr.Is(err, apperr.KindBadRequest) {
			t.Fatalf("bad cursor: %v", err)
		}
	})
}
