package e2e

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sitroom/internal/db"
)

// TestBenchCommandsMeasureAndPrintOneJSONLine runs `sitroom bench` small:
// each subcommand prepares its store, runs its own server process, sees
// every event or answer it waits for, and prints one JSON object as the last
// line (with --json, the only line) carrying the durability settings.
func TestBenchCommandsMeasureAndPrintOneJSONLine(t *testing.T) {
	bin := sitroomBinary(t)
	for _, c := range []struct {
		name  string
		args  []string
		check func(t *testing.T, r map[string]any)
	}{
		{"fanout", []string{"--subscribers", "60", "--alerts", "3", "--warmup", "1", "--interval", "100ms"}, func(t *testing.T, r map[string]any) {
			if r["receptions"] != 180.0 || r["missing"] != 0.0 || r["p99_ms"].(float64) <= 0 {
				t.Errorf("fan-out: %v", r)
			}
			if r["cpu_us_per_delivery"] == nil || r["rss_peak_mb"] == nil {
				t.Errorf("fan-out without the server's CPU and memory: %v", r)
			}
		}},
		{"ack", []string{"--acks", "200", "--concurrency", "8"}, func(t *testing.T, r map[string]any) {
			if r["errors"] != 0.0 || r["acknowledged_in_database"] != 200.0 || r["per_second"].(float64) <= 0 {
				t.Errorf("acknowledgements: %v", r)
			}
		}},
		{"escalate", []string{"--deadlines", "200"}, func(t *testing.T, r map[string]any) {
			if r["steps_seen"] != 200.0 || r["steps_in_database"] != 200.0 || r["steps_repeated"] != 0.0 {
				t.Errorf("escalation: %v", r)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dsn := filepath.Join(t.TempDir(), "bench.db")
			args := append([]string{"bench", c.name, "--db", dsn, "--json"}, c.args...)
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("sitroom %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("--json printed %d lines on stdout, want 1:\n%s", len(lines), stdout.String())
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
				t.Fatalf("last line is not JSON: %v\n%s", err, lines[0])
			}
			s, _ := r["settings"].(map[string]any)
			if s["engine"] != "sqlite" || s["synchronous"] != "FULL" || r["durable"] != true {
				t.Errorf("settings %v, durable %v", r["settings"], r["durable"])
			}
			c.check(t, r)
		})
	}
}

// TestBenchSaysLoudlyWhenDurabilityIsOff: a figure taken with PostgreSQL's
// synchronous_commit off does not count, and the bench says so.
func TestBenchSaysLoudlyWhenDurabilityIsOff(t *testing.T) {
	bin := sitroomBinary(t)
	dsn := dsnFor(t, db.Postgres) + "&options=-c%20synchronous_commit%3Doff"
	cmd := exec.Command(bin, "bench", "ack", "--db", dsn, "--acks", "20", "--concurrency", "4")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sitroom bench ack: %v\n%s", err, stderr.String())
	}
	out := stdout.String()
	if !strings.Contains(out, "DO NOT COUNT") || !strings.Contains(out, "synchronous_commit=off") {
		t.Errorf("no loud warning:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var r map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || r["durable"] != false {
		t.Errorf("last line %q: durable should be false (%v)", lines[len(lines)-1], err)
	}
}
