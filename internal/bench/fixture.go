package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
	"sitroom/internal/users"
)

// Account is a user with an API token.
type Account struct {
	Login  string
	UserID string
	Token  string
}

// Officer is a post with the one officer on duty there and that officer's
// token, bound to the post.
type Officer struct {
	PostID   string
	PostCode string
	PersonID string
	Account
	// OnDuty is false for the posts FixtureOptions.Unstaffed left empty.
	OnDuty bool
}

// Fixture is what Prepare wrote.
type Fixture struct {
	At           time.Time // "now" of the fixture: shifts cover it, tokens were last used then
	StateID      string
	StateCode    string // the member state of every post: alerts address it
	CentrePostID string
	Centre       Account // centre_officer, global: sends alerts, sees every delivery
	Admin        Account // admin, global: moves the test clock
	Posts        []Officer
}

// FixtureOptions shape the synthetic network.
type FixtureOptions struct {
	Posts int       // ministry command posts (each with one officer and token)
	At    time.Time // the instant shifts must cover (the server's clock at start)
	// Unstaffed is every how many posts one has nobody on duty (0: none).
	// Such a post's delivery escalates at once, as the engine's rule says.
	Unstaffed int
	// ShiftLength is how long each officer's shift runs from an hour before
	// At (default 47h: the longest a covering shift may have started before
	// an instant is 48h, see duty.MaxShift).
	ShiftLength time.Duration
}

// tokenEnc and the token shape are those of package users (users.TokenPrefix
// + 32 random bytes in lower-case base32): the server hashes what a client
// sends and looks the SHA-256 up, so a token written here works like one it
// issued.
var tokenEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

func newToken() (plain, hash, prefix string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("bench: no randomness: " + err.Error())
	}
	plain = users.TokenPrefix + tokenEnc.EncodeToString(b)
	sum := sha256.Sum256([]byte(plain))
	return plain, hex.EncodeToString(sum[:]), plain[:len(users.TokenPrefix)+8]
}

// ErrNotEmpty is returned by Prepare for a store that already holds posts.
var ErrNotEmpty = fmt.Errorf("bench needs an empty database (it adds thousands of posts, users and tokens); this one already has posts")

// Prepare writes the fixture into an empty, migrated store in one
// transaction, with multi-row inserts, and records one audit entry saying
// so. It refuses a store that already has posts.
func Prepare(ctx context.Context, d *db.DB, o FixtureOptions) (*Fixture, error) {
	if o.Posts <= 0 {
		return nil, fmt.Errorf("bench: at least one post")
	}
	if o.At.IsZero() {
		o.At = time.Now()
	}
	if o.ShiftLength <= 0 {
		o.ShiftLength = 47 * time.Hour
	}
	at := clock.Norm(o.At)
	var n int
	if err := d.QueryRow(ctx, "SELECT COUNT(*) FROM posts").Scan(&n); err != nil {
		return nil, fmt.Errorf("bench: is the database migrated? %w", err)
	}
	if n > 0 {
		return nil, ErrNotEmpty
	}
	f := &Fixture{At: at, StateID: db.NewID(), StateCode: "ZB", CentrePostID: db.NewID()}
	w := &writer{at: at}

	w.add("member_states", []string{"id", "code", "name_en", "name_ru", "tz", "search", "created_at", "updated_at"},
		[]any{f.StateID, f.StateCode, "Benchland", "Бенчландия", "UTC", "zb benchland", at, at})
	w.add("posts", []string{"id", "code", "kind", "name_en", "name_ru", "state_id", "ministry_kind", "tz", "search", "created_at", "updated_at"},
		[]any{f.CentrePostID, "BENCH-CRC", "centre", "Bench crisis response centre", "Центр (бенч)", nil, "", "UTC", "bench-crc", at, at})
	var err error
	if f.Centre, err = w.user("bench-centre@bench.invalid", "Bench centre officer", "", auth.CentreOfficer, auth.ScopeGlobal, ""); err != nil {
		return nil, err
	}
	if f.Admin, err = w.user("bench-admin@bench.invalid", "Bench administrator", "", auth.Admin, auth.ScopeGlobal, ""); err != nil {
		return nil, err
	}
	f.Posts = make([]Officer, o.Posts)
	for i := range f.Posts {
		p := &f.Posts[i]
		p.PostID, p.PostCode = db.NewID(), fmt.Sprintf("B%05d", i+1)
		w.add("posts", []string{"id", "code", "kind", "name_en", "name_ru", "state_id", "ministry_kind", "tz", "search", "created_at", "updated_at"},
			[]any{p.PostID, p.PostCode, "ministry", "Bench post " + p.PostCode, "Пост " + p.PostCode, f.StateID, "emergency", "UTC",
				strings.ToLower(p.PostCode), at, at})
		login := fmt.Sprintf("officer-%05d@bench.invalid", i+1)
		acc, err := w.user(login, "Officer "+p.PostCode, p.PostID, auth.PostOfficer, auth.ScopePost, p.PostID)
		if err != nil {
			return nil, err
		}
		p.Account, p.PersonID = acc, w.lastPerson
		p.OnDuty = o.Unstaffed <= 0 || (i+1)%o.Unstaffed != 0
		if p.OnDuty {
			w.add("duty_shifts", []string{"id", "post_id", "person_id", "slot", "start_at", "end_at", "source", "created_by", "created_at"},
				[]any{db.NewID(), p.PostID, p.PersonID, "primary", at.Add(-time.Hour), at.Add(-time.Hour + o.ShiftLength), "manual", "system:bench", at})
		}
	}
	log := audit.New(d, clock.NewFake(at, false))
	sys := auth.With(ctx, auth.System("bench"))
	err = d.RunInTx(sys, func(tx *db.Tx) error {
		if err := w.flush(sys, tx); err != nil {
			return err
		}
		return log.Record(sys, tx, audit.Entry{Action: "bench.prepare", ObjectType: "bench",
			Summary: fmt.Sprintf("benchmark fixture: %d posts, each with one officer on duty and a post-bound API token", o.Posts),
			After:   map[string]any{"posts": o.Posts, "unstaffed_every": o.Unstaffed, "at": at}})
	})
	if err != nil {
		return nil, fmt.Errorf("bench: write the fixture: %w", err)
	}
	return f, nil
}

