package directory

import (
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"sitroom/internal/apperr"
)

// Field error codes are stable: the web UI translates them and scripts may
// match on them. Messages are the English fallback.
const (
	CodeRequired            = "required"
	CodeInvalidCode         = "invalid_code"
	CodeDuplicateCode       = "duplicate_code"
	CodeImmutable           = "immutable"
	CodeTooLong             = "too_long"
	CodeUnknownZone         = "unknown_zone"
	CodeUnknownState        = "unknown_state"
	CodeUnknownBody         = "unknown_body"
	CodeUnknownPerson       = "unknown_person"
	CodeUnknownKind         = "unknown_kind"
	CodeUnknownStatus       = "unknown_status"
	CodeUnknownMinistryKind = "unknown_ministry_kind"
	CodeUnknownContactKind  = "unknown_contact_kind"
	CodeInvalidWorkingHours = "invalid_working_hours"
	CodeInvalidEmail        = "invalid_email"
	CodeInvalidLanguage     = "invalid_language"
	CodeInvalidDate         = "invalid_date"
	CodeEndBeforeStart      = "end_before_start"
	CodeDuplicateDate       = "duplicate_date"
	CodeDuplicatePosition   = "duplicate_position"
	CodeNotAllowed          = "not_allowed"
	CodeStateMismatch       = "state_mismatch"
	CodeParentCycle         = "parent_cycle"
)

var (
	stateCodeRE = regexp.MustCompile(`^[A-Z]{2}$`)
	codeRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	languageRE  = regexp.MustCompile(`^[a-z]{2,3}$`)
)

const maxNameLen = 300

// ref is what validating a record needs to know about a record it refers to.
type ref struct {
	ID     string
	Code   string
	State  string // body, person: member state code
	TZ     string // member state: its zone
	Parent string // body: parent's code
}

// refIndex resolves references by code. Writes through the API fill it from
// the database; an import fills it from the database overlaid with the file,
// so references within the file are order-independent.
type refIndex struct {
	states map[string]ref
	bodies map[string]ref
	people map[string]ref
	orgTZ  string
}

func newRefIndex() *refIndex {
	return &refIndex{states: map[string]ref{}, bodies: map[string]ref{}, people: map[string]ref{}}
}

// checker collects field errors for one record, normalising it as it goes.
type checker struct {
	prefix    string // e.g. "posts[3]." in an import
	fileNames bool   // name position dates as the file does (start/end) rather than the API (start_date/end_date)
	zones     map[string]bool
	fields    apperr.Fields
}

func newChecker(prefix string, fileNames bool, zones map[string]bool) *checker {
	if zones == nil {
		zones = map[string]bool{}
	}
	return &checker{prefix: prefix, fileNames: fileNames, zones: zones}
}

func (c *checker) add(field, code, format string, args ...any) {
	c.fields.Add(c.prefix+field, code, format, args...)
}

func (c *checker) err() error { return c.fields.Err() }

func (c *checker) code(v *string) {
	*v = strings.TrimSpace(*v)
	switch {
	case *v == "":
		c.add("code", CodeRequired, "a code is required")
	case !codeRE.MatchString(*v):
		c.add("code", CodeInvalidCode, "code %s: use 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit", quote(*v))
	}
}

func (c *checker) stateCode(v *string) {
	*v = strings.TrimSpace(*v)
	switch {
	case *v == "":
		c.add("code", CodeRequired, "a code is required")
	case !stateCodeRE.MatchString(*v):
		c.add("code", CodeInvalidCode, "code %s: a member state's code is its ISO 3166-1 alpha-2 code, two capital letters such as KZ", quote(*v))
	}
}

func (c *checker) text(field string, v *string, required bool) {
	*v = strings.TrimSpace(*v)
	switch {
	case *v == "" && required:
		c.add(field, CodeRequired, "%s is required", field)
	case len(*v) > maxNameLen:
		c.add(field, CodeTooLong, "%s is longer than %d bytes", field, maxNameLen)
	}
}

func (c *checker) names(en, ru *string) {
	c.text("name_en", en, true)
	c.text("name_ru", ru, true)
}

// validZone tells whether name is an IANA zone this binary knows. "Local"
// is refused: it means whatever the server's zone happens to be.
func (c *checker) validZone(name string) bool {
	if ok, seen := c.zones[name]; seen {
		return ok
	}
	ok := false
	if name != "" && name != "Local" {
		_, err := time.LoadLocation(name)
		ok = err == nil
	}
	c.zones[name] = ok
	return ok
}

