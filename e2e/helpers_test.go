package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"sitroom/internal/bench"
	"sitroom/internal/db"
	"sitroom/internal/duty"
	"sitroom/internal/testutil"
)

// epoch is where the servers' test clocks start.
var epoch = time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// sitroomBinary builds the real binary once per test run (go build, into a
// temporary directory removed when the tests end) and returns its path.
func sitroomBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the end-to-end tests build and run the real binary")
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil && os.Getenv("SITROOM_E2E_BINARY") == "" {
		goTool = testutil.RequireProgram(t, "go")
	}
	binOnce.Do(func() {
		// A binary built elsewhere (e.g. with -race) may be named instead.
		if p := os.Getenv("SITROOM_E2E_BINARY"); p != "" {
			binPath = p
			return
		}
		binDir, binErr = os.MkdirTemp("", "sitroom-e2e-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "sitroom")
		out, err := exec.Command(goTool, "build", "-o", binPath, "sitroom/cmd/sitroom").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// dsnFor returns a fresh database of the engine for this test.
func dsnFor(t *testing.T, engine db.Dialect) string {
	if engine == db.Postgres {
		return testutil.PostgresDSN(t)
	}
	return testutil.SQLiteDSN(t)
}

// prepare writes the bench fixture (posts, each with an officer holding a
// post-bound token) into a fresh store and closes it again.
func prepare(t *testing.T, dsn string, o bench.FixtureOptions) *bench.Fixture {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, dsn, db.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := bench.Prepare(ctx, d, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// openDB opens the store for the test's own reads.
func openDB(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.Options{MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// startServer starts `sitroom serve` in test mode with its clock at `at`,
// logging into the test's temp dir, and stops it when the test ends.
func startServer(t *testing.T, dsn string, at time.Time, name string) *bench.Server {
	t.Helper()
	s, err := bench.StartServer(context.Background(), bench.ServerOptions{
		Exe: sitroomBinary(t), DB: dsn,
		Env:     []string{"SITROOM_TEST_MODE=1", "SITROOM_DB_MAX_CONNS=4"},
		Args:    []string{"--test-clock", at.UTC().Format(time.RFC3339Nano)},
		LogPath: filepath.Join(t.TempDir(), name+".log"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Stop(15 * time.Second)
		if t.Failed() {
			t.Logf("log of %s (pid %d):\n%s", name, s.PID, s.LogTail(30))
		}
	})
	return s
}

// lastLevel is the last escalation level of a post with the default path:
// an unacknowledged delivery reaches it and is then missed.
var lastLevel = len(duty.DefaultPath()) - 1

// waitFor polls cond every 50 ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, still not %s: %s", limit, what, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count runs a COUNT(*) query.
func count(t *testing.T, d *db.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// checkSteps checks every delivery's escalation record: no level recorded
// twice, levels 1..escalation_level each present once (none lost), one
// acknowledged step per acknowledgement and one missed step per miss.
func checkSteps(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	if n := count(t, d, `SELECT COUNT(*) FROM (SELECT delivery_id, level FROM delivery_steps WHERE kind = 'escalated'
		GROUP BY delivery_id, level HAVING COUNT(*) > 1) x`); n > 0 {
		t.Errorf("%d escalation steps recorded twice", n)
	}
	rows, err := d.Query(ctx, `SELECT d.id, d.state, d.escalation_level, d.acked_at IS NOT NULL, d.late,
		(SELECT COUNT(*) FROM delivery_steps s WHERE s.delivery_id = d.id AND s.kind = 'escalated'),
		(SELECT COALESCE(MIN(s.level), 0) FROM delivery_steps s WHERE s.delivery_id = d.id AND s.kind = 'escalated'),
		(SELECT COALESCE(MAX(s.level), 0) FROM delivery_steps s WHERE s.delivery_id = d.id AND s.kind = 'escalated'),
		(SELECT COUNT(*) FROM delivery_steps s WHERE s.delivery_id = d.id AND s.kind = 'acknowledged'),
		(SELECT COUNT(*) FROM delivery_steps s WHERE s.delivery_id = d.id AND s.kind = 'missed')
		FROM deliveries d`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var id, state string
		var level, steps, minL, maxL, acks, misses int
		var acked, late bool
		if err := rows.Scan(&id, &state, &level, &acked, &late, &steps, &minL, &maxL, &acks, &misses); err != nil {
			t.Fatal(err)
		}
		var why []string
		if steps != level || (steps > 0 && (minL != 1 || maxL != level)) {
			why = append(why, fmt.Sprintf("escalation_level %d but %d steps at levels %d..%d", level, steps, minL, maxL))
		}
		if acked != (acks == 1) || acks > 1 {
			why = append(why, fmt.Sprintf("acknowledged=%v with %d acknowledged steps", acked, acks))
		}
		// A missed delivery may still be acknowledged (late): then it
		// keeps its missed step.
		if misses > 1 || (state == "missed" && misses != 1) || (misses == 1 && state != "missed" && !(acked && late)) {
			why = append(why, fmt.Sprintf("state %s (late %v) with %d missed steps", state, late, misses))
		}
		if len(why) > 0 && len(bad) < 10 {
			bad = append(bad, id+": "+strings.Join(why, "; "))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("deliveries with a wrong escalation record:\n%s", strings.Join(bad, "\n"))
	}
}

// auditVerify runs `sitroom audit verify` on the store.
func auditVerify(t *testing.T, dsn string) {
	t.Helper()
	out, err := exec.Command(sitroomBinary(t), "audit", "verify", "--db", dsn).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "audit chain verifies") {
		t.Errorf("sitroom audit verify: %v\n%s", err, out)
	}
}
