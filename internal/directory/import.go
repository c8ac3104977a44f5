package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// ImportOptions tune Import.
type ImportOptions struct {
	// DryRun validates and plans the import, runs it inside the
	// transaction, then rolls back: the report says what would change.
	DryRun bool
	// Users imports the file's users inside the import's transaction,
	// after every directory record is written (so people and posts named
	// by code exist). Nil: users in the file are skipped and counted in
	// the report's UsersSkipped. Field errors it returns whose Field is a
	// file path such as "users[2].roles[0]" are reported with their line.
	Users func(ctx context.Context, tx *db.Tx, users []FileUser) (created, updated int, err error)
}

// Counts of one kind of record in an import.
type Counts struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// RecordRef names a record in a report.
type RecordRef struct {
	Kind     string `json:"kind"` // member_state, body, person, post
	Code     string `json:"code"`
	Name     string `json:"name"` // English name
	Archived bool   `json:"archived,omitempty"`
}

// ImportReport says what an import did (or, dry, would do).
type ImportReport struct {
	File         string      `json:"file"`
	DryRun       bool        `json:"dry_run"`
	Organisation string      `json:"organisation"` // created, updated, unchanged, or absent (not in the file)
	MemberStates Counts      `json:"member_states"`
	Bodies       Counts      `json:"bodies"`
	People       Counts      `json:"people"`
	Posts        Counts      `json:"posts"`
	Users        Counts      `json:"users"`
	UsersSkipped int         `json:"users_skipped,omitempty"` // users in the file, not imported for want of a users hook
	Created      []RecordRef `json:"created"`
	Updated      []RecordRef `json:"updated"`
	// Missing are records in the database that the file lacks. Import
	// never deletes: they are left as they are, for a person to archive.
	Missing []RecordRef `json:"missing"`
}

// Changed is the number of records created or updated, users included.
func (r *ImportReport) Changed() int {
	n := 0
	for _, c := range []Counts{r.MemberStates, r.Bodies, r.People, r.Posts, r.Users} {
		n += c.Created + c.Updated
	}
	if r.Organisation == "created" || r.Organisation == "updated" {
		n++
	}
	return n
}

func (r *ImportReport) summary() string {
	var parts []string
	for _, k := range []struct {
		name string
		c    Counts
	}{{"member states", r.MemberStates}, {"bodies", r.Bodies}, {"people", r.People}, {"posts", r.Posts}, {"users", r.Users}} {
		parts = append(parts, fmt.Sprintf("%s %d created, %d updated", k.name, k.c.Created, k.c.Updated))
	}
	s := "imported " + orDefault(r.File, "a file") + ": " + strings.Join(parts, "; ")
	if r.Organisation == "created" || r.Organisation == "updated" {
		s += "; organisation " + r.Organisation
	}
	return s
}

