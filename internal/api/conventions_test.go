package api_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

type page struct {
	Items      []map[string]json.RawMessage `json:"items"`
	NextCursor *string                      `json:"next_cursor"`
}

func getPage(t *testing.T, s *apptest.Server, path, token string) page {
	t.Helper()
	res, body := s.Do(t, "GET", path, token, nil)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	var p page
	if err := json.Unmarshal(body, &p); err != nil || p.Items == nil || p.NextCursor == nil {
		t.Fatalf("GET %s: not a list page: %v %s", path, err, body)
	}
	return p
}

func str(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// Lists page with ?limit= and ?cursor= through every record exactly once,
// and the last page says so with an empty next_cursor.
func TestListsPageThroughEveryRecordOnce(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			tok := s.Token(t, apptest.Officer, "")
			for _, kind := range []string{"member-states", "bodies", "posts", "people"} {
				all := getPage(t, s, "/api/v1/"+kind+"?limit=500", tok)
				if *all.NextCursor != "" || len(all.Items) < 5 {
					t.Fatalf("%s: %d items in one page, next %q", kind, len(all.Items), *all.NextCursor)
				}
				var ids []string
				cursor, pages := "", 0
				for {
					p := getPage(t, s, "/api/v1/"+kind+"?limit=4&cursor="+url.QueryEscape(cursor), tok)
					pages++
					if len(p.Items) > 4 {
						t.Fatalf("%s: %d items with limit 4", kind, len(p.Items))
					}
					for _, it := range p.Items {
						ids = append(ids, str(it["id"]))
					}
					if *p.NextCursor == "" {
						break
					}
					cursor = *p.NextCursor
					if pages > 100 {
						t.Fatalf("%s: endless paging", kind)
					}
				}
				if len(ids) != len(all.Items) {
					t.Fatalf("%s: paging saw %d records, one page %d", kind, len(ids), len(all.Items))
				}
				for i, it := range all.Items {
					if ids[i] != str(it["id"]) {
						t.Fatalf("%s: record %d differs between paging and one page", kind, i)
					}
				}
			}
		})
	}
}

var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)

// A create answers 201 with the new record and its Location; ids are
// opaque strings; times are RFC 3339 in UTC; the new record can be fetched
// by id and by code.
func TestCreateAnswersCreatedWithLocationAndUTCTimes(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	admin := s.Token(t, apptest.Admin, "")
	res, body := s.Do(t, "POST", "/api/v1/bodies", admin, map[string]any{
		"code": "WG-FLOODS", "kind": "working_group", "name_en": "Working group on floods", "name_ru": "Рабочая группа по наводнениям",
		"parent": "SECRETARIAT"})
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, body)
	}
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	id := str(b["id"])
	if id == "" || res.Header.Get("Location") != "/api/v1/bodies/"+id {
		t.Fatalf("id %q, Location %q", id, res.Header.Get("Location"))
	}
	for _, f := range []string{"created_at", "updated_at"} {
		if !rfc3339UTC.MatchString(str(b[f])) {
			t.Errorf("%s = %s, not RFC 3339 UTC", f, b[f])
		}
	}
	for _, ref := range []string{id, "WG-FLOODS"} {
		if res, body := s.Do(t, "GET", "/api/v1/bodies/"+ref, admin, nil); res.StatusCode != 200 || !strings.Contains(string(body), `"code":"WG-FLOODS"`) {
			t.Errorf("GET by %s: %d %s", ref, res.StatusCode, body)
		}
	}
	// Archived records leave lists unless asked for.
	if res, body := s.Do(t, "POST", "/api/v1/bodies/WG-FLOODS/archive", admin, nil); res.StatusCode != 200 {
		t.Fatalf("archive: %d %s", res.StatusCode, body)
	}
	for q, want := range map[string]bool{"": false, "&include_archived=true": true} {
		p := getPage(t, s, "/api/v1/bodies?q=floods"+q, admin)
		if (len(p.Items) == 1) != want {
			t.Errorf("list%s: %d items", q, len(p.Items))
		}
	}
}

// Everyone signed in sees the names of every post, but the contacts of a
// post, and the people, of a member state only if they may see that state.
func TestScopeDecidesWhatIsShown(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			cases := []struct {
				who, login, post string
				states           []string // member states whose people and contacts they see; "*" all
			}{
				{"centre officer", apptest.Officer, "", []string{"*"}},
				{"admin", apptest.Admin, "", []string{"*"}},
				{"post officer of KZ", apptest.KZOfficer, "", []string{"KZ"}},
				{"post head of KZ-MOD-CP", apptest.KZHead, "", []string{"KZ"}},
				{"post officer of BY-MES-CP", apptest.BYOfficer, "", []string{"BY"}},
				{"post officer of KZ, token bound to KZ-MOD-CP", apptest.KZOfficer, "KZ-MOD-CP", []string{"KZ"}},
				{"viewer", apptest.Viewer, "", nil},
				{"press", apptest.Press, "", nil},
			}
			sees := func(states []string, st string) bool {
				return st == "" || (len(states) > 0 && (states[0] == "*" || states[0] == st))
			}
			for _, c := range cases {
				tok := s.Token(t, c.login, c.post)
				posts := getPage(t, s, "/api/v1/posts?limit=500", tok)
				byState := map[string]int{}
				for _, p := range posts.Items {
					st := str(p["state"])
					byState[st]++
					if withheld := string(p["contacts"]) == "null"; withheld == sees(c.states, st) {
						t.Errorf("%s: post %s of %q: contacts withheld = %v", c.who, str(p["code"]), st, withheld)
					}
					if str(p["name_en"]) == "" {
						t.Errorf("%s: post %s without a name", c.who, str(p["code"]))
					}
				}
				if len(byState) < 7 {
					t.Errorf("%s sees posts of only %d states (and the organisation)", c.who, len(byState)-1)
				}
				people := getPage(t, s, "/api/v1/people?limit=500", tok)
				for _, p := range people.Items {
					if st := str(p["state"]); !sees(c.states, st) {
						t.Errorf("%s sees person %s of %s", c.who, str(p["code"]), st)
					}
				}
				if len(people.Items) == 0 {
					t.Errorf("%s sees nobody, not even the organisation's own staff", c.who)
				}
				// A filter on another state's people finds nobody rather
				// than failing: the state's name is public, its people not.
				if !sees(c.states, "BY") {
					if p := getPage(t, s, "/api/v1/people?state=BY", tok); len(p.Items) != 0 {
						t.Errorf("%s: ?state=BY lists %d people", c.who, len(p.Items))
					}
				}
			}
		})
	}
}