func (c *checker) zone(field string, v *string, required bool) {
	*v = strings.TrimSpace(*v)
	switch {
	case *v == "":
		if required {
			c.add(field, CodeRequired, "a time zone is required (an IANA name such as Asia/Almaty)")
		}
	case !c.validZone(*v):
		c.add(field, CodeUnknownZone, "unknown time zone %s (use an IANA name such as Asia/Almaty)", quote(*v))
	}
}

func (c *checker) workingHours(field string, v *string) {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		return
	}
	wh, err := ParseWorkingHours(*v)
	if err != nil {
		c.add(field, CodeInvalidWorkingHours, "%v", err)
		return
	}
	*v = wh.String()
}

// normDate returns the YYYY-MM-DD form of a date written YYYY-MM-DD or
// YYYY-MM (the first of the month).
func normDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) == 7 {
		s += "-01"
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Format("2006-01-02") != s {
		return s, false
	}
	return s, true
}

func (c *checker) date(field string, v *string, required bool) bool {
	*v = strings.TrimSpace(*v)
	if *v == "" {
		if required {
			c.add(field, CodeRequired, "a date is required (YYYY-MM-DD)")
		}
		return false
	}
	d, ok := normDate(*v)
	if !ok {
		c.add(field, CodeInvalidDate, "not a date: %s (write YYYY-MM-DD, or YYYY-MM for the first of the month)", quote(*v))
		return false
	}
	*v = d
	return true
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

func (c *checker) email(field string, v *string) {
	*v = strings.TrimSpace(*v)
	if *v != "" && !validEmail(*v) {
		c.add(field, CodeInvalidEmail, "not an e-mail address: %s", quote(*v))
	}
}

// checkState validates and normalises a member state. History is sorted.
func (c *checker) checkState(m *MemberState) {
	c.stateCode(&m.Code)
	c.names(&m.NameEN, &m.NameRU)
	c.zone("tz", &m.TZ, true)
	c.workingHours("working_hours", &m.WorkingHours)
	c.checkHistory(m.History)
	sort.SliceStable(m.History, func(i, j int) bool { return m.History[i].ValidFrom < m.History[j].ValidFrom })
	if len(m.History) == 0 {
		m.History = nil
	}
}

func (c *checker) checkHistory(h []StatusChange) {
	seen := map[string]int{}
	for i := range h {
		p := fmt.Sprintf("status_history[%d].", i)
		c.statusChange(p, &h[i])
		if h[i].ValidFrom == "" {
			continue
		}
		if j, dup := seen[h[i].ValidFrom]; dup {
			c.add(p+"valid_from", CodeDuplicateDate, "two status changes from %s (entries %d and %d)", h[i].ValidFrom, j, i)
		}
		seen[h[i].ValidFrom] = i
	}
}

func (c *checker) statusChange(p string, s *StatusChange) {
	s.Status = Status(strings.TrimSpace(string(s.Status)))
	s.Note = strings.TrimSpace(s.Note)
	switch s.Status {
	case StatusActive, StatusSuspended, StatusWithdrawn:
	case "":
		c.add(p+"status", CodeRequired, "a status is required (active, suspended or withdrawn)")
	default:
		c.add(p+"status", CodeUnknownStatus, "unknown status %s (want active, suspended or withdrawn)", quote(string(s.Status)))
	}
	c.date(p+"valid_from", &s.ValidFrom, true)
}

func (c *checker) stateRef(field string, code *string, r *refIndex) (ref, bool) {
	*code = strings.TrimSpace(*code)
	if *code == "" {
		return ref{}, false
	}
	s, ok := r.states[*code]
	if !ok {
		c.add(field, CodeUnknownState, "no member state has the code %s", quote(*code))
	}
	return s, ok
}

func (c *checker) bodyRef(field string, code *string, r *refIndex) (ref, bool) {
	*code = strings.TrimSpace(*code)
	if *code == "" {
		return ref{}, false
	}
	b, ok := r.bodies[*code]
	if !ok {
		c.add(field, CodeUnknownBody, "no body has the code %s", quote(*code))
	}
	return b, ok
}

func (c *checker) personRef(field string, code *string, r *refIndex) (ref, bool) {
	*code = strings.TrimSpace(*code)
	if *code == "" {
		return ref{}, false
	}
	p, ok := r.people[*code]
	if !ok {
		c.add(field, CodeUnknownPerson, "no person has the code %s", quote(*code))
	}
	return p, ok
}

// stateFromBody defaults a record's member state to its body's and refuses
// a contradiction: a person or post of a state's ministry belongs to that
// state, and who may see them depends on it.
func (c *checker) stateFromBody(state *string, body ref, hasBody bool) {
	if !hasBody || body.State == "" {
		return
	}
	if *state == "" {
		*state = body.State
	} else if *state != body.State {
		c.add("state", CodeStateMismatch, "state %s, but body %s belongs to %s", *state, body.Code, body.State)
	}
}

func (c *checker) checkBody(b *Body, r *refIndex) {
	c.code(&b.Code)
	b.Kind = BodyKind(strings.TrimSpace(string(b.Kind)))
	switch {
	case b.Kind == "":
		c.add("kind", CodeRequired, "a kind is required (%s)", joinKinds(BodyKinds))
	case !slices.Contains(BodyKinds, b.Kind):
		c.add("kind", CodeUnknownKind, "unknown kind %s (want %s)", quote(string(b.Kind)), joinKinds(BodyKinds))
	}
	c.names(&b.NameEN, &b.NameRU)
	c.text("short_en", &b.ShortEN, false)
	c.text("short_ru", &b.ShortRU, false)
	b.ParentID, b.StateID = "", ""
	if p, ok := c.bodyRef("parent", &b.Parent, r); ok {
		b.ParentID = p.ID
		if c.parentCycle(b.Code, p, r) {
			c.add("parent", CodeParentCycle, "body %s cannot lie under %s: %s already lies under %s", b.Code, p.Code, p.Code, b.Code)
		}
	}
	if s, ok := c.stateRef("state", &b.State, r); ok {
		b.StateID = s.ID
	}
	c.zone("tz", &b.TZ, false)
	c.workingHours("working_hours", &b.WorkingHours)
}

// parentCycle tells whether walking up from parent reaches code.
func (c *checker) parentCycle(code string, parent ref, r *refIndex) bool {
	cur := parent
	for steps := 0; steps <= len(r.bodies); steps++ {
		if cur.Code == code {
			return true
		}
		if cur.Parent == "" {
			return false
		}
		next, ok := r.bodies[cur.Parent]
		if !ok {
			return false
		}
		cur = next
	}
	return true
}

func (c *checker) checkPost(p *Post, r *refIndex) {
	c.code(&p.Code)
	c.names(&p.NameEN, &p.NameRU)
	p.Kind = PostKind(strings.TrimSpace(string(p.Kind)))
	p.MinistryKind = strings.TrimSpace(p.MinistryKind)
	p.State = strings.TrimSpace(p.State)
	p.StateID, p.BodyID, p.HeadPersonID = "", "", ""
	body, hasBody := c.bodyRef("body", &p.Body, r)
	if hasBody {
		p.BodyID = body.ID
	}
	if p.Kind == "" {
		// Said once in the file, not on every post: a post of a state, or
		// with a ministry kind, is a ministry's command post.
		if p.State != "" || p.MinistryKind != "" || (hasBody && body.State != "") {
			p.Kind = PostMinistry
		} else {
			p.Kind = PostCentre
		}
	}
	var state ref
	var hasState bool
	switch p.Kind {
	case PostMinistry:
		c.stateFromBody(&p.State, body, hasBody)
		if p.State == "" {
			c.add("state", CodeRequired, "a ministry's command post belongs to a member state")
		}
		state, hasState = c.stateRef("state", &p.State, r)
		switch {
		case p.MinistryKind == "":
			c.add("ministry_kind", CodeRequired, "a ministry's command post needs a ministry kind (%s)", strings.Join(MinistryKinds, ", "))
		case !slices.Contains(MinistryKinds, p.MinistryKind):
			c.add("ministry_kind", CodeUnknownMinistryKind, "unknown ministry kind %s (want %s)", quote(p.MinistryKind), strings.Join(MinistryKinds, ", "))
		}
	case PostCentre:
		if p.State != "" {
			c.add("state", CodeNotAllowed, "a centre post belongs to the organisation, not to a member state")
		}
		if hasBody && body.State != "" {
			c.add("body", CodeStateMismatch, "a centre post cannot belong to %s, a body of member state %s", body.Code, body.State)
		}
		if p.MinistryKind != "" {
			c.add("ministry_kind", CodeNotAllowed, "only a ministry's command post has a ministry kind")
		}
	default:
		c.add("kind", CodeUnknownKind, "unknown post kind %s (want centre or ministry)", quote(string(p.Kind)))
	}
	if hasState {
		p.StateID = state.ID
	}
	// A zone given here is checked here; a default is checked where it is
	// given (the state, the organisation), not reported twice.
	if p.TZ = strings.TrimSpace(p.TZ); p.TZ != "" {
		c.zone("tz", &p.TZ, true)
	} else if hasState {
		p.TZ = state.TZ
	} else if p.Kind == PostCentre {
		p.TZ = r.orgTZ
		if p.TZ == "" {
			c.add("tz", CodeRequired, "a time zone is required (set it here or the organisation's)")
		}
	}
	for i := range p.Contacts {
		c.contact(fmt.Sprintf("contacts[%d].", i), &p.Contacts[i])
	}
	if len(p.Contacts) == 0 {
		p.Contacts = nil
	}
	if h, ok := c.personRef("head", &p.Head, r); ok {
		p.HeadPersonID = h.ID
	}
}

func (c *checker) contact(prefix string, k *Contact) {
	k.Kind = strings.TrimSpace(k.Kind)
	k.Value = strings.TrimSpace(k.Value)
	k.Note = strings.TrimSpace(k.Note)
	switch {
	case k.Kind == "":
		c.add(prefix+"kind", CodeRequired, "a contact kind is required (%s)", strings.Join(ContactKinds, ", "))
	case !slices.Contains(ContactKinds, k.Kind):
		c.add(prefix+"kind", CodeUnknownContactKind, "unknown contact kind %s (want %s)", quote(k.Kind), strings.Join(ContactKinds, ", "))
	}
	if k.Value == "" {
		c.add(prefix+"value", CodeRequired, "a contact needs a value")
	} else if k.Kind == "email" && !validEmail(k.Value) {
		c.add(prefix+"value", CodeInvalidEmail, "not an e-mail address: %s", quote(k.Value))
	}
}

func (c *checker) checkPerson(p *Person, r *refIndex) {
	c.code(&p.Code)
	c.names(&p.NameEN, &p.NameRU)
	c.email("email", &p.Email)
	c.text("phone", &p.Phone, false)
	var langs []string
	for i, l := range p.Languages {
		l = strings.ToLower(strings.TrimSpace(l))
		if !languageRE.MatchString(l) {
			c.add(fmt.Sprintf("languages[%d]", i), CodeInvalidLanguage, "not a language code: %s (use ISO 639-1, e.g. ru, en)", quote(p.Languages[i]))
			continue
		}
		if !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	p.Languages = langs
	p.StateID, p.BodyID = "", ""
	body, hasBody := c.bodyRef("body", &p.Body, r)
	if hasBody {
		p.BodyID = body.ID
	}
	p.State = strings.TrimSpace(p.State)
	c.stateFromBody(&p.State, body, hasBody)
	if s, ok := c.stateRef("state", &p.State, r); ok {
		p.StateID = s.ID
	}
	startName, endName := "start_date", "end_date"
	if c.fileNames {
		startName, endName = "start", "end"
	}
	seen := map[string]int{}
	for i := range p.Positions {
		q := &p.Positions[i]
		pre := fmt.Sprintf("positions[%d].", i)
		c.text(pre+"title_en", &q.TitleEN, true)
		c.text(pre+"title_ru", &q.TitleRU, true)
		okStart := c.date(pre+startName, &q.StartDate, true)
		okEnd := c.date(pre+endName, &q.EndDate, false)
		if okStart && okEnd && q.EndDate < q.StartDate {
			c.add(pre+endName, CodeEndBeforeStart, "the term ends (%s) before it starts (%s)", q.EndDate, q.StartDate)
		}
		q.BodyID, q.PersonID = "", ""
		if b, ok := c.bodyRef(pre+"body", &q.Body, r); ok {
			q.BodyID = b.ID
		}
		key := q.TitleEN + "\x00" + q.StartDate
		if j, dup := seen[key]; dup && q.TitleEN != "" {
			c.add(pre+"title_en", CodeDuplicatePosition, "the same position (%s from %s) is listed twice (entries %d and %d)", q.TitleEN, q.StartDate, j, i)
		}
		seen[key] = i
	}
	sortPositions(p.Positions)
	if len(p.Positions) == 0 {
		p.Positions = nil
	}
}

func sortPositions(ps []Position) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.StartDate != b.StartDate {
			return a.StartDate < b.StartDate
		}
		if a.TitleEN != b.TitleEN {
			return a.TitleEN < b.TitleEN
		}
		return a.EndDate < b.EndDate
	})
}

func (c *checker) checkOrg(o *OrgInfo) {
	c.names(&o.NameEN, &o.NameRU)
	c.text("short_en", &o.ShortEN, false)
	c.text("short_ru", &o.ShortRU, false)
	c.zone("tz", &o.TZ, true)
}

func joinKinds(ks []BodyKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}
