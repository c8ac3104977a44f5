package api_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"

	"sitroom/internal/apptest"
	"sitroom/internal/testutil"
)

// GET /api/v1/duty/now answers exactly the shape:
// {"items":[{"post":{…},"on_duty":[{"person_id","name","login","slot","start","end"}]}]}.
func TestDutyNowHasTheContractShape(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			sh := onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			onDuty(t, s, "p-abenov", "KZ-MES-CP") // has a user (kz.head)
			res, body := s.Do(t, "GET", "/api/v1/duty/now", s.Token(t, apptest.Officer, ""), nil)
			var now struct {
				Items []struct {
					Post   map[string]json.RawMessage   `json:"post"`
					OnDuty []map[string]json.RawMessage `json:"on_duty"`
				} `json:"items"`
			}
			now = jsonOf[struct {
				Items []struct {
					Post   map[string]json.RawMessage   `json:"post"`
					OnDuty []map[string]json.RawMessage `json:"on_duty"`
				} `json:"items"`
			}](t, "duty/now", res, body, 200)
			var top map[string]json.RawMessage
			_ = json.Unmarshal(body, &top)
			if len(top) != 1 || len(now.Items) < 10 {
				t.Fatalf("duty/now: %d keys, %d items", len(top), len(now.Items))
			}
			found := false
			for _, it := range now.Items {
				if it.OnDuty == nil {
					t.Fatalf("on_duty is null for %s", it.Post["code"])
				}
				for _, k := range []string{"id", "code", "name_en", "name_ru", "tz", "local_time", "utc_offset"} {
					if _, ok := it.Post[k]; !ok {
						t.Errorf("post without %s: %v", k, it.Post)
					}
				}
				if str(it.Post["code"]) != "KZ-MOD-CP" {
					continue
				}
				var e map[string]json.RawMessage
				for _, x := range it.OnDuty {
					if str(x["person_id"]) == sh.PersonID {
						e = x
					}
				}
				if e == nil {
					t.Fatalf("the KZ officer is not on duty at KZ-MOD-CP: %v", it.OnDuty)
				}
				found = true
				keys := make([]string, 0, len(e))
				for k := range e {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				if strings.Join(keys, ",") != "end,login,name,person_id,slot,start" {
					t.Errorf("an on-duty entry has %v", keys)
				}
				if str(e["person_id"]) != sh.PersonID || str(e["login"]) != apptest.KZOfficer || str(e["slot"]) != "primary" ||
					!rfc3339UTC.MatchString(str(e["start"])) || !rfc3339UTC.MatchString(str(e["end"])) {
					t.Errorf("entry: %v", e)
				}
				if str(it.Post["local_time"]) != "2026-01-15T14:00:00+05:00" && str(it.Post["local_time"]) != "2026-01-15T15:00:00+06:00" {
					t.Errorf("KZ-MOD-CP local time %s", it.Post["local_time"])
				}
			}
			if !found {
				t.Fatal("KZ-MOD-CP is not on the board")
			}
			// A post officer of Kazakhstan sees Kazakh posts' people and the
			// organisation's, not Belarus's.
			res, body = s.Do(t, "GET", "/api/v1/duty/now", s.Token(t, apptest.KZOfficer, ""), nil)
			if res.StatusCode != 200 || strings.Contains(string(body), `"state":"BY"`) {
				t.Errorf("the KZ officer's duty/now: %d, mentions BY: %v", res.StatusCode, strings.Contains(string(body), `"state":"BY"`))
			}
		})
	}
}

// A person's shifts as an iCalendar feed: the token from POST
// /api/v1/me/feeds gives a feed a calendar library parses, with the shift
// in it; after revocation the feed is 404.
func TestShiftFeedParsesAndRevokedFeedIsGone(t *testing.T) {
	for _, engine := range testutil.Engines {
		t.Run(string(engine), func(t *testing.T) {
			s := apptest.Start(t, engine)
			sh := onDuty(t, s, kzOfficerPerson, "KZ-MOD-CP")
			c := s.Session(t, apptest.KZOfficer)
			res, body := sessionDo(t, s, c, "POST", "/api/v1/me/feeds", nil)
			var feed struct {
				ID    string `json:"id"`
				Token string `json:"token"`
				Path  string `json:"path"`
			}
			feed = jsonOf[struct {
				ID    string `json:"id"`
				Token string `json:"token"`
				Path  string `json:"path"`
			}](t, "create feed", res, body, 201)
			if feed.Path != "/feeds/shifts/"+feed.Token+".ics" {
				t.Fatalf("feed: %s", body)
			}
			res, body = s.Do(t, "GET", feed.Path, "", nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/calendar; charset=utf-8" {
				t.Fatalf("feed: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
			}
			cal, err := ics.ParseCalendar(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, body)
			}
			var uids []string
			for _, ev := range cal.Events() {
				uids = append(uids, ev.Id())
				if strings.HasPrefix(ev.Id(), sh.ID+"@") {
					start, err := ev.GetStartAt()
					if err != nil || !start.Equal(sh.Start) {
						t.Errorf("DTSTART %v (%v), want %v", start, err, sh.Start)
					}
				}
			}
			if !slices.ContainsFunc(uids, func(u string) bool { return strings.HasPrefix(u, sh.ID+"@") }) {
				t.Fatalf("the shift %s is not in the feed: %v", sh.ID, uids)
			}
			// Listed among one's feeds; someone else cannot revoke it.
			res, body = sessionDo(t, s, c, "GET", "/api/v1/me/feeds", nil)
			if res.StatusCode != 200 || !strings.Contains(string(body), feed.ID) || strings.Contains(string(body), feed.Token) {
				t.Fatalf("list: %d %s", res.StatusCode, body)
			}
			res, body = s.Do(t, "DELETE", "/api/v1/me/feeds/"+feed.ID, s.Token(t, apptest.KZHead, ""), nil)
			checkProblem(t, "someone else revokes the feed", res, body, 404, "not-found")
			res, body = sessionDo(t, s, c, "DELETE", "/api/v1/me/feeds/"+feed.ID, nil)
			if res.StatusCode != 204 {
				t.Fatalf("revoke: %d %s", res.StatusCode, body)
			}
			res, body = s.Do(t, "GET", feed.Path, "", nil)
			checkProblem(t, "a revoked feed", res, body, 404, "not-found")
			res, body = s.Do(t, "GET", "/feeds/shifts/sdf_forged.ics", "", nil)
			checkProblem(t, "a forged feed", res, body, 404, "not-found")
			res, body = s.Do(t, "GET", "/feeds/shifts/"+feed.Token, "", nil)
			checkProblem(t, "a feed without .ics", res, body, 404, "not-found")
		})
	}
}

