package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"sitroom/internal/audit"
	"sitroom/internal/cli"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
	"sitroom/internal/users"
)

// run runs a command in-process with stdin as a pipe (not a terminal).
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code = cli.Run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

// eachDSN gives a migrated database with one member state (KZ) and one post
// (KZ-MES), and the centre's desk (CRC-DESK), on every engine, and the users store on it for checking.
func eachDSN(t *testing.T, fn func(t *testing.T, dsn string, s *users.Store)) {
	for _, e := range testutil.Engines {
		t.Run(string(e), func(t *testing.T) {
			dsn := testutil.SQLiteDSN(t)
			if e == db.Postgres {
				dsn = testutil.PostgresDSN(t)
			}
			if code, _, stderr := run(t, "", "migrate", "--db", dsn); code != 0 {
				t.Fatalf("migrate: %s", stderr)
			}
			ctx := context.Background()
			d, err := db.Open(ctx, dsn, db.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			c := clock.Real{}
			now := c.Now()
			state := db.NewID()
			if _, err := d.Exec(ctx, `INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, 'KZ', 'Kazakhstan', 'Казахстан', 'Asia/Almaty', ?, ?)`, state, now, now); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, tz, created_at, updated_at) VALUES (?, 'KZ-MES', 'ministry', 'MES', 'МЧС', ?, 'Asia/Almaty', ?, ?)`, db.NewID(), state, now, now); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO posts (id, code, kind, name_en, name_ru, tz, created_at, updated_at) VALUES (?, 'CRC-DESK', 'centre', 'Centre desk', 'Дежурная смена', 'UTC', ?, ?)`, db.NewID(), now, now); err != nil {
				t.Fatal(err)
			}
			fn(t, dsn, users.New(d, c, audit.New(d, c), users.Options{}))
		})
	}
}

func TestUserAddReadsPasswordFromStdin(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, s *users.Store) {
		code, stdout, stderr := run(t, "duty desk password\n", "user", "add", "--db", dsn, "--email", "Ops@Example.org",
			"--name", "Duty Officer", "--name-ru", "Дежурный", "--locale", "ru", "--role", "post_officer:KZ", "--role", "viewer")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stdout, "created user ops@example.org") {
			t.Fatalf("stdout %q", stdout)
		}
		sess, _, err := s.Login(context.Background(), "ops@example.org", "duty desk password", "127.0.0.1", "test")
		if err != nil || sess == nil {
			t.Fatalf("cannot sign in with the piped password: %v", err)
		}
		code, stdout, _ = run(t, "", "user", "list", "--db", dsn)
		if code != 0 || !strings.Contains(stdout, "ops@example.org") || !strings.Contains(stdout, "post_officer:KZ,viewer") ||
			!strings.HasPrefix(stdout, "LOGIN") {
			t.Fatalf("list: %q", stdout)
		}
		// passwd the same way; the old password stops working.
		if code, _, stderr := run(t, "a brand new password\r\n", "user", "passwd", "--db", dsn, "--email", "ops@example.org"); code != 0 {
			t.Fatalf("passwd: %s", stderr)
		}
		if _, _, err := s.Login(context.Background(), "ops@example.org", "a brand new password", "127.0.0.1", "test"); err != nil {
			t.Fatalf("new password refused: %v", err)
		}
	})
}

func TestUserAddRefusesClearly(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, s *users.Store) {
		cases := []struct {
			stdin string
			args  []string
			code  int
			want  string
		}{
			{"long enough password\n", []string{"--email", "x@example.org", "--name", "X", "--role", "chief"}, 1, "--role chief"},
			{"long enough password\n", []string{"--email", "x@example.org", "--name", "X", "--role", "post_head:KZ"}, 1, "scope_not_allowed"},
			{"short\n", []string{"--email", "x@example.org", "--name", "X", "--role", "viewer"}, 1, "too_short"},
			{"", []string{"--email", "x@example.org", "--name", "X", "--role", "viewer"}, 1, "no password on standard input"},
			{"long enough password\n", []string{"--name", "X"}, 2, "--email is required"},
			{"long enough password\n", []string{"--email", "x@example.org", "--bogus"}, 2, "bogus"},
		}
		for _, c := range cases {
			code, _, stderr := run(t, c.stdin, append([]string{"user", "add", "--db", dsn}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.want) {
				t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", c.args, code, stderr, c.code, c.want)
			}
		}
		code, stdout, _ := run(t, "", "user", "list", "--db", dsn)
		if code != 0 || strings.Contains(stdout, "x@example.org") {
			t.Fatalf("a refused user was created: %q", stdout)
		}
	})
}
