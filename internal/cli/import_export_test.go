package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sitroom/internal/cli"
	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

const cliOrgYAML = `organisation: {name_en: Org, name_ru: Орг, tz: Europe/Moscow}
member_states:
  - {code: KZ, name_en: Kazakhstan, name_ru: Казахстан, tz: Asia/Almaty}
people:
  - {code: aidar, name_en: Aidar, name_ru: Айдар, state: KZ}
posts:
  - {code: KZ-MES-CP, name_en: MES post, name_ru: Пост МЧС, state: KZ, ministry_kind: emergency, head: aidar}
users:
  - {person: aidar, login: aidar@example.org, roles: ["post_officer:KZ-MES-CP"]}
`

func runDir(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code := cli.Run(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func dsnFor(t *testing.T, e db.Dialect) string {
	if e == db.Postgres {
		return testutil.PostgresDSN(t)
	}
	return testutil.SQLiteDSN(t)
}

// countsRow finds "name  created  updated  unchanged" in an import report.
func countsRow(t *testing.T, report, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `\s+(\d+)\s+(\d+)\s+(\d+)$`).FindStringSubmatch(report)
	if m == nil {
		t.Fatalf("no %q row in the report:\n%s", name, report)
	}
	return m[1] + " " + m[2] + " " + m[3]
}

func TestImportExportCommands(t *testing.T) {
	for _, e := range testutil.Engines {
		t.Run(string(e), func(t *testing.T) {
			dir := t.TempDir()
			dsn := dsnFor(t, e)
			file := filepath.Join(dir, "org.yaml")
			if err := os.WriteFile(file, []byte(cliOrgYAML), 0o600); err != nil {
				t.Fatal(err)
			}

			// Flags after the file work too; a dry run changes nothing.
			code, out, errs := runDir(t, "import", file, "--db", dsn, "--dry-run")
			if code != 0 || !strings.Contains(out, "dry run") || countsRow(t, out, "posts") != "1 0 0" {
				t.Fatalf("dry run: exit %d\n%s%s", code, out, errs)
			}
			code, out, errs = runDir(t, "import", "--db", dsn, file)
			if code != 0 || countsRow(t, out, "posts") != "1 0 0" || countsRow(t, out, "users") != "1 0 0" {
				t.Fatalf("import: exit %d\n%s%s", code, out, errs)
			}
			code, out, errs = runDir(t, "import", "--db", dsn, file)
			if code != 0 || countsRow(t, out, "posts") != "0 0 1" || countsRow(t, out, "users") != "0 0 1" ||
				!strings.Contains(out, "the file lacks no record") {
				t.Fatalf("second import: exit %d\n%s%s", code, out, errs)
			}

			// A bad file: exit 1, the line and the reason, nothing changed.
			bad := filepath.Join(dir, "bad.yaml")
			text := strings.Replace(cliOrgYAML, "tz: Asia/Almaty}", "tz: Asia/Almatyy}", 1)
			text = strings.Replace(text, "name_en: MES post", "name_en: Renamed", 1)
			if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs = runDir(t, "import", "--db", dsn, bad)
			if code != 1 || !strings.Contains(errs, `bad.yaml:3: member_states[0].tz: unknown time zone "Asia/Almatyy"`) ||
				!strings.Contains(errs, "nothing was imported") {
				t.Fatalf("bad file: exit %d\nstdout %s\nstderr %s", code, out, errs)
			}
			code, out, _ = runDir(t, "export", "--db", dsn)
			if code != 0 || strings.Contains(out, "Renamed") || !strings.Contains(out, "name_en: MES post") {
				t.Fatalf("after a rejected file: exit %d\n%s", code, out)
			}
			if !strings.Contains(out, "login: aidar@example.org") || !strings.Contains(out, "post_officer:KZ-MES-CP") {
				t.Fatalf("export lacks the user:\n%s", out)
			}

			// Export → import into an empty database → export: the same file.
			for _, format := range []string{"yaml", "json"} {
				first := filepath.Join(dir, "first."+format)
				if code, _, errs := runDir(t, "export", "--db", dsn, "-o", first); code != 0 {
					t.Fatalf("export -o %s: %s", first, errs)
				}
				fresh := dsnFor(t, e)
				if code, out, errs := runDir(t, "import", "--db", fresh, first); code != 0 {
					t.Fatalf("import %s: %s%s", first, out, errs)
				}
				code, second, errs := runDir(t, "export", "--db", fresh, "--format", format)
				want, _ := os.ReadFile(first)
				if code != 0 || second != string(want) {
					t.Fatalf("%s round trip differs (exit %d, %s):\n--- first\n%s\n--- second\n%s", format, code, errs, want, second)
				}
			}
			if code, _, errs := runDir(t, "export", "--db", dsn, "--format", "xml"); code != 2 {
				t.Fatalf("--format xml: exit %d, %s", code, errs)
			}
			if code, _, errs := runDir(t, "import", "--db", dsn); code != 2 {
				t.Fatalf("import without a file: exit %d, %s", code, errs)
			}
		})
	}
}
