package duty

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// t0 is the fixture's "now": a Monday, 12:00 UTC.
var t0 = time.Date(2024, 1, 15, 12, 0, 0, 0, time.UTC)

// fx is a small organisation: two member states, the centre's desk, one
// ministry post in each state, people of each and of the organisation.
type fx struct {
	t   testing.TB
	d   *db.DB
	clk *clock.Fake
	s   *Store

	kz, by                 string // member states
	centre, kzPost, byPost string // posts
	// people: organisation (org1..), Kazakhstan (kz1..), Belarus (by1..)
	org1, org2, kz1, kz2, kz3, kz4, by1, by2 string
	kzHeadPerson                             string
}

func newFx(t testing.TB, d *db.DB) *fx {
	t.Helper()
	f := &fx{t: t, d: d, clk: clock.NewFake(t0, false)}
	f.s = New(d, f.clk, audit.New(d, f.clk))
	f.kz = f.state("KZ", "Asia/Almaty")
	f.by = f.state("BY", "Europe/Minsk")
	f.org1 = f.person("org1", "", true)
	f.org2 = f.person("org2", "", true)
	f.kz1 = f.person("kz1", f.kz, true)
	f.kz2 = f.person("kz2", f.kz, true)
	f.kz3 = f.person("kz3", f.kz, false)
	f.kz4 = f.person("kz4", f.kz, true)
	f.by1 = f.person("by1", f.by, true)
	f.by2 = f.person("by2", f.by, false)
	f.kzHeadPerson = f.person("kzhead", f.kz, true)
	f.centre = f.post("CRC", "centre", "", "Europe/Moscow", "")
	f.kzPost = f.post("KZ-MES", "ministry", f.kz, "Asia/Almaty", f.kzHeadPerson)
	f.byPost = f.post("BY-MOD", "ministry", f.by, "Europe/Minsk", "")
	return f
}

func (f *fx) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.d.Exec(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

func (f *fx) state(code, tz string) string {
	id := db.NewID()
	f.exec(`INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, code, "State "+code, "Государство "+code, tz, t0, t0)
	return id
}

func (f *fx) post(code, kind, stateID, tz, head string) string {
	id := db.NewID()
	f.exec(`INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, tz, head_person_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, code, kind, "Post "+code, "Пост "+code, nullable(stateID), tz, nullable(head), t0, t0)
	return id
}

func (f *fx) person(code, stateID string, withUser bool) string {
	id := db.NewID()
	f.exec(`INSERT INTO people (id, code, name_en, name_ru, email, phone, state_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id, code, "Officer "+code, "Офицер "+code, code+"@example.org", "+7000"+code, nullable(stateID), t0, t0)
	if withUser {
		f.exec(`INSERT INTO users (id, person_id, login, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			db.NewID(), id, code+"@example.org", t0, t0)
	}
	return id
}

// actor returns a context acting as a user of person personID with grants.
func (f *fx) as(personID string, grants ...auth.Grant) context.Context {
	return auth.With(context.Background(), &auth.Actor{Kind: auth.KindUser, UserID: "u-" + personID, PersonID: personID,
		Login: "login-" + personID, Grants: grants})
}

func global(r auth.Role) auth.Grant { return auth.Grant{Role: r, ScopeKind: auth.ScopeGlobal} }
func stateGrant(r auth.Role, stateID string) auth.Grant {
	return auth.Grant{Role: r, ScopeKind: auth.ScopeState, ScopeID: stateID, StateID: stateID}
}
func postGrant(r auth.Role, postID, stateID string) auth.Grant {
	return auth.Grant{Role: r, ScopeKind: auth.ScopePost, ScopeID: postID, StateID: stateID}
}

func (f *fx) admin() context.Context      { return f.as(f.org1, global(auth.Admin)) }
func (f *fx) supervisor() context.Context { return f.as(f.org2, global(auth.CentreSupervisor)) }
func (f *fx) kzHead() context.Context {
	return f.as(f.kzHeadPerson, postGrant(auth.PostHead, f.kzPost, f.kz))
}

// must fails the test on err.
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func wantKind(t testing.TB, err error, k apperr.Kind, what string) {
	t.Helper()
	if !apperr.Is(err, k) {
		t.Fatalf("%s: got %v, want kind %d", what, err, k)
	}
}

func wantField(t testing.TB, err error, field, code string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindInvalid {
		t.Fatalf("want invalid %s/%s, got %v", field, code, err)
	}
	for _, fe := range e.Fields {
		if fe.Field == field && fe.Code == code {
			if fe.Message == "" {
				t.Fatalf("field error %s/%s has no message", field, code)
			}
			return
		}
	}
	t.Fatalf("want field error %s/%s, got %v", field, code, e.Fields)
}

// manual adds a manual shift as the administrator.
func (f *fx) manual(post, person string, slot Slot, start, end time.Time) Shift {
	f.t.Helper()
	return must(f.s.CreateShift(f.admin(), ShiftInput{PostID: post, PersonID: person, Slot: slot, Start: start, End: end}))(f.t)
}

// rows returns the stored rows of a post, by start.
func (f *fx) rows(post string) []Shift {
	f.t.Helper()
	rs := must(queryRows(context.Background(), f.d, `SELECT `+shiftCols+shiftFrom+` WHERE s.post_id = ? ORDER BY s.start_at, s.slot, s.id`, post))(f.t)
	out := make([]Shift, len(rs))
	for i, r := range rs {
		out[i] = r.Shift
	}
	return out
}

func (f *fx) rotationRows(rotID string) []Shift {
	f.t.Helper()
	rs := must(queryRows(context.Background(), f.d, `SELECT `+shiftCols+shiftFrom+` WHERE s.rotation_id = ? ORDER BY s.start_at`, rotID))(f.t)
	out := make([]Shift, len(rs))
	for i, r := range rs {
		out[i] = r.Shift
	}
	return out
}

func (f *fx) auditCount(action string) int {
	f.t.Helper()
	var n int
	if err := f.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// onDutyAt is who is on duty at post at t (system view), as "person/slot".
func (f *fx) onDutyAt(post string, at time.Time) []string {
	f.t.Helper()
	m := must(f.s.OnDutySystem(context.Background(), f.d, []string{post}, at))(f.t)
	var out []string
	for _, e := range m[post] {
		out = append(out, e.PersonID+"/"+string(e.Slot))
	}
	return out
}

func (f *fx) name(id string) string {
	for k, v := range map[string]string{"org1": f.org1, "org2": f.org2, "kz1": f.kz1, "kz2": f.kz2, "kz3": f.kz3, "kz4": f.kz4, "by1": f.by1, "by2": f.by2, "kzhead": f.kzHeadPerson} {
		if v == id {
			return k
		}
	}
	return id
}

func (f *fx) names(entries []string) string {
	var out []string
	for _, e := range entries {
		id, slot, _ := strings.Cut(e, "/")
		out = append(out, f.name(id)+"/"+slot)
	}
	return strings.Join(out, ",")
}

func fmtT(t time.Time) string { return t.UTC().Format("01-02 15:04") }

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	if e, ok := apperr.As(err); ok {
		return fmt.Sprintf("kind %d (%s)", e.Kind, e.Type)
	}
	return err.Error()
}

var _ = errors.New
