package directory_test

import (
	"bytes"
	"strings"
	"testing"

	"sitroom/internal/directory"
)

// FuzzParseFile: any input gives a File or a *FileError, never a panic;
// and a File that parses writes out (in both syntaxes) to text that parses
// again to the same file.
func FuzzParseFile(f *testing.F) {
	f.Add("org.yaml", seedYAML)
	f.Add("org.yaml", seedYAML+usersYAML)
	f.Add("org.json", `{"posts": [{"code": "A", "active_to": "2024-05-01", "contacts": [{"kind": "phone", "value": "1"}]}]}`)
	f.Add("org.yaml", "posts:\n  - code: A\n   name_en: B\n")
	f.Add("org.yaml", "a: &x {b: *x}\n")
	f.Add("org.json", "{\"posts\": [\n")
	f.Fuzz(func(t *testing.T, name, text string) {
		if len(text) > 1<<16 {
			return
		}
		file, err := directory.ParseFile(strings.NewReader(text), name)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error with no text")
			}
			return
		}
		for _, format := range []string{"yaml", "json"} {
			var a bytes.Buffer
			if err := directory.WriteFile(&a, file, format); err != nil {
				t.Fatalf("write %s: %v", format, err)
			}
			again, err := directory.ParseFile(bytes.NewReader(a.Bytes()), "again."+format)
			if err != nil {
				t.Fatalf("%s written from a parsed file does not parse: %v\n%s", format, err, a.String())
			}
			var b bytes.Buffer
			if err := directory.WriteFile(&b, again, format); err != nil {
				t.Fatal(err)
			}
			if a.String() != b.String() {
				t.Fatalf("%s not stable:\n%s\n---\n%s", format, a.String(), b.String())
			}
		}
	})
}

// FuzzParseWorkingHours: never a panic, and the canonical form parses to
// itself.
func FuzzParseWorkingHours(f *testing.F) {
	for _, s := range []string{"Mon-Fri 09:00-18:00", "Sun-Thu 08:00-17:00; Fri 09:00-12:00", "24/7", "Mon,Wed 20:00-08:00", "Sat 10:00-24:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := directory.ParseWorkingHours(s)
		if err != nil {
			return
		}
		w2, err := directory.ParseWorkingHours(w.String())
		if err != nil || w2.String() != w.String() {
			t.Fatalf("%q → %q → %q, %v", s, w.String(), w2.String(), err)
		}
	})
}
