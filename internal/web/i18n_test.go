package web

import (
	"encoding/json"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template/parse"

	"sitroom/internal/auth"
	"sitroom/internal/directory"
)

func readCatalogues(t *testing.T) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	for _, l := range Langs {
		b, err := os.ReadFile(filepath.Join("i18n", l+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("i18n/%s.json: %v", l, err)
		}
		out[l] = m
	}
	return out
}

func TestCataloguesHaveTheSameKeys(t *testing.T) {
	cats := readCatalogues(t)
	for _, a := range Langs {
		for _, b := range Langs {
			for k := range cats[a] {
				if _, ok := cats[b][k]; !ok {
					t.Errorf("key %q is in %s.json but not in %s.json", k, a, b)
				}
			}
		}
	}
	for _, l := range Langs {
		for k, v := range cats[l] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s.json: %q has an empty text", l, k)
			}
		}
	}
}

func TestCatalogueGapsAreFound(t *testing.T) {
	gaps := catalogueGaps(map[string]catalogue{"en": {"a": "A", "b": "B"}, "ru": {"a": "А"}})
	if len(gaps) != 1 || gaps[0] != "ru:b" {
		t.Fatalf("gaps = %v", gaps)
	}
}

// usedKeys walks the parse trees of every template and returns the keys
// used literally: t "key", tn "key", the "label"/"hint"/"empty" arguments of
// the field partials, and the prefixes of tk "prefix" value.
func usedKeys(t *testing.T) (keys map[string][]string, prefixes map[string]bool) {
	t.Helper()
	keys = map[string][]string{}
	prefixes = map[string]bool{}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := fs.Glob(templateFS, "templates/pages/*.html")
	files = append(files, pages...)
	stub := template.FuncMap{}
	for name := range (&Web{assets: &assets{}}).funcs(translator{}) {
		stub[name] = func(...any) any { return nil }
	}
	for _, f := range files {
		tmpl, err := template.New("x").Funcs(stub).ParseFS(templateFS, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, tt := range tmpl.Templates() {
			if tt.Tree == nil {
				continue
			}
			walk(tt.Tree.Root, func(c *parse.CommandNode) {
				if len(c.Args) < 2 {
					return
				}
				id, ok := c.Args[0].(*parse.IdentifierNode)
				if !ok {
					return
				}
				str := func(i int) (string, bool) {
					if i >= len(c.Args) {
						return "", false
					}
					s, ok := c.Args[i].(*parse.StringNode)
					if !ok {
						return "", false
					}
					return s.Text, true
				}
				switch id.Ident {
				case "t", "tn":
					if k, ok := str(1); ok {
						keys[k] = append(keys[k], f)
					}
				case "tk":
					if k, ok := str(1); ok {
						prefixes[k] = true
					}
				case "dict":
					for i := 1; i+1 < len(c.Args); i += 2 {
						if n, ok := str(i); ok && (n == "label" || n == "hint" || n == "empty") {
							if k, ok := str(i + 1); ok {
								keys[k] = append(keys[k], f)
							}
						}
					}
				}
			})
		}
	}
	return keys, prefixes
}

func walk(n parse.Node, fn func(*parse.CommandNode)) {
	switch x := n.(type) {
	case *parse.ListNode:
		if x == nil {
			return
		}
		for _, c := range x.Nodes {
			walk(c, fn)
		}
	case *parse.ActionNode:
		walk(x.Pipe, fn)
	case *parse.PipeNode:
		if x == nil {
			return
		}
		for _, c := range x.Cmds {
			walk(c, fn)
		}
	case *parse.CommandNode:
		fn(x)
		for _, a := range x.Args {
			walk(a, fn)
		}
	case *parse.IfNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	case *parse.RangeNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	case *parse.WithNode:
		walk(x.Pipe, fn)
		walk(x.List, fn)
		walk(x.ElseList, fn)
	case *parse.TemplateNode:
		walk(x.Pipe, fn)
	}
}

// valueSets are the values a key is built from at run time (tk "prefix"
// value, or "prefix."+value in Go): each must have a text.
func valueSets() map[string][]string {
	roles := make([]string, len(auth.Roles))
	for i, r := range auth.Roles {
		roles[i] = string(r)
	}
	bodyKinds := make([]string, len(directory.BodyKinds))
	for i, k := range directory.BodyKinds {
		bodyKinds[i] = string(k)
	}
	navs := []string{}
	for _, it := range navTable {
		navs = append(navs, it.Key)
	}
	return map[string][]string{
		"role":      roles,
		"scope":     {string(auth.ScopeGlobal), string(auth.ScopeState), string(auth.ScopePost)},
		"status":    {string(directory.StatusActive), string(directory.StatusSuspended), string(directory.StatusWithdrawn)},
		"body_kind": bodyKinds,
		"post_kind": {string(directory.PostCentre), string(directory.PostMinistry)},
		"ministry":  directory.MinistryKinds,
		"contact":   directory.ContactKinds,
		"lang":      Langs,
		"nav":       navs,
		"flash": {"created", "saved", "archived", "unarchived", "signed_out", "signed_out_everywhere", "password_changed", "password_set", "session_ended", "sessions_ended",
			"alert_sent", "alert_cancelled", "alert_closed", "comment_required", "note_required", "phone_recorded", "acknowledged",
			"note_saved", "note_empty", "feed_created", "feed_revoked", "shift_created", "shift_deleted", "cover_created", "swap_created",
			"rotation_created", "rotation_archived", "check_created", "check_cancelled", "series_cancelled", "template_saved", "template_deleted"},
		// The readiness network.
		"dstate":          {"pending", "delivered", "acknowledged", "escalated", "missed", "cancelled", "confirmed_by_phone"},
		"priority":        {"routine", "urgent", "flash"},
		"astate":          {"open", "cancelled", "closed"},
		"astate.ended":    {"cancelled", "closed"},
		"slot":            {"primary", "deputy"},
		"channel":         {"web", "api", "email", "webhook", "simulation", "phone"},
		"step":            {"notified", "escalated", "delivered", "acknowledged", "confirmed_by_phone", "missed", "cancelled", "reached"},
		"reason":          {"sender", "post_archived", "state_archived", "state_suspended", "state_withdrawn", "state_inactive"},
		"weekday":         {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"},
		"override":        {"cover", "swap"},
		"source":          {"rotation", "manual", "override"},
		"target":          {"primary", "deputy", "head", "person", "centre_officer"},
		"check_kind":      {"now", "at", "surprise", "recurring"},
		"check_kind_hint": {"now", "at", "surprise", "recurring"},
		"check_state":     {"scheduled", "firing", "fired", "cancelled", "failed"},
		"series_state":    {"active", "cancelled"},
		"change":          {"faster", "slower", "same", "recovered", "missed", "missed_again"},
		"error":           {"400.title", "400.text", "403.title", "403.text", "404.title", "404.text", "409.title", "409.text", "429.title", "429.text", "500.title", "500.text"},
		// The field-error codes the stores report; a code without a text
		// falls back to the store's English message, so this list is the
		// promise that the known ones are translated.
		"field_error": {directory.CodeRequired, directory.CodeInvalidCode, directory.CodeDuplicateCode, directory.CodeImmutable,
			directory.CodeTooLong, directory.CodeUnknownZone, directory.CodeUnknownState, directory.CodeUnknownBody,
			directory.CodeUnknownPerson, directory.CodeUnknownKind, directory.CodeUnknownStatus, directory.CodeUnknownMinistryKind,
			directory.CodeUnknownContactKind, directory.CodeInvalidWorkingHours, directory.CodeInvalidEmail,
			directory.CodeInvalidLanguage, directory.CodeInvalidDate, directory.CodeEndBeforeStart, directory.CodeDuplicateDate,
			directory.CodeDuplicatePosition, directory.CodeNotAllowed, directory.CodeStateMismatch, directory.CodeParentCycle,
			"unknown_locale", "unknown_role", "scope_required", "scope_not_allowed", "unknown_scope", "invalid_grant",
			"person_has_user", "wrong_password", "too_short", "mismatch", "unknown_post"},
	}
}

var goKeyRE = regexp.MustCompile(`(?:\.T|\.N|\.Has|newPage\(rw, r,)\(?\s*"([a-z_]+\.[a-z_.0-9]+)"`)

// goKeys are the keys the Go code uses literally.
func goKeys(t *testing.T) map[string][]string {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeyRE.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = append(out[m[1]], f)
		}
	}
	return out
}

