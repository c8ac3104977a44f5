package cli_test

import (
	"context"
	"strings"
	"testing"

	"sitroom/internal/apperr"
	"sitroom/internal/users"
)

func TestTokenCreatePrintsTokenOnLastLine(t *testing.T) {
	eachDSN(t, func(t *testing.T, dsn string, s *users.Store) {
		if code, _, stderr := run(t, "gateway password 1\n", "user", "add", "--db", dsn, "--email", "gw@example.kz", "--name", "Gateway",
			"--role", "post_officer:KZ"); code != 0 {
			t.Fatal(stderr)
		}
		code, stdout, stderr := run(t, "", "token", "create", "--db", dsn, "--user", "gw@example.kz", "--post", "KZ-MES", "--name", "national system")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
		token := lines[len(lines)-1]
		if !strings.HasPrefix(token, users.TokenPrefix) || strings.ContainsAny(token, " \t") {
			t.Fatalf("last line %q is not the token alone", token)
		}
		a, err := s.TokenActor(context.Background(), token, "127.0.0.1")
		if err != nil {
			t.Fatalf("the printed token is refused: %v", err)
		}
		if a.Login != "gw@example.kz" || a.TokenPostID == "" {
			t.Fatalf("token actor %+v", a)
		}
		code, stdout, _ = run(t, "", "token", "list", "--db", dsn, "--user", "gw@example.kz")
		if code != 0 || !strings.Contains(stdout, a.TokenID) || !strings.Contains(stdout, "KZ-MES") || strings.Contains(stdout, token) {
			t.Fatalf("list %q", stdout)
		}
		// Flags may follow the id.
		if code, _, stderr := run(t, "", "token", "revoke", a.TokenID, "--db", dsn); code != 0 {
			t.Fatalf("revoke: %s", stderr)
		}
		if _, err := s.TokenActor(context.Background(), token, "127.0.0.1"); !apperr.Is(err, apperr.KindUnauthorized) {
			t.Fatalf("revoked token: %v", err)
		}
		// A user without a role covering the post gets a clear refusal.
		code, _, stderr = run(t, "", "token", "create", "--db", dsn, "--user", "nobody@example.kz")
		if code != 1 || !strings.Contains(stderr, "not found") {
			t.Fatalf("unknown user: exit %d %q", code, stderr)
		}
		if code, _, stderr := run(t, "other password 12\n", "user", "add", "--db", dsn, "--email", "desk@example.org", "--name", "Desk",
			"--role", "post_officer:CRC-DESK"); code != 0 {
			t.Fatal(stderr)
		}
		code, _, stderr = run(t, "", "token", "create", "--db", dsn, "--user", "desk@example.org", "--post", "KZ-MES")
		if code != 1 || !strings.Contains(stderr, "no_grant_for_post") {
			t.Fatalf("uncovered post: exit %d %q", code, stderr)
		}
	})
}
