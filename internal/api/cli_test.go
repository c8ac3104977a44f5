package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/cli"
	"sitroom/internal/db"
)

// runCLI runs a sitroom command in-process, as a script would from the
// shell, and returns its standard output.
func runCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(string) string { return "" }}
	if code := cli.Run(context.Background(), env, args); code != 0 {
		t.Fatalf("sitroom %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

// The "done means" of the foundation: a script adds a user and gets a token
// from the shell, against the SQLite file a running server uses, and the API
// lists posts with that token; revoking it from the shell shuts it out.
func TestTokenFromTheCommandLineListsPosts(t *testing.T) {
	s := apptest.Start(t, db.SQLite)
	runCLI(t, "a long script password\n", "user", "add", "--db", s.DSN,
		"--email", "national-system@example.org", "--name", "National system", "--role", "post_officer:KZ")
	out := runCLI(t, "", "token", "create", "--db", s.DSN, "--user", "national-system@example.org", "--name", "script")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, "sitroom_") || strings.ContainsAny(token, " \t") {
		t.Fatalf("the last line is not a token alone: %q", token)
	}

	res, body := s.Do(t, "GET", "/api/v1/posts?limit=500", token, nil)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/posts: %d %s: %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	var page struct {
		Items []struct {
			Code     string          `json:"code"`
			State    string          `json:"state"`
			Contacts json.RawMessage `json:"contacts"`
		} `json:"items"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Items) < 10 || page.NextCursor == nil || *page.NextCursor != "" {
		t.Fatalf("%d posts, next_cursor %v", len(page.Items), page.NextCursor)
	}
	// The token acts as its user: a Kazakh officer sees the contacts of
	// Kazakh posts and only the names of the others.
	for _, p := range page.Items {
		withheld := string(p.Contacts) == "null"
		if want := p.State != "" && p.State != "KZ"; withheld != want {
			t.Errorf("post %s (%s): contacts withheld = %v", p.Code, p.State, withheld)
		}
	}

	list, err := s.App.Users.ListTokens(s.System(), "national-system@example.org")
	if err != nil || len(list) != 1 {
		t.Fatalf("tokens: %v %+v", err, list)
	}
	runCLI(t, "", "token", "revoke", "--db", s.DSN, list[0].ID)
	res, body = s.Do(t, "GET", "/api/v1/posts", token, nil)
	checkProblem(t, "revoked token", res, body, 401, "unauthorized")
}