// WriteText prints the report for a person: the counts per kind, then the
// records the file lacks.
func (r *ImportReport) WriteText(w io.Writer) error {
	head := "imported " + orDefault(r.File, "the file")
	if r.Changed() == 0 {
		head += ": the database already matches it"
	}
	if r.DryRun {
		head = "dry run of " + orDefault(r.File, "the file") + ": nothing was changed; an import would do this"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintf(w, "%-14s %8s %8s %10s\n", "", "created", "updated", "unchanged")
	for _, k := range []struct {
		name string
		c    Counts
	}{{"member states", r.MemberStates}, {"bodies", r.Bodies}, {"people", r.People}, {"posts", r.Posts}, {"users", r.Users}} {
		fmt.Fprintf(w, "%-14s %8d %8d %10d\n", k.name, k.c.Created, k.c.Updated, k.c.Unchanged)
	}
	fmt.Fprintf(w, "organisation: %s\n", r.Organisation)
	if r.UsersSkipped > 0 {
		fmt.Fprintf(w, "users: %d in the file were not imported (no users store was given to the import)\n", r.UsersSkipped)
	}
	if len(r.Missing) == 0 {
		fmt.Fprintln(w, "the file lacks no record of the database")
		return nil
	}
	fmt.Fprintf(w, "in the database but not in the file (left as they are; archive them if they are gone): %d\n", len(r.Missing))
	for _, m := range r.Missing {
		note := ""
		if m.Archived {
			note = " (archived)"
		}
		fmt.Fprintf(w, "  %-12s %-20s %s%s\n", strings.ReplaceAll(m.Kind, "_", " "), m.Code, m.Name, note)
	}
	return nil
}

var errDryRun = errors.New("dry run")

// change is one record an import writes: old is nil for a creation.
type change[T any] struct {
	old *T
	new *T
}

type importPlan struct {
	report  *ImportReport
	org     *OrgInfo // nil: unchanged or absent
	states  []change[MemberState]
	bodies  []change[Body]
	people  []change[Person]
	posts   []change[Post]
	before  map[string]any // audit: "post/KZ-MOD" → stored form before
	after   map[string]any
	problem []Problem
}

// Import creates and updates directory records from f, keyed by code; it
// never deletes, and reports the records the file lacks. The whole file is
// validated against itself and the database first (references by code are
// order-independent within the file) and applied in one transaction: any
// problem rejects it whole and changes nothing (the error is a *FileError
// naming lines). Importing the same file twice changes nothing the second
// time and records no audit entry; otherwise the import is one audit entry,
// directory.import.
func (s *Store) Import(ctx context.Context, f *File, opt ImportOptions) (*ImportReport, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errors.New("import: no file")
	}
	var rep *ImportReport
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		now := s.clock.Now()
		snap, err := loadSnapshot(ctx, tx)
		if err != nil {
			return err
		}
		p := planImport(f, snap, now)
		if len(p.problem) > 0 {
			sortProblems(p.problem)
			return &FileError{Name: f.Name(), Problems: p.problem}
		}
		p.report.DryRun = opt.DryRun
		if err := p.apply(ctx, tx, now); err != nil {
			return err
		}
		if len(f.Users) > 0 {
			if opt.Users == nil {
				p.report.UsersSkipped = len(f.Users)
			} else {
				created, updated, err := opt.Users(ctx, tx, f.Users)
				if err != nil {
					return usersError(f, err)
				}
				p.report.Users = Counts{Created: created, Updated: updated, Unchanged: max(0, len(f.Users)-created-updated)}
			}
		}
		rep = p.report
		if rep.Changed() > 0 {
			err := s.audit.Record(ctx, tx, audit.Entry{
				Action: "directory.import", ObjectType: "directory", ObjectID: orDefault(f.Name(), "import"),
				Summary: rep.summary(), Before: p.before, After: p.after,
			})
			if err != nil {
				return err
			}
		}
		if opt.DryRun {
			return errDryRun
		}
		return nil
	})
	if errors.Is(err, errDryRun) {
		return rep, nil
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// usersError gives the users hook's field errors their lines.
func usersError(f *File, err error) error {
	ae, ok := apperr.As(err)
	if !ok || len(ae.Fields) == 0 {
		return fmt.Errorf("%s: users: %w", orDefault(f.Name(), "import"), err)
	}
	fe := &FileError{Name: f.Name()}
	for _, fl := range ae.Fields {
		path := fl.Field
		if !strings.HasPrefix(path, "users") {
			path = "users." + path
		}
		fe.Problems = append(fe.Problems, Problem{Line: f.line(path), Path: path, Code: fl.Code, Message: fl.Message})
	}
	sortProblems(fe.Problems)
	return fe
}

func normTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	n := clock.Norm(*t)
	return &n
}

