package users

import (
	"context"
	"testing"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

const goodPassword = "correct horse battery"

// fixture is a store on a fake clock with two member states and three posts.
type fixture struct {
	t     testing.TB
	d     *db.DB
	s     *Store
	clock *clock.Fake
	ids   map[string]string // code → id of states and posts
}

var t0 = time.Date(2025, 3, 10, 3, 0, 0, 0, time.UTC) // 3 a.m.

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	c := clock.NewFake(t0, false)
	f := &fixture{t: t, d: d, clock: c, s: New(d, c, audit.New(d, c), Options{}), ids: map[string]string{}}
	ctx := context.Background()
	now := c.Now()
	for _, st := range []struct{ code, name, tz string }{{"KZ", "Kazakhstan", "Asia/Almaty"}, {"AM", "Armenia", "Asia/Yerevan"}} {
		id := db.NewID()
		f.ids[st.code] = id
		if _, err := d.Exec(ctx, `INSERT INTO member_states (id, code, name_en, name_ru, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, st.code, st.name, st.name, st.tz, now, now); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []struct{ code, kind, state string }{{"KZ-MES", "ministry", "KZ"}, {"KZ-MOD", "ministry", "KZ"}, {"AM-MES", "ministry", "AM"}, {"CRC-DESK", "centre", ""}} {
		id := db.NewID()
		f.ids[p.code] = id
		var state any
		if p.state != "" {
			state = f.ids[p.state]
		}
		if _, err := d.Exec(ctx, `INSERT INTO posts (id, code, kind, name_en, name_ru, state_id, tz, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			id, p.code, p.kind, p.code+" desk", p.code+" desk", state, "UTC", now, now); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// sys is a context acting as the system (an administrator).
func sys() context.Context { return auth.With(context.Background(), auth.System("test")) }

// user creates an account with the good password.
func (f *fixture) user(login string, grants ...string) *User {
	f.t.Helper()
	u, err := f.s.CreateUser(sys(), NewUser{Login: login, NameEN: "Officer " + login, Password: goodPassword, Grants: grants})
	if err != nil {
		f.t.Fatalf("create %s: %v", login, err)
	}
	return u
}

// as is a context acting as the user (loaded like a session would).
func (f *fixture) as(userID string) context.Context {
	f.t.Helper()
	a, err := f.s.ActorForUser(context.Background(), userID)
	if err != nil {
		f.t.Fatal(err)
	}
	return auth.With(context.Background(), a)
}

func (f *fixture) auditCount(action string) int {
	f.t.Helper()
	var n int
	if err := f.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = ?`, action).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func wantKind(t testing.TB, err error, k apperr.Kind) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != k {
		t.Fatalf("got %v (%T), want apperr kind %d", err, err, k)
	}
	return e
}

func wantFieldCode(t testing.TB, err error, field, code string) {
	t.Helper()
	e := wantKind(t, err, apperr.KindInvalid)
	for _, fe := range e.Fields {
		if fe.Field == field && fe.Code == code {
			return
		}
	}
	t.Fatalf("no field error %s=%s in %v", field, code, e.Fields)
}