// The roster editors manage shifts through the API: a post's head changes
// their own post's roster only; a shift ends early by a cover of the rest;
// the gaps report sees what is left uncovered.
func TestShiftsCoversAndGapsThroughTheAPI(t *testing.T) {
	s := apptest.Start(t, "sqlite")
	head, admin := s.Token(t, apptest.KZHead, ""), s.Token(t, apptest.Admin, "") // head: post_head of KZ-MOD-CP
	start := apptest.Epoch.Add(time.Hour)
	shift := func(post string) map[string]any {
		return map[string]any{"post_id": post, "person_id": "p-zas", "slot": "deputy", "start": start, "end": start.Add(8 * time.Hour), "note": "day shift"}
	}
	res, body := s.Do(t, "POST", "/api/v1/shifts", head, shift("KZ-MOD-CP"))
	if res.StatusCode != 201 {
		t.Fatalf("the head's shift: %d %s", res.StatusCode, body)
	}
	res, body = s.Do(t, "POST", "/api/v1/shifts", head, shift("KZ-MES-CP"))
	checkProblem(t, "another post's roster", res, body, 403, "roster-edit")
	bad := shift("KZ-MOD-CP")
	bad["person_id"] = "p-nobody"
	res, body = s.Do(t, "POST", "/api/v1/shifts", head, bad)
	checkProblem(t, "an unknown person", res, body, 422, "invalid")

	// A new post: nobody on duty but this shift, whatever the demo rosters.
	res, body = s.Do(t, "POST", "/api/v1/posts", admin, map[string]any{"code": "KZ-HEALTH-CP", "kind": "ministry", "state": "KZ",
		"ministry_kind": "health", "name_en": "Command post of the Ministry of Health", "name_ru": "Командный пункт Министерства здравоохранения"})
	if res.StatusCode != 201 {
		t.Fatalf("new post: %d %s", res.StatusCode, body)
	}
	res, body = s.Do(t, "POST", "/api/v1/shifts", admin, shift("KZ-HEALTH-CP"))
	sh := jsonOf[struct {
		ID     string `json:"id"`
		Source string `json:"source"`
	}](t, "create shift", res, body, 201)
	if sh.Source != "manual" || res.Header.Get("Location") != "/api/v1/shifts/"+sh.ID {
		t.Fatalf("shift: %s", body)
	}
	s.Clock.Advance(2 * time.Hour) // the shift has started
	res, body = s.Do(t, "POST", "/api/v1/shifts/"+sh.ID+"/end-early", admin, map[string]any{"person_id": "p-sidorov", "note": "taken ill"})
	cover := jsonOf[struct {
		Kind  string    `json:"kind"`
		Start time.Time `json:"start"`
		End   time.Time `json:"end"`
	}](t, "end early", res, body, 201)
	if cover.Kind != "cover" || !cover.Start.Equal(s.Clock.Now()) || !cover.End.Equal(start.Add(8*time.Hour)) {
		t.Fatalf("cover: %s", body)
	}
	res, body = s.Do(t, "GET", "/api/v1/posts/KZ-HEALTH-CP/roster", admin, nil)
	ro := jsonOf[struct {
		Shifts    []any `json:"shifts"`
		Effective []struct {
			PersonName struct {
				EN string `json:"en"`
			} `json:"person_name"`
		} `json:"effective"`
	}](t, "roster", res, body, 200)
	if len(ro.Shifts) != 2 || len(ro.Effective) != 2 || ro.Effective[1].PersonName.EN != "Anatoly Sidorov" {
		t.Fatalf("roster: %s", body)
	}
	res, body = s.Do(t, "GET", "/api/v1/duty/gaps?days=1&post=KZ-HEALTH-CP", admin, nil)
	gaps := jsonOf[struct {
		Items []struct {
			Code string `json:"code"`
			Gaps []struct {
				Start time.Time `json:"start"`
			} `json:"gaps"`
		} `json:"items"`
	}](t, "gaps", res, body, 200)
	if len(gaps.Items) != 1 || gaps.Items[0].Code != "KZ-HEALTH-CP" || len(gaps.Items[0].Gaps) != 1 ||
		!gaps.Items[0].Gaps[0].Start.Equal(start.Add(8*time.Hour)) {
		t.Fatalf("gaps: %s", body)
	}
	res, body = s.Do(t, "GET", "/api/v1/duty/gaps?days=0", head, nil)
	checkProblem(t, "days=0", res, body, 400, "invalid-parameter")
}
