package db_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

var seedAt = clock.Norm(time.Date(2024, 3, 1, 9, 0, 0, 123456000, time.UTC))

// seed fills a store with a little of everything the foundation schema
// holds: Cyrillic text, NULLs, booleans, instants, JSON, bodies whose parent
// sorts after them (so restoring in key order would trip the foreign key), and
// sealed audit entries by a user and by the system.
func seed(t testing.TB, d *db.DB, l *audit.Log) {
	t.Helper()
	ctx := context.Background()
	later := seedAt.Add(90 * time.Minute)
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO member_states (id, code, name_en, name_ru, tz, working_hours, search, created_at, updated_at)
			VALUES ('s-kz', 'KZ', 'Kazakhstan', 'Казахстан', 'Asia/Almaty', '09:00-18:00', 'kz kazakhstan казахстан', ?, ?)`, []any{seedAt, later}},
		{`INSERT INTO member_state_statuses (id, state_id, status, valid_from, note, created_at)
			VALUES ('st-1', 's-kz', 'suspended', '2022-01-05', 'по решению', ?)`, []any{seedAt}},
		{`INSERT INTO bodies (id, code, kind, name_en, name_ru, parent_id, created_at, updated_at)
			VALUES ('b-z', 'CRC', 'centre', 'Crisis Response Centre', 'Кризисный центр', NULL, ?, ?)`, []any{seedAt, seedAt}},
		{`INSERT INTO bodies (id, code, kind, name_en, name_ru, parent_id, state_id, active_to, created_at, updated_at)
			VALUES ('b-a', 'WG-AF', 'working_group', 'Working group', 'Рабочая группа', 'b-z', 's-kz', ?, ?, ?)`, []any{later, seedAt, seedAt}},
		{`INSERT INTO people (id, code, name_en, name_ru, email, state_id, body_id, created_at, updated_at)
			VALUES ('p-1', 'P1', 'Ann Lee', 'Анна Ли', 'ann@example.org', 's-kz', 'b-a', ?, ?)`, []any{seedAt, seedAt}},
		{`INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, ministry_kind, tz, contacts, head_person_id, created_at, updated_at)
			VALUES ('post-1', 'KZ-MOD', 'ministry', 'MoD command post', 'КП Минобороны', 's-kz', 'defence', 'Asia/Almaty', '[{"kind":"phone","value":"+7 717"}]', 'p-1', ?, ?)`, []any{seedAt, seedAt}},
		{`INSERT INTO positions (id, person_id, body_id, title_en, title_ru, start_date, end_date, acting, created_at)
			VALUES ('pos-1', 'p-1', 'b-z', 'Director', 'Директор', '2019-01-01', NULL, TRUE, ?)`, []any{seedAt}},
		{`INSERT INTO positions (id, person_id, body_id, title_en, title_ru, start_date, end_date, acting, created_at)
			VALUES ('pos-2', 'p-1', NULL, 'Officer', 'Офицер', '2017-01-01', '2018-12-31', FALSE, ?)`, []any{seedAt}},
		{`INSERT INTO users (id, person_id, login, password_hash, locale, active, password_changed_at, created_at, updated_at)
			VALUES ('u-1', 'p-1', 'ann', '$argon2id$x', 'ru', TRUE, NULL, ?, ?)`, []any{seedAt, seedAt}},
		{`INSERT INTO role_grants (id, user_id, role, scope_kind, scope_id, created_at)
			VALUES ('g-1', 'u-1', 'post_head', 'post', 'post-1', ?)`, []any{seedAt}},
		{`INSERT INTO sessions (id, user_id, csrf, ip, user_agent, idle_seconds, created_at, last_seen_at, expires_at, revoked_at)
			VALUES ('sess-1', 'u-1', 'csrf', '10.0.0.1', 'Firefox', 43200, ?, ?, ?, NULL)`, []any{seedAt, later, later.Add(time.Hour)}},
		{`INSERT INTO api_tokens (id, user_id, post_id, name, hash, prefix, created_at)
			VALUES ('tok-1', 'u-1', 'post-1', 'national system', 'h', 'st_', ?)`, []any{seedAt}},
		{`INSERT INTO login_failures (key, failures, last_at) VALUES ('ip:192.0.2.1', 3, ?)`, []any{later}},
		{`INSERT INTO settings (key, value) VALUES ('cookie_key', 'c2VjcmV0')`, nil},
	}
	for _, s := range stmts {
		if _, err := d.Exec(ctx, s.q, s.args...); err != nil {
			t.Fatalf("seed: %v\n%s", err, s.q)
		}
	}
	// More children of b-z than one insert batch holds, all sorting before
	// it: a restore must not need the parent in the same statement.
	for i := 0; i < 150; i++ {
		if _, err := d.Exec(ctx, `INSERT INTO bodies (id, code, kind, name_en, name_ru, parent_id, created_at, updated_at)
			VALUES (?, ?, 'working_group', 'Group', 'Группа', 'b-z', ?, ?)`, fmt.Sprintf("b-c-%03d", i), fmt.Sprintf("WG-%03d", i), seedAt, seedAt); err != nil {
			t.Fatal(err)
		}
	}
	ann := auth.With(ctx, &auth.Actor{Kind: auth.KindUser, UserID: "u-1", Login: "ann", IP: "10.0.0.1"})
	for i, actx := range []context.Context{ann, auth.With(ctx, auth.System("import")), ann} {
		err := d.RunInTx(actx, func(tx *db.Tx) error {
			return l.Record(actx, tx, audit.Entry{Action: "post.update", ObjectType: "post", ObjectID: "post-1",
				Summary: fmt.Sprintf("изменение %d", i), Before: map[string]string{"name": "a"}, After: map[string]string{"name": "б"}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.SealPending(ctx); err != nil {
		t.Fatal(err)
	}
}

// tableRows reads every table of d through a logical dump, keyed by table,
// each row a map of column to its engine-neutral JSON value.
func tableRows(t testing.TB, d *db.DB) map[string][]map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if _, err := d.Dump(context.Background(), &buf, db.BackupMeta{}); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	var table string
	var cols []string
	for sc.Scan() {
		line := sc.Bytes()
		if line[0] == '[' {
			var vals []any
			if err := json.Unmarshal(line, &vals); err != nil {
				t.Fatal(err)
			}
			row := map[string]any{}
			for i, c := range cols {
				row[c] = vals[i]
			}
			out[table] = append(out[table], row)
			continue
		}
		var l struct {
			Table   string `json:"table"`
			Columns []struct{ Name string }
		}
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatal(err)
		}
		if l.Table != "" {
			table, cols = l.Table, nil
			for _, c := range l.Columns {
				cols = append(cols, c.Name)
			}
			out[table] = []map[string]any{}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func rowStrings(rows []map[string]any) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		b, _ := json.Marshal(r) // map keys are sorted
		out[i] = string(b)
	}
	sort.Strings(out)
	return out
}

// sameRows fails unless every table holds the same rows in both stores.
func sameRows(t testing.TB, want, got map[string][]map[string]any) {
	t.Helper()
	for table := range want {
		if _, ok := got[table]; !ok {
			t.Errorf("table %s missing after restore", table)
		}
	}
	for table, rows := range got {
		w, g := rowStrings(want[table]), rowStrings(rows)
		if strings.Join(w, "\n") != strings.Join(g, "\n") {
			t.Errorf("table %s differs:\nwant %d rows %v\ngot  %d rows %v", table, len(w), w, len(g), g)
		}
	}
}

// emptyTarget returns the DSN of a place to restore into: a file that does
// not exist yet, or a new, empty PostgreSQL schema.
func emptyTarget(t testing.TB, e db.Dialect) string {
	if e == db.Postgres {
		return testutil.PostgresDSN(t)
	}
	return filepath.Join(t.TempDir(), "restored.db")
}

func openTarget(t testing.TB, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// chainVerifies checks the restored chain (against the anchor, if any) and
// that it goes on: a new entry seals onto the restored head.
func chainVerifies(t testing.TB, d *db.DB, anchor *audit.Anchor) {
	t.Helper()
	ctx := auth.With(context.Background(), auth.System("test"))
	r, err := audit.Verify(ctx, d, anchor)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("restored chain broken at %s", r.Broken)
	}
	if anchor != nil && r.Last.Seq < anchor.Seq {
		t.Fatalf("restored chain ends at %d, before the backup's anchor %s", r.Last.Seq, anchor)
	}
	l := audit.New(d, clock.Real{})
	if err := d.RunInTx(ctx, func(tx *db.Tx) error {
		return l.Record(ctx, tx, audit.Entry{Action: "after.restore", Summary: "life goes on"})
	}); err != nil {
		t.Fatalf("recording after restore: %v", err)
	}
	if _, err := l.SealPending(ctx); err != nil {
		t.Fatal(err)
	}
	r, err = audit.Verify(ctx, d, anchor)
	if err != nil || !r.OK() || r.Unsealed != 0 {
		t.Fatalf("after a new entry: %+v, %v", r, err)
	}
}

func backup(t testing.TB, d *db.DB, l *audit.Log) (string, audit.Anchor) {
	t.Helper()
	ctx := context.Background()
	a, err := l.AnchorNote(ctx, "backup")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup")
	info, err := d.Backup(ctx, path, db.BackupMeta{Anchor: a.String()})
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes == 0 {
		t.Fatal("empty backup")
	}
	return path, a
}

// A quiescent store backed up and restored holds the same rows in every
// table, and its audit chain verifies against the backup's anchor.
func TestBackupAndRestoreRoundTripEveryRow(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.NewFake(seedAt, false))
		seed(t, d, l)
		path, anchor := backup(t, d, l)
		dsn := emptyTarget(t, d.Dialect)
		info, err := db.Restore(context.Background(), dsn, path)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dialect == db.Postgres && info.Anchor != anchor.String() {
			t.Fatalf("dump header anchor %q, want %s", info.Anchor, anchor)
		}
		r := openTarget(t, dsn)
		got := tableRows(t, r)
		sameRows(t, tableRows(t, d), got)
		if len(got["bodies"]) != 152 || len(got["audit_log"]) != 3 {
			t.Fatalf("restored %d bodies, %d audit entries", len(got["bodies"]), len(got["audit_log"]))
		}
		anchors := 0
		for _, a := range got["audit_anchors"] {
			if a["note"] == "backup" && a["hash"] == anchor.Hash {
				anchors++
			}
		}
		if anchors != 1 {
			t.Fatalf("the backup's anchor is not in the restored audit_anchors: %v", got["audit_anchors"])
		}
		chainVerifies(t, r, &anchor)
	})
}

// A backup taken while a writer keeps committing (an action and its audit
// entry per transaction, the sealer running) is a consistent snapshot: it
// holds a prefix of the writer's transactions, each whole, the rest of the
// data unchanged, and a chain that verifies against the backup's anchor.
func TestBackupOfALiveStoreIsAConsistentSnapshot(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		ctx := auth.With(context.Background(), auth.System("writer"))
		l := audit.New(d, clock.Real{})
		seed(t, d, l)
		runCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			l.RunSealer(runCtx, nil)
		}()
		var written atomic.Int64
		writeErr := make(chan error, 1)
		go func() {
			defer wg.Done()
			for i := 0; runCtx.Err() == nil; i++ {
				key := fmt.Sprintf("w-%05d", i)
				err := d.RunInTx(ctx, func(tx *db.Tx) error {
					if _, err := tx.Exec(ctx, "INSERT INTO settings (key, value) VALUES (?, ?)", key, "v"); err != nil {
						return err
					}
					return l.Record(ctx, tx, audit.Entry{Action: "setting.set", ObjectType: "setting", ObjectID: key, Summary: "set " + key})
				})
				if err != nil {
					if runCtx.Err() == nil {
						writeErr <- err
					}
					return
				}
				written.Add(1)
			}
		}()
		waitFor := func(n int64) {
			for deadline := time.Now().Add(30 * time.Second); written.Load() < n; {
				if time.Now().After(deadline) {
					t.Fatalf("writer stuck at %d", written.Load())
				}
				time.Sleep(time.Millisecond)
			}
		}
		waitFor(20)
		before := written.Load()
		path, anchor := backup(t, d, l)
		waitFor(written.Load() + 20) // the writer went on during and after
		stop()
		wg.Wait()
		select {
		case err := <-writeErr:
			t.Fatal(err)
		default:
		}

		dsn := emptyTarget(t, d.Dialect)
		if _, err := db.Restore(context.Background(), dsn, path); err != nil {
			t.Fatal(err)
		}
		r := openTarget(t, dsn)
		src, got := tableRows(t, d), tableRows(t, r)

		// The writer's settings: a prefix w-00000 … w-k-1, k at least what
		// was written before the backup began.
		var keys []string
		for _, row := range got["settings"] {
			if k := row["key"].(string); strings.HasPrefix(k, "w-") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		k := len(keys)
		if int64(k) < before || int64(k) >= written.Load() {
			t.Fatalf("backup holds %d writes; %d were done before it and %d in all", k, before, written.Load())
		}
		for i, key := range keys {
			if key != fmt.Sprintf("w-%05d", i) {
				t.Fatalf("writes in the backup are not a prefix: %v", keys)
			}
		}
		// Each of those transactions is whole: its audit entry is there,
		// and no entry of a later one.
		var objs []string
		srcByID := map[string]map[string]any{}
		for _, e := range src["audit_log"] {
			srcByID[fmt.Sprint(e["id"])] = e
		}
		for _, e := range got["audit_log"] {
			if e["action"] == "setting.set" {
				objs = append(objs, e["object_id"].(string))
			}
			s := srcByID[fmt.Sprint(e["id"])]
			if s == nil {
				t.Fatalf("restored entry %v is not in the source", e["id"])
			}
			for c, v := range e {
				sealCol := c == "seq" || c == "prev_hash" || c == "hash"
				if (!sealCol || e["seq"] != nil) && fmt.Sprint(s[c]) != fmt.Sprint(v) {
					t.Fatalf("entry %v column %s: %v in the backup, %v in the source", e["id"], c, v, s[c])
				}
			}
		}
		sort.Strings(objs)
		if strings.Join(objs, ",") != strings.Join(keys, ",") {
			t.Fatalf("audit entries %v do not match the writes %v", objs, keys)
		}
		// Everything the writer does not touch is as in the source.
		for _, table := range []string{"member_states", "bodies", "people", "posts", "positions", "users", "role_grants", "sessions", "api_tokens"} {
			if a, b := rowStrings(src[table]), rowStrings(got[table]); strings.Join(a, "\n") != strings.Join(b, "\n") {
				t.Errorf("table %s differs", table)
			}
		}
		chainVerifies(t, r, &anchor)
	})
}

// A backup of either engine restores into the other: the same rows, and a
// chain that verifies (the hash does not depend on the engine).
func TestRestoreMovesAStoreBetweenEngines(t *testing.T) {
	for _, from := range testutil.Engines {
		for _, to := range testutil.Engines {
			if from == to {
				continue
			}
			t.Run(string(from)+"-to-"+string(to), func(t *testing.T) {
				d := testutil.Open(t, from)
				l := audit.New(d, clock.NewFake(seedAt, false))
				seed(t, d, l)
				path, anchor := backup(t, d, l)
				dsn := emptyTarget(t, to)
				info, err := db.Restore(context.Background(), dsn, path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Method != "load" {
					t.Fatalf("method %s", info.Method)
				}
				r := openTarget(t, dsn)
				sameRows(t, tableRows(t, d), tableRows(t, r))
				chainVerifies(t, r, &anchor)
			})
		}
	}
}

// A migrated but unused store (the operator ran `sitroom migrate`, or a
// server started once) is empty enough to restore into.
func TestRestoreIntoAMigratedEmptyStore(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.NewFake(seedAt, false))
		seed(t, d, l)
		path, anchor := backup(t, d, l)
		target := testutil.Open(t, d.Dialect)
		if _, err := audit.New(target, clock.Real{}).AnchorNote(context.Background(), "server"); err != nil {
			t.Fatal(err) // what a server's start leaves in an empty store
		}
		if _, err := target.Exec(context.Background(), "INSERT INTO settings (key, value) VALUES ('cookie_key', 'other')"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Restore(context.Background(), target.DSN, path); err != nil {
			t.Fatal(err)
		}
		sameRows(t, tableRows(t, d), tableRows(t, target))
		chainVerifies(t, target, &anchor)
	})
}

func TestRestoreRefusesATargetHoldingData(t *testing.T) {
	cases := []struct {
		name  string
		setup string
	}{
		{"a member state", `INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES ('x', 'XX', 'X', 'X', 'UTC', '2024-01-01 00:00:00+00:00', '2024-01-01 00:00:00+00:00')`},
		{"an audit entry", `INSERT INTO audit_log (at, actor, action) VALUES ('2024-01-01 00:00:00+00:00', 'system:x', 'x')`},
		{"an advanced chain head", `UPDATE audit_head SET seq = 4`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
				l := audit.New(d, clock.NewFake(seedAt, false))
				seed(t, d, l)
				path, _ := backup(t, d, l)
				target := testutil.Open(t, d.Dialect)
				if _, err := target.Exec(context.Background(), tc.setup); err != nil {
					t.Fatal(err)
				}
				before := tableRows(t, target)
				_, err := db.Restore(context.Background(), target.DSN, path)
				if err == nil || !strings.Contains(err.Error(), "not empty") {
					t.Fatalf("restore into a store with %s: %v", tc.name, err)
				}
				sameRows(t, before, tableRows(t, target))
			})
		})
	}
}

// A damaged backup is refused whole: nothing of it lands in the target.
func TestRestoreRefusesDamagedBackups(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		l := audit.New(d, clock.NewFake(seedAt, false))
		seed(t, d, l)
		var dump bytes.Buffer
		if _, err := d.Dump(context.Background(), &dump, db.BackupMeta{}); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(&dump)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(strings.TrimSuffix(string(raw), "\n"), "\n")
		firstRow := ""
		for _, l := range lines {
			if strings.HasPrefix(l, "[") {
				firstRow = l
				break
			}
		}
		gz := func(s string) []byte {
			var b bytes.Buffer
			w := gzip.NewWriter(&b)
			w.Write([]byte(s))
			w.Close()
			return b.Bytes()
		}
		dir := t.TempDir()
		cases := []struct {
			name, content, want string
		}{
			{"no end marker", strings.Join(lines[:len(lines)-1], ""), "truncated"},
			{"cut mid-line", string(raw[:len(raw)-5]), "truncated"},
			{"a row dropped", strings.Replace(string(raw), "\n"+firstRow, "\n", 1), "rows read"},
			{"not a dump", "hello\n", "not a sitroom dump"},
			{"unknown table", strings.Replace(string(raw), `{"table":"bodies"`, `{"table":"bogus"`, 1), "bogus"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
				if err := os.WriteFile(path, gz(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				target := testutil.Open(t, d.Dialect)
				_, err := db.Restore(context.Background(), target.DSN, path)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
				for table, rows := range tableRows(t, target) {
					if table != "audit_head" && table != "outbox_head" && len(rows) > 0 {
						t.Fatalf("table %s holds %d rows after a refused restore", table, len(rows))
					}
				}
			})
		}
		garbage := filepath.Join(dir, "garbage")
		os.WriteFile(garbage, []byte("PK\x03\x04 not a backup"), 0o600)
		if _, err := db.Restore(context.Background(), emptyTarget(t, d.Dialect), garbage); err == nil || !strings.Contains(err.Error(), "not a sitroom backup") {
			t.Fatalf("garbage: %v", err)
		}
	})
}

func TestBackupNeverOverwritesAFile(t *testing.T) {
	testutil.EachEngine(t, func(t *testing.T, d *db.DB) {
		path := filepath.Join(t.TempDir(), "existing")
		if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Backup(context.Background(), path, db.BackupMeta{}); err == nil {
			t.Fatal("backup overwrote a file")
		}
		if b, _ := os.ReadFile(path); string(b) != "precious" {
			t.Fatalf("file now holds %q", b)
		}
	})
}

// An SQLite backup copied into place refuses a target directory that holds
// a stale WAL, which SQLite would otherwise replay into the restored file.
func TestRestoreRefusesAStaleWALBesideTheTarget(t *testing.T) {
	d := testutil.Open(t, db.SQLite)
	l := audit.New(d, clock.NewFake(seedAt, false))
	seed(t, d, l)
	path, _ := backup(t, d, l)
	target := filepath.Join(t.TempDir(), "new.db")
	if err := os.WriteFile(target+"-wal", []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Restore(context.Background(), target, path); err == nil || !strings.Contains(err.Error(), "-wal") {
		t.Fatalf("err %v", err)
	}
	if _, err := os.Stat(target); err == nil {
		t.Fatal("target created anyway")
	}
}