// planImport validates f against itself and snap and works out the writes.
func planImport(f *File, snap *snapshot, now time.Time) *importPlan {
	p := &importPlan{
		report: &ImportReport{File: f.Name(), Organisation: "absent", Created: []RecordRef{}, Updated: []RecordRef{}, Missing: []RecordRef{}},
		before: map[string]any{}, after: map[string]any{},
	}
	zones := map[string]bool{}
	fieldProblems := func(c *checker) {
		for _, fe := range c.fields {
			p.problem = append(p.problem, Problem{Line: f.line(fe.Field), Path: fe.Field, Code: fe.Code, Message: fe.Message})
		}
	}
	dup := func(path, code, first string) {
		p.problem = append(p.problem, Problem{Line: f.line(path + ".code"), Path: path + ".code", Code: CodeDuplicateCode,
			Message: fmt.Sprintf("the code %s is already used by %s (line %d)", quote(code), first, f.line(first))})
	}

	// What is stored, by code.
	r := newRefIndex()
	oldStates := map[string]*MemberState{}
	for i := range snap.states {
		m := &snap.states[i]
		oldStates[m.Code] = m
		r.states[m.Code] = ref{ID: m.ID, Code: m.Code, TZ: m.TZ}
	}
	oldBodies := map[string]*Body{}
	for i := range snap.bodies {
		b := &snap.bodies[i]
		oldBodies[b.Code] = b
		r.bodies[b.Code] = ref{ID: b.ID, Code: b.Code, State: b.State, Parent: b.Parent}
	}
	oldPeople := map[string]*Person{}
	for i := range snap.people {
		x := &snap.people[i]
		oldPeople[x.Code] = x
		r.people[x.Code] = ref{ID: x.ID, Code: x.Code, State: x.State}
	}
	oldPosts := map[string]*Post{}
	for i := range snap.posts {
		oldPosts[snap.posts[i].Code] = &snap.posts[i]
	}
	r.orgTZ = snap.org.TZ

	// The file's records, copied so that normalising leaves f alone, and
	// overlaid on the stored references so that they resolve in any order.
	// New records get their ids here, in file order, so that lists (in id
	// order) keep the file's order.
	states := make([]MemberState, len(f.MemberStates))
	seen := map[string]string{}
	for i, m := range f.MemberStates {
		m.History = append([]StatusChange(nil), m.History...)
		m.ActiveTo = normTime(m.ActiveTo)
		code := strings.TrimSpace(m.Code)
		path := fmt.Sprintf("member_states[%d]", i)
		if first, ok := seen[code]; ok && code != "" {
			dup(path, code, first)
		} else if code != "" {
			seen[code] = path
			m.ID = db.NewID()
			if old, ok := oldStates[code]; ok {
				m.ID = old.ID
			}
			r.states[code] = ref{ID: m.ID, Code: code, TZ: strings.TrimSpace(m.TZ)}
		}
		states[i] = m
	}
	bodies := make([]Body, len(f.Bodies))
	seen = map[string]string{}
	for i, b := range f.Bodies {
		b.ActiveTo = normTime(b.ActiveTo)
		code := strings.TrimSpace(b.Code)
		path := fmt.Sprintf("bodies[%d]", i)
		if first, ok := seen[code]; ok && code != "" {
			dup(path, code, first)
		} else if code != "" {
			seen[code] = path
			b.ID = db.NewID()
			if old, ok := oldBodies[code]; ok {
				b.ID = old.ID
			}
			r.bodies[code] = ref{ID: b.ID, Code: code, State: strings.TrimSpace(b.State), Parent: strings.TrimSpace(b.Parent)}
		}
		bodies[i] = b
	}
	people := make([]Person, len(f.People))
	seen = map[string]string{}
	for i, x := range f.People {
		x = copyPerson(x)
		x.ActiveTo = normTime(x.ActiveTo)
		code := strings.TrimSpace(x.Code)
		path := fmt.Sprintf("people[%d]", i)
		if first, ok := seen[code]; ok && code != "" {
			dup(path, code, first)
		} else if code != "" {
			seen[code] = path
			x.ID = db.NewID()
			if old, ok := oldPeople[code]; ok {
				x.ID = old.ID
			}
			r.people[code] = ref{ID: x.ID, Code: code, State: strings.TrimSpace(x.State)}
		}
		people[i] = x
	}
	posts := make([]Post, len(f.Posts))
	seen = map[string]string{}
	for i, x := range f.Posts {
		x.Contacts = append([]Contact(nil), x.Contacts...)
		x.ActiveTo = normTime(x.ActiveTo)
		code := strings.TrimSpace(x.Code)
		path := fmt.Sprintf("posts[%d]", i)
		if first, ok := seen[code]; ok && code != "" {
			dup(path, code, first)
		} else if code != "" {
			seen[code] = path
			x.ID = db.NewID()
			if old, ok := oldPosts[code]; ok {
				x.ID = old.ID
			}
		}
		posts[i] = x
	}

	// Validate everything; collect every problem, not just the first.
	var org *OrgInfo
	if f.Organisation != (OrgInfo{}) {
		o := f.Organisation
		c := newChecker("organisation.", true, zones)
		c.checkOrg(&o)
		fieldProblems(c)
		org = &o
		r.orgTZ = o.TZ
	}
	for i := range states {
		c := newChecker(fmt.Sprintf("member_states[%d].", i), true, zones)
		c.checkState(&states[i])
		fieldProblems(c)
	}
	for i := range bodies {
		c := newChecker(fmt.Sprintf("bodies[%d].", i), true, zones)
		c.checkBody(&bodies[i], r)
		fieldProblems(c)
	}
	for i := range people {
		c := newChecker(fmt.Sprintf("people[%d].", i), true, zones)
		c.checkPerson(&people[i], r)
		fieldProblems(c)
	}
	for i := range posts {
		c := newChecker(fmt.Sprintf("posts[%d].", i), true, zones)
		c.checkPost(&posts[i], r)
		fieldProblems(c)
	}
	for i, u := range f.Users {
		c := newChecker(fmt.Sprintf("users[%d].", i), true, zones)
		code := strings.TrimSpace(u.Person)
		if code == "" {
			c.add("person", CodeRequired, "a user is a person: give the person's code")
		} else {
			c.personRef("person", &code, r)
		}
		if strings.TrimSpace(u.Login) == "" {
			c.add("login", CodeRequired, "a login is required")
		}
		fieldProblems(c)
	}
	if len(p.problem) > 0 {
		return p
	}

	// Work out what changes.
	rep := p.report
	if org != nil {
		switch {
		case snap.org == (OrgInfo{}):
			rep.Organisation, p.org = "created", org
		case snap.org != *org:
			rep.Organisation, p.org = "updated", org
			p.before["organisation"] = snap.org
		default:
			rep.Organisation = "unchanged"
		}
		if p.org != nil {
			p.after["organisation"] = *org
		}
	}
	note := func(k kind, code, name string, archived, created bool, before, after any) {
		rr := RecordRef{Kind: k.object, Code: code, Name: name, Archived: archived}
		key := k.object + "/" + code
		if created {
			rep.Created = append(rep.Created, rr)
		} else {
			rep.Updated = append(rep.Updated, rr)
			p.before[key] = before
		}
		p.after[key] = after
	}
	for i := range states {
		x := &states[i]
		old := oldStates[x.Code]
		switch {
		case old == nil:
			x.CreatedAt, x.UpdatedAt = now, now
			p.states = append(p.states, change[MemberState]{nil, x})
			rep.MemberStates.Created++
			note(kindState, x.Code, x.NameEN, isArchived(x.ActiveTo, now), true, nil, stateFileForm(*x))
		case sameJSON(stateFileForm(*old), stateFileForm(*x)):
			rep.MemberStates.Unchanged++
		default:
			x.CreatedAt, x.UpdatedAt = old.CreatedAt, now
			p.states = append(p.states, change[MemberState]{old, x})
			rep.MemberStates.Updated++
			note(kindState, x.Code, x.NameEN, isArchived(x.ActiveTo, now), false, stateFileForm(*old), stateFileForm(*x))
		}
	}
	for i := range bodies {
		x := &bodies[i]
		old := oldBodies[x.Code]
		switch {
		case old == nil:
			x.CreatedAt, x.UpdatedAt = now, now
			p.bodies = append(p.bodies, change[Body]{nil, x})
			rep.Bodies.Created++
			note(kindBody, x.Code, x.NameEN, isArchived(x.ActiveTo, now), true, nil, bodyFileForm(*x))
		case sameJSON(bodyFileForm(*old), bodyFileForm(*x)):
			rep.Bodies.Unchanged++
		default:
			x.CreatedAt, x.UpdatedAt = old.CreatedAt, now
			p.bodies = append(p.bodies, change[Body]{old, x})
			rep.Bodies.Updated++
			note(kindBody, x.Code, x.NameEN, isArchived(x.ActiveTo, now), false, bodyFileForm(*old), bodyFileForm(*x))
		}
	}
	for i := range people {
		x := &people[i]
		old := oldPeople[x.Code]
		switch {
		case old == nil:
			x.CreatedAt, x.UpdatedAt = now, now
			p.people = append(p.people, change[Person]{nil, x})
			rep.People.Created++
			note(kindPerson, x.Code, x.NameEN, isArchived(x.ActiveTo, now), true, nil, personFileForm(*x))
		case sameJSON(personFileForm(*old), personFileForm(*x)):
			rep.People.Unchanged++
		default:
			x.CreatedAt, x.UpdatedAt = old.CreatedAt, now
			p.people = append(p.people, change[Person]{old, x})
			rep.People.Updated++
			note(kindPerson, x.Code, x.NameEN, isArchived(x.ActiveTo, now), false, personFileForm(*old), personFileForm(*x))
		}
	}
	for i := range posts {
		x := &posts[i]
		old := oldPosts[x.Code]
		switch {
		case old == nil:
			x.CreatedAt, x.UpdatedAt = now, now
			p.posts = append(p.posts, change[Post]{nil, x})
			rep.Posts.Created++
			note(kindPost, x.Code, x.NameEN, isArchived(x.ActiveTo, now), true, nil, postFileForm(*x))
		case sameJSON(postFileForm(*old), postFileForm(*x)):
			rep.Posts.Unchanged++
		default:
			x.CreatedAt, x.UpdatedAt = old.CreatedAt, now
			p.posts = append(p.posts, change[Post]{old, x})
			rep.Posts.Updated++
			note(kindPost, x.Code, x.NameEN, isArchived(x.ActiveTo, now), false, postFileForm(*old), postFileForm(*x))
		}
	}

	// What the file lacks.
	missing := func(k kind, code, name string, at *time.Time, inFile map[string]bool) {
		if !inFile[code] {
			rep.Missing = append(rep.Missing, RecordRef{Kind: k.object, Code: code, Name: name, Archived: isArchived(at, now)})
		}
	}
	codes := func(n int, code func(int) string) map[string]bool {
		m := map[string]bool{}
		for i := 0; i < n; i++ {
			m[code(i)] = true
		}
		return m
	}
	inStates := codes(len(states), func(i int) string { return states[i].Code })
	for _, m := range snap.states {
		missing(kindState, m.Code, m.NameEN, m.ActiveTo, inStates)
	}
	inBodies := codes(len(bodies), func(i int) string { return bodies[i].Code })
	for _, b := range snap.bodies {
		missing(kindBody, b.Code, b.NameEN, b.ActiveTo, inBodies)
	}
	inPeople := codes(len(people), func(i int) string { return people[i].Code })
	for _, x := range snap.people {
		missing(kindPerson, x.Code, x.NameEN, x.ActiveTo, inPeople)
	}
	inPosts := codes(len(posts), func(i int) string { return posts[i].Code })
	for _, x := range snap.posts {
		missing(kindPost, x.Code, x.NameEN, x.ActiveTo, inPosts)
	}
	return p
}