// writer collects rows per table, in insertion order of tables, and writes
// them with multi-row INSERTs.
type writer struct {
	at         time.Time
	order      []string
	cols       map[string][]string
	rows       map[string][][]any
	lastPerson string
}

func (w *writer) add(table string, cols []string, row []any) {
	if w.cols == nil {
		w.cols, w.rows = map[string][]string{}, map[string][][]any{}
	}
	if _, ok := w.cols[table]; !ok {
		w.order = append(w.order, table)
		w.cols[table] = cols
	}
	w.rows[table] = append(w.rows[table], row)
}

// user adds a person, a user, one role grant and an API token (bound to
// postID when not empty).
func (w *writer) user(login, name, postID string, role auth.Role, scope auth.ScopeKind, scopeID string) (Account, error) {
	at := w.at
	person, user := db.NewID(), db.NewID()
	code := "bench-" + strings.TrimSuffix(login, "@bench.invalid")
	w.add("people", []string{"id", "code", "name_en", "name_ru", "email", "search", "created_at", "updated_at"},
		[]any{person, code, name, name, login, strings.ToLower(name + " " + code), at, at})
	w.add("users", []string{"id", "person_id", "login", "locale", "active", "created_at", "updated_at"},
		[]any{user, person, login, "en", true, at, at})
	w.add("role_grants", []string{"id", "user_id", "role", "scope_kind", "scope_id", "created_at"},
		[]any{db.NewID(), user, string(role), string(scope), scopeID, at})
	plain, hash, prefix := newToken()
	var post any
	if postID != "" {
		post = postID
	}
	// last_used_at = the fixture's instant: the server notes a token's use
	// at most once a minute, so a run that starts within the minute measures
	// requests, not that bookkeeping write.
	w.add("api_tokens", []string{"id", "user_id", "post_id", "name", "hash", "prefix", "created_at", "last_used_at"},
		[]any{db.NewID(), user, post, "bench", hash, prefix, at, at})
	w.lastPerson = person
	return Account{Login: login, UserID: user, Token: plain}, nil
}

// maxParams keeps every statement under SQLite's and PostgreSQL's limits on
// bound parameters.
const maxParams = 30000

func (w *writer) flush(ctx context.Context, tx *db.Tx) error {
	for _, t := range w.order {
		cols, rows := w.cols[t], w.rows[t]
		per := max(1, min(500, maxParams/len(cols)))
		one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
		for start := 0; start < len(rows); start += per {
			end := min(start+per, len(rows))
			var b strings.Builder
			b.WriteString("INSERT INTO " + t + " (" + strings.Join(cols, ", ") + ") VALUES ")
			args := make([]any, 0, (end-start)*len(cols))
			for i, r := range rows[start:end] {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(one)
				args = append(args, r...)
			}
			if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
				return fmt.Errorf("insert into %s: %w", t, err)
			}
		}
	}
	return nil
}
