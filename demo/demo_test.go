package demo

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones load the same on any host
	"unicode"

	"go.yaml.in/yaml/v3"

	"sitroom/internal/auth"
	"sitroom/internal/directory"
)

// load decodes org.yaml strictly: an unknown field anywhere is an error.
func load(t *testing.T) *directory.File {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(OrgYAML()))
	dec.KnownFields(true)
	var f directory.File
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("org.yaml does not decode strictly into directory.File: %v", err)
	}
	return &f
}

const loginDomain = "@demo.sitroom.example"

var (
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}(-\d{2})?$`)
	dayRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	hoursRE = regexp.MustCompile(`^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)-(Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$`)
	codeRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)
	isoRE   = regexp.MustCompile(`^[A-Z]{2}$`)
	phoneRE = regexp.MustCompile(`^\+\d{1,3} 000 `) // fake numbers: country code, then 000
)

// parseDate reads YYYY-MM-DD or YYYY-MM (the first of the month).
func parseDate(s string) (time.Time, error) {
	if !dateRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM or YYYY-MM-DD", s)
	}
	if len(s) == 7 {
		s += "-01"
	}
	return time.Parse(time.DateOnly, s)
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

func checkNames(t *testing.T, what, en, ru string) {
	t.Helper()
	if strings.TrimSpace(en) == "" || strings.TrimSpace(ru) == "" {
		t.Errorf("%s: name_en and name_ru are both required (got %q, %q)", what, en, ru)
		return
	}
	if hasCyrillic(en) {
		t.Errorf("%s: name_en %q contains Cyrillic", what, en)
	}
	if !hasCyrillic(ru) {
		t.Errorf("%s: name_ru %q has no Cyrillic letters", what, ru)
	}
}

func checkZone(t *testing.T, what, tz string) {
	t.Helper()
	if tz == "" {
		return
	}
	if _, err := time.LoadLocation(tz); err != nil {
		t.Errorf("%s: zone %q does not load: %v", what, tz, err)
	}
}

func TestOrgYAMLDecodesStrictly(t *testing.T) {
	f := load(t)
	if len(f.MemberStates) == 0 || len(f.Bodies) == 0 || len(f.People) == 0 || len(f.Posts) == 0 || len(f.Users) == 0 {
		t.Fatalf("a section is empty: %d states, %d bodies, %d people, %d posts, %d users",
			len(f.MemberStates), len(f.Bodies), len(f.People), len(f.Posts), len(f.Users))
	}
	// OrgYAML hands out copies, so a caller cannot spoil the embedded file.
	b := OrgYAML()
	b[0] ^= 0xff
	if bytes.Equal(b, OrgYAML()) {
		t.Error("OrgYAML returns the embedded slice itself, not a copy")
	}
}

func TestPassword(t *testing.T) {
	if len(Password) < 10 {
		t.Errorf("demo password %q is shorter than 10 characters", Password)
	}
}

func TestOrgYAMLIntegrity(t *testing.T) {
	f := load(t)

	// Organisation.
	checkNames(t, "organisation", f.Organisation.NameEN, f.Organisation.NameRU)
	if f.Organisation.TZ == "" {
		t.Error("organisation: tz is required")
	}
	checkZone(t, "organisation", f.Organisation.TZ)

	// Member states.
	states := map[string]directory.MemberState{}
	for _, s := range f.MemberStates {
		what := "member state " + s.Code
		if !isoRE.MatchString(s.Code) {
			t.Errorf("%s: code is not an ISO 3166 alpha-2 code", what)
		}
		if _, dup := states[s.Code]; dup {
			t.Errorf("%s: duplicate code", what)
		}
		states[s.Code] = s
		checkNames(t, what, s.NameEN, s.NameRU)
		if s.TZ == "" {
			t.Errorf("%s: tz is required", what)
		}
		checkZone(t, what, s.TZ)
		if s.WorkingHours != "" && !hoursRE.MatchString(s.WorkingHours) {
			t.Errorf("%s: working hours %q are not like \"Mon-Fri 09:00-18:00\"", what, s.WorkingHours)
		}
		if len(s.History) == 0 {
			t.Errorf("%s: no status history", what)
		}
		var prev time.Time
		for i, h := range s.History {
			if !slices.Contains([]directory.Status{directory.StatusActive, directory.StatusSuspended, directory.StatusWithdrawn}, h.Status) {
				t.Errorf("%s: unknown status %q", what, h.Status)
			}
			if !dayRE.MatchString(h.ValidFrom) {
				t.Errorf("%s: valid_from %q is not YYYY-MM-DD", what, h.ValidFrom)
				continue
			}
			d, err := parseDate(h.ValidFrom)
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			if i > 0 && !d.After(prev) {
				t.Errorf("%s: status history is not in date order at %s", what, h.ValidFrom)
			}
			prev = d
		}
	}
	if len(states) != 6 {
		t.Errorf("want 6 member states, have %d", len(states))
	}
	if am, ok := states["AM"]; ok {
		last := am.History[len(am.History)-1]
		if last.Status != directory.StatusSuspended || last.Note == "" {
			t.Errorf("Armenia: want its latest status suspended with a note, have %+v", last)
		}
	}

	// Bodies.
	bodies := map[string]directory.Body{}
	for _, b := range f.Bodies {
		if !codeRE.MatchString(b.Code) {
			t.Errorf("body %q: bad code", b.Code)
		}
		if _, dup := bodies[b.Code]; dup {
			t.Errorf("body %s: duplicate code", b.Code)
		}
		bodies[b.Code] = b
	}
	for _, b := range f.Bodies {
		what := "body " + b.Code
		checkNames(t, what, b.NameEN, b.NameRU)
		if !slices.Contains(directory.BodyKinds, b.Kind) {
			t.Errorf("%s: unknown kind %q", what, b.Kind)
		}
		if b.Parent != "" {
			if _, ok := bodies[b.Parent]; !ok {
				t.Errorf("%s: parent %q is not a body", what, b.Parent)
			}
		}
		if b.State != "" {
			if _, ok := states[b.State]; !ok {
				t.Errorf("%s: state %q is not a member state", what, b.State)
			}
		}
		if b.Kind == directory.BodyMinistry && b.State == "" {
			t.Errorf("%s: a ministry needs its member state", what)
		}
		checkZone(t, what, b.TZ)
		if b.WorkingHours != "" && !hoursRE.MatchString(b.WorkingHours) {
			t.Errorf("%s: working hours %q are not like \"Mon-Fri 09:00-18:00\"", what, b.WorkingHours)
		}
		// No cycles through parents.
		seen := map[string]bool{b.Code: true}
		for p := b.Parent; p != ""; p = bodies[p].Parent {
			if seen[p] {
				t.Errorf("%s: parent chain loops at %s", what, p)
				break
			}
			seen[p] = true
		}
	}
	for _, code := range []string{"CSC", "CFM", "CMD", "CSSC", "SECRETARIAT", "JOINT-STAFF", "CRC", "WG-AFG", "PRESS",
		"UN", "OSCE", "CIS", "SCO", "UNOCT", "UNRCCA", "CIS-ATC", "CIS-BTCS", "SCO-RATS", "ICRC"} {
		if _, ok := bodies[code]; !ok {
			t.Errorf("body %s is missing", code)
		}
	}
	if bodies["WG-AFG"].Parent != "CFM" {
		t.Errorf("the Working Group on Afghanistan should work under the CFM, has parent %q", bodies["WG-AFG"].Parent)
	}
	for code := range states {
		for _, m := range []string{"-MOD", "-MES"} {
			if b, ok := bodies[code+m]; !ok || b.Kind != directory.BodyMinistry || b.State != code {
				t.Errorf("ministry body %s%s missing or not a ministry of %s", code, m, code)
			}
		}
	}

	// People.
	people := map[string]directory.Person{}
	emails := map[string]bool{}
	for _, p := range f.People {
		if !codeRE.MatchString(p.Code) {
			t.Errorf("person %q: bad code", p.Code)
		}
		if _, dup := people[p.Code]; dup {
			t.Errorf("person %s: duplicate code", p.Code)
		}
		people[p.Code] = p
		what := "person " + p.Code
		checkNames(t, what, p.NameEN, p.NameRU)
		if p.State != "" {
			if _, ok := states[p.State]; !ok {
				t.Errorf("%s: state %q is not a member state", what, p.State)
			}
		}
		if p.Body != "" {
			b, ok := bodies[p.Body]
			if !ok {
				t.Errorf("%s: body %q is not a body", what, p.Body)
			} else if b.State != "" && p.State != "" && b.State != p.State {
				t.Errorf("%s: belongs to %s but its body %s to %s", what, p.State, b.Code, b.State)
			}
		}
		if p.State == "" && p.Body == "" {
			t.Errorf("%s: needs a member state or a body", what)
		}
		if p.Email != "" && emails[p.Email] {
			t.Errorf("%s: e-mail %s is already someone else's", what, p.Email)
		}
		emails[p.Email] = true
		if p.Email != "" && !strings.HasSuffix(p.Email, "@example.org") {
			t.Errorf("%s: e-mail %q is not at example.org (demo addresses must be fake)", what, p.Email)
		}
		if p.Phone != "" && !phoneRE.MatchString(p.Phone) {
			t.Errorf("%s: phone %q is not in the fake \"+CC 000 …\" style", what, p.Phone)
		}
		for _, pos := range p.Positions {
			pw := fmt.Sprintf("%s: position %q", what, pos.TitleEN)
			checkNames(t, pw, pos.TitleEN, pos.TitleRU)
			if pos.Body != "" {
				if _, ok := bodies[pos.Body]; !ok {
					t.Errorf("%s: body %q is not a body", pw, pos.Body)
				}
			}
			start, err := parseDate(pos.StartDate)
			if err != nil {
				t.Errorf("%s: start: %v", pw, err)
				continue
			}
			if pos.EndDate != "" {
				end, err := parseDate(pos.EndDate)
				if err != nil {
					t.Errorf("%s: end: %v", pw, err)
				} else if end.Before(start) {
					t.Errorf("%s: ends (%s) before it starts (%s)", pw, pos.EndDate, pos.StartDate)
				}
			}
		}
	}
	if len(people) < 55 {
		t.Errorf("want at least 55 people, have %d", len(people))
	}
	var acting bool
	for _, p := range f.People {
		for _, pos := range p.Positions {
			acting = acting || pos.Acting
		}
	}
	if !acting {
		t.Error("no acting term in the positions history")
	}

	// Posts.
	posts := map[string]directory.Post{}
	perState := map[string]int{}
	var centrePosts int
	for _, p := range f.Posts {
		what := "post " + p.Code
		if !codeRE.MatchString(p.Code) {
			t.Errorf("%s: bad code", what)
		}
		if _, dup := posts[p.Code]; dup {
			t.Errorf("%s: duplicate code", what)
		}
		posts[p.Code] = p
		checkNames(t, what, p.NameEN, p.NameRU)
		if p.TZ == "" {
			t.Errorf("%s: tz is required in the demo", what)
		}
		checkZone(t, what, p.TZ)
		b, ok := bodies[p.Body]
		if !ok {
			t.Errorf("%s: body %q is not a body", what, p.Body)
		}
		switch p.Kind {
		case directory.PostCentre:
			centrePosts++
			if p.State != "" || p.MinistryKind != "" {
				t.Errorf("%s: a centre post has no state and no ministry kind", what)
			}
		case directory.PostMinistry:
			s, ok := states[p.State]
			if !ok {
				t.Errorf("%s: state %q is not a member state", what, p.State)
				break
			}
			perState[p.State]++
			if !slices.Contains(directory.MinistryKinds, p.MinistryKind) {
				t.Errorf("%s: unknown ministry kind %q", what, p.MinistryKind)
			}
			if p.TZ != s.TZ {
				t.Errorf("%s: zone %s differs from its state's %s", what, p.TZ, s.TZ)
			}
			if b.Kind != directory.BodyMinistry || b.State != p.State {
				t.Errorf("%s: body %s is not a ministry of %s", what, p.Body, p.State)
			}
		default:
			t.Errorf("%s: unknown kind %q", what, p.Kind)
		}
		if _, ok := people[p.Head]; !ok {
			t.Errorf("%s: head %q is not a person", what, p.Head)
		}
		if len(p.Contacts) == 0 {
			t.Errorf("%s: no contacts", what)
		}
		for _, c := range p.Contacts {
			if !slices.Contains(directory.ContactKinds, c.Kind) || c.Value == "" {
				t.Errorf("%s: bad contact %+v", what, c)
			}
			if c.Kind == "email" && !strings.HasSuffix(c.Value, "@example.org") {
				t.Errorf("%s: e-mail %q is not at example.org", what, c.Value)
			}
			if (c.Kind == "phone" || c.Kind == "fax") && !phoneRE.MatchString(c.Value) {
				t.Errorf("%s: %s %q is not in the fake \"+CC 000 …\" style", what, c.Kind, c.Value)
			}
		}
	}
	if centrePosts != 1 {
		t.Errorf("want one centre duty desk, have %d", centrePosts)
	}
	for code := range states {
		if n := perState[code]; n < 2 || n > 4 {
			t.Errorf("member state %s has %d ministry posts, want 2–4", code, n)
		}
	}

	// Users.
	logins := map[string]bool{}
	userOf := map[string]directory.FileUser{}
	hasRole := map[auth.Role]bool{}
	for _, u := range f.Users {
		what := "user " + u.Login
		if !strings.HasSuffix(u.Login, loginDomain) || strings.Count(u.Login, "@") != 1 {
			t.Errorf("%s: login is not at %s", what, loginDomain[1:])
		}
		if logins[u.Login] {
			t.Errorf("%s: duplicate login", what)
		}
		logins[u.Login] = true
		if _, ok := people[u.Person]; !ok {
			t.Errorf("%s: person %q is not a person", what, u.Person)
		}
		if _, dup := userOf[u.Person]; dup {
			t.Errorf("%s: person %s already has a user", what, u.Person)
		}
		userOf[u.Person] = u
		if u.Locale != "" && u.Locale != "en" && u.Locale != "ru" {
			t.Errorf("%s: locale %q is neither en nor ru", what, u.Locale)
		}
		if len(u.Roles) == 0 {
			t.Errorf("%s: no roles", what)
		}
		for _, r := range u.Roles {
			name, scope, scoped := strings.Cut(r, ":")
			role := auth.Role(name)
			if !role.Valid() {
				t.Errorf("%s: role %q is not one of auth.Roles", what, name)
				continue
			}
			hasRole[role] = true
			_, isState := states[scope]
			_, isPost := posts[scope]
			switch role {
			case auth.PostHead:
				if !isPost {
					t.Errorf("%s: %s needs a post scope, has %q", what, role, scope)
				}
			case auth.PostOfficer:
				if !isState && !isPost {
					t.Errorf("%s: %s needs a member state or post scope, has %q", what, role, scope)
				}
			default:
				if scoped {
					t.Errorf("%s: %s is a global role, scoped to %q", what, role, scope)
				}
			}
		}
	}
	for _, r := range auth.Roles {
		if !hasRole[r] {
			t.Errorf("no demo user holds role %s", r)
		}
	}
	for _, login := range []string{"admin", "supervisor", "officer", "kz.head", "kz.officer", "by.officer", "planner", "press", "viewer", "auditor"} {
		if !logins[login+loginDomain] {
			t.Errorf("demo login %s%s is missing", login, loginDomain)
		}
	}

	// Every post can be staffed: at least two people whose user may act
	// there as an officer. For a ministry post that is post_officer scoped to
	// the post or its state; for the centre desk, a global centre role.
	for _, p := range f.Posts {
		var n int
		for _, u := range f.Users {
			for _, r := range u.Roles {
				name, scope, _ := strings.Cut(r, ":")
				ok := false
				switch p.Kind {
				case directory.PostMinistry:
					ok = auth.Role(name) == auth.PostOfficer && (scope == p.Code || scope == p.State)
				case directory.PostCentre:
					ok = auth.Role(name) == auth.CentreOfficer || auth.Role(name) == auth.CentreSupervisor
				}
				if ok {
					n++
					break
				}
			}
		}
		if n < 2 {
			t.Errorf("post %s: %d people may stand duty there, want at least 2", p.Code, n)
		}
		if u, ok := userOf[p.Head]; ok {
			if p.Kind == directory.PostMinistry && !slices.Contains(u.Roles, "post_head:"+p.Code) {
				t.Errorf("post %s: its head's user %s does not hold post_head:%s", p.Code, u.Login, p.Code)
			}
		}
		// Post duty officers (post-scoped) belong to the post's state.
		for _, u := range f.Users {
			if slices.Contains(u.Roles, "post_officer:"+p.Code) && p.State != "" && people[u.Person].State != p.State {
				t.Errorf("post %s: officer %s is not of member state %s", p.Code, u.Person, p.State)
			}
		}
	}
	t.Logf("%d member states, %d bodies, %d posts, %d people, %d users",
		len(states), len(bodies), len(posts), len(people), len(f.Users))
}
