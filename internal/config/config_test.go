package config_test

import (
	"flag"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"sitroom/internal/config"
)

func load(t *testing.T, args []string, env map[string]string) (*config.Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	resolve := config.Bind(fs, func(k string) string { return env[k] })
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return resolve()
}

func TestFlagBeatsEnvironmentBeatsDefault(t *testing.T) {
	c, err := load(t, nil, nil)
	if err != nil || c.DB != "./sitroom.db" || c.Addr != "127.0.0.1:8080" || c.SessionIdle != 12*time.Hour {
		t.Fatalf("defaults: %+v %v", c, err)
	}
	c, err = load(t, nil, map[string]string{"SITROOM_DB": "env.db", "SITROOM_ADDR": ":9"})
	if err != nil || c.DB != "env.db" || c.Addr != ":9" {
		t.Fatalf("env: %+v %v", c, err)
	}
	c, err = load(t, []string{"--db", "flag.db"}, map[string]string{"SITROOM_DB": "env.db"})
	if err != nil || c.DB != "flag.db" {
		t.Fatalf("flag: %+v %v", c, err)
	}
}

func TestBadValuesAreRefusedWithTheOptionName(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--session-idle", "forever"}, nil, "--session-idle"},
		{nil, map[string]string{"SITROOM_DB_MAX_CONNS": "-1"}, "SITROOM_DB_MAX_CONNS"},
		{[]string{"--test-clock", "2026-01-01T00:00:00Z"}, nil, "SITROOM_TEST_MODE=1"},
		{[]string{"--test-clock", "yesterday"}, map[string]string{"SITROOM_TEST_MODE": "1"}, "RFC 3339"},
		{[]string{"--tls-cert", "c.pem"}, nil, "go together"},
		{[]string{"--duty-session-idle", "8h"}, nil, "at least 24h"},
	}
	for _, c := range cases {
		_, err := load(t, c.args, c.env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: err %v, want mention of %q", c.args, c.env, err, c.want)
		}
	}
	c, err := load(t, []string{"--test-clock", "2026-01-01T00:00:00Z"}, map[string]string{"SITROOM_TEST_MODE": "1"})
	if err != nil || !c.TestMode {
		t.Fatalf("test mode: %v", err)
	}
}

func TestReadmeListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range config.Options {
		if !strings.Contains(string(b), "`"+o.Env+"`") || !strings.Contains(string(b), "`--"+o.Name+"`") {
			t.Errorf("README lacks %s / --%s (run `sitroom config` and paste the table)", o.Env, o.Name)
		}
	}
}