// apply writes the plan: states, bodies (new ones parents first), people,
// posts, so that every foreign key points at a row already written.
func (p *importPlan) apply(ctx context.Context, tx *db.Tx, now time.Time) error {
	if p.org != nil {
		if err := putOrg(ctx, tx, *p.org); err != nil {
			return err
		}
	}
	for _, c := range p.states {
		if c.old == nil {
			if err := insertState(ctx, tx, c.new); err != nil {
				return conflictOnUnique(err, kindState, c.new.Code)
			}
			if err := writeHistory(ctx, tx, c.new.ID, nil, c.new.History, now); err != nil {
				return err
			}
			continue
		}
		if err := updateState(ctx, tx, c.new); err != nil {
			return err
		}
		if err := writeHistory(ctx, tx, c.new.ID, c.old.History, c.new.History, now); err != nil {
			return err
		}
	}
	pending := map[string]*Body{}
	for _, c := range p.bodies {
		if c.old == nil {
			pending[c.new.Code] = c.new
		}
	}
	var insert func(b *Body) error
	insert = func(b *Body) error {
		delete(pending, b.Code)
		if parent, ok := pending[b.Parent]; ok {
			if err := insert(parent); err != nil {
				return err
			}
		}
		return conflictOnUnique(insertBody(ctx, tx, b), kindBody, b.Code)
	}
	for _, c := range p.bodies {
		if _, ok := pending[c.new.Code]; ok {
			if err := insert(c.new); err != nil {
				return err
			}
		}
	}
	for _, c := range p.bodies {
		if c.old != nil {
			if err := updateBody(ctx, tx, c.new); err != nil {
				return err
			}
		}
	}
	for _, c := range p.people {
		var have []Position
		if c.old == nil {
			if err := insertPerson(ctx, tx, c.new); err != nil {
				return conflictOnUnique(err, kindPerson, c.new.Code)
			}
		} else {
			have = c.old.Positions
			if err := updatePerson(ctx, tx, c.new); err != nil {
				return err
			}
		}
		if err := writePositions(ctx, tx, c.new.ID, have, c.new.Positions, now); err != nil {
			return err
		}
	}
	for _, c := range p.posts {
		if c.old == nil {
			if err := insertPost(ctx, tx, c.new); err != nil {
				return conflictOnUnique(err, kindPost, c.new.Code)
			}
			continue
		}
		if err := updatePost(ctx, tx, c.new); err != nil {
			return err
		}
	}
	return nil
}
