package directory_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"sitroom/internal/directory"
)

func parseErr(t *testing.T, name, text string) string {
	t.Helper()
	f, err := directory.ParseFile(strings.NewReader(text), name)
	if err == nil {
		t.Fatalf("parsed %+v, want an error", f)
	}
	var fe *directory.FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FileError", err, err)
	}
	return err.Error()
}

func TestParseFileRejectsWithLineAndReason(t *testing.T) {
	for _, tc := range []struct {
		name, file, text, want string
	}{
		{"unknown field in YAML", "org.yaml",
			"posts:\n  - code: A\n    name_en: A\n    tzz: UTC\n",
			`org.yaml:4: posts[0].tzz: unknown field "tzz"`},
		{"ids are not part of the file", "org.yaml",
			"member_states:\n  - code: KZ\n    id: 123\n",
			`org.yaml:3: member_states[0].id: unknown field "id" (the file refers to records by code, not by id)`},
		{"unknown field in JSON", "org.json",
			"{\n  \"posts\": [\n    {\n      \"code\": \"A\",\n      \"tzz\": \"UTC\"\n    }\n  ]\n}\n",
			`org.json:5: posts[0].tzz: unknown field "tzz"`},
		{"API name of a position date in JSON", "org.json",
			"{\"people\": [{\"code\": \"a\",\n \"positions\": [{\"title_en\": \"x\",\n   \"start_date\": \"2020-01\"}]}]}",
			`org.json:3: people[0].positions[0].start_date: unknown field "start_date" (the file calls it start)`},
		{"JSON recognised by its first character", "org.txt",
			"  \n{\"posts\": [{\"code\": \"A\", \"nope\": 1}]}",
			`org.txt:2: posts[0].nope: unknown field "nope"`},
		{"YAML indentation in a list", "org.yaml",
			"posts:\n  - code: A\n   name_en: B\n",
			`org.yaml:3: did not find expected '-' indicator`},
		{"YAML indentation in a mapping", "org.yaml",
			"organisation:\n  name_en: A\n  name_ru: Б\n tz: UTC\nposts: []\n",
			`org.yaml:4: did not find expected key`},
		{"YAML unclosed bracket", "org.yaml",
			"people:\n  - code: a\n    languages: [ru, en\n    name_en: A\n",
			`org.yaml:3: did not find expected ',' or ']'`},
		{"YAML tab", "org.yaml",
			"posts:\n\t- code: A\n",
			`org.yaml:2: found character that cannot start any token`},
		{"JSON syntax", "org.json",
			"{\n  \"posts\": [\n    {\"code\": \"A\",}\n  ]\n}",
			`org.json:3: invalid character '}'`},
		{"JSON truncated", "org.json",
			"{\n  \"posts\": [\n",
			`org.json:`},
		{"duplicate key", "org.yaml",
			"posts:\n  - code: A\n    code: B\n",
			`org.yaml:3: posts[0].code: "code" is given twice (first on line 2)`},
		{"list expected", "org.yaml",
			"posts:\n  code: A\n",
			`org.yaml:2: posts: expected a list, found a mapping`},
		{"mapping expected", "org.yaml",
			"posts:\n  - A\n",
			`org.yaml:2: posts[0]: expected a mapping of fields, found "A"`},
		{"bool expected", "org.yaml",
			"people:\n  - code: a\n    positions:\n      - acting: sometimes\n",
			`org.yaml:4: people[0].positions[0].acting: expected true or false, found "sometimes"`},
		{"time expected", "org.yaml",
			"posts:\n  - code: A\n    active_to: last week\n",
			`org.yaml:3: posts[0].active_to: expected a date or time`},
		{"two YAML documents", "org.yaml",
			"posts: []\n---\nposts: []\n",
			`a second YAML document`},
		{"empty", "org.yaml", "  \n", `org.yaml: the file is empty`},
		{"comments only", "org.yaml", "# nothing\n", `org.yaml: the file holds no YAML document`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if msg := parseErr(t, tc.file, tc.text); !strings.Contains(msg, tc.want) {
				t.Fatalf("error:\n%s\nwant it to contain:\n%s", msg, tc.want)
			}
		})
	}
}

func TestParseFileJSONAndYAMLSameFields(t *testing.T) {
	y := "posts:\n  - code: A\n    kind: centre\n    name_en: A\n    name_ru: А\n    tz: UTC\n    active_to: 2024-05-01\n" +
		"people:\n  - code: p\n    name_en: P\n    name_ru: П\n    positions:\n      - {title_en: T, title_ru: Т, start: 2020-01, acting: true}\n"
	fy, err := directory.ParseFile(strings.NewReader(y), "a.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := directory.WriteFile(&b, fy, "json"); err != nil {
		t.Fatal(err)
	}
	fj, err := directory.ParseFile(&b, "a.json")
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if fj.Posts[0].ActiveTo == nil || !fj.Posts[0].ActiveTo.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("active_to %v", fj.Posts[0].ActiveTo)
	}
	if q := fj.People[0].Positions[0]; q.StartDate != "2020-01" || !q.Acting || q.TitleRU != "Т" {
		t.Fatalf("position %+v", q)
	}
	// A date alone is accepted in JSON too.
	fd, err := directory.ParseFile(strings.NewReader(`{"posts": [{"code": "A", "active_to": "2024-05-01"}]}`), "d.json")
	if err != nil || fd.Posts[0].ActiveTo == nil {
		t.Fatalf("%+v, %v", fd, err)
	}
	if fd.Name() != "d.json" {
		t.Fatalf("Name() = %q", fd.Name())
	}
	if err := directory.WriteFile(&b, fy, "xml"); err == nil {
		t.Fatal("WriteFile accepted format xml")
	}
}