func TestEveryUsedKeyIsInEveryCatalogue(t *testing.T) {
	cats := readCatalogues(t)
	keys, prefixes := usedKeys(t)
	if len(keys) < 100 {
		t.Fatalf("found only %d keys in the templates; the walker is broken", len(keys))
	}
	for k, where := range goKeys(t) {
		keys[k] = append(keys[k], where...)
	}
	sets := valueSets()
	for p := range prefixes {
		if _, ok := sets[p]; !ok {
			t.Errorf("templates use tk %q but the test does not know its values: add them to valueSets", p)
		}
	}
	for p, vs := range sets {
		for _, v := range vs {
			keys[p+"."+v] = append(keys[p+"."+v], "value set "+p)
		}
	}
	var missing []string
	for k, where := range keys {
		for _, l := range Langs {
			if _, ok := cats[l][k]; !ok {
				missing = append(missing, l+".json lacks "+k+" (used in "+strings.Join(where, ", ")+")")
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}
}

func TestPluralForms(t *testing.T) {
	ru := translator{lang: "ru", cat: catalogue{"n": "%d секунду|%d секунды|%d секунд"}}
	en := translator{lang: "en", cat: catalogue{"n": "%d second|%d seconds"}}
	for n, want := range map[int]string{1: "1 секунду", 2: "2 секунды", 4: "4 секунды", 5: "5 секунд", 11: "11 секунд",
		12: "12 секунд", 21: "21 секунду", 22: "22 секунды", 25: "25 секунд", 111: "111 секунд", 0: "0 секунд"} {
		if got := ru.N("n", n); got != want {
			t.Errorf("ru %d: %q, want %q", n, got, want)
		}
	}
	for n, want := range map[int]string{1: "1 second", 2: "2 seconds", 0: "0 seconds"} {
		if got := en.N("n", n); got != want {
			t.Errorf("en %d: %q, want %q", n, got, want)
		}
	}
	if got := en.T("absent"); got != missingMark("absent") {
		t.Errorf("a missing key shows as %q", got)
	}
}

func TestAcceptLanguagePicksTheBestInterfaceLanguage(t *testing.T) {
	for h, want := range map[string]string{
		"":                           "",
		"ru-RU,ru;q=0.9,en-US;q=0.8": "ru",
		"en-GB,en;q=0.9,ru;q=0.8":    "en",
		"de-DE,de;q=0.9":             "",
		"de;q=1, ru;q=0.5, en;q=0.7": "en",
		"kk-KZ, ru;q=0.8":            "ru",
		"RU":                         "ru",
		"en;q=0, ru;q=0.1":           "ru",
	} {
		if got := acceptLanguage(h); got != want {
			t.Errorf("%q: %q, want %q", h, got, want)
		}
	}
}

func TestSafeNextAcceptsOnlySameSitePaths(t *testing.T) {
	for in, want := range map[string]string{
		"/directory/posts?state=KZ": "/directory/posts?state=KZ",
		"/":                         "/",
		"":                          "",
		"//evil.example/x":          "",
		"/\\evil.example":           "",
		"https://evil.example/":     "",
		"javascript:alert(1)":       "",
		"directory":                 "",
		"/login?next=/x":            "/login?next=/x",
		"/a\r\nSet-Cookie: x=1":     "",
		"/%2F%2Fevil.example":       "/%2F%2Fevil.example",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"/login", "/login?next=/x", "/logout"} {
		if got := afterLogin(in); got != "" {
			t.Errorf("afterLogin(%q) = %q", in, got)
		}
	}
}
