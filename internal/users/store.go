package users

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"runtime"
	"sync"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/db"
)

// Options are the session limits (config: --session-idle,
// --duty-session-idle, --session-max).
type Options struct {
	SessionIdle     time.Duration // idle limit for ordinary users (default 12h)
	DutySessionIdle time.Duration // idle limit for holders of post roles (default 36h)
	SessionMax      time.Duration // absolute limit from sign-in (default 720h)
}

// Store manages users, grants, sessions and tokens.
type Store struct {
	d     *db.DB
	clock clock.Clock
	audit *audit.Log
	opts  Options

	// hashSem bounds concurrent argon2 runs: each takes 19 MiB, and a burst
	// of logins must not take the server's memory with it.
	hashSem chan struct{}

	dummyOnce sync.Once
	dummy     string // a hash to verify against when the login is unknown
}

// New returns the store. Zero options take the defaults.
func New(d *db.DB, c clock.Clock, a *audit.Log, o Options) *Store {
	if o.SessionIdle <= 0 {
		o.SessionIdle = 12 * time.Hour
	}
	if o.DutySessionIdle <= 0 {
		o.DutySessionIdle = 36 * time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 720 * time.Hour
	}
	n := runtime.NumCPU()
	if n < 2 {
		n = 2
	}
	return &Store{d: d, clock: c, audit: a, opts: o, hashSem: make(chan struct{}, n)}
}

// hash and verify run argon2 under the concurrency bound.
func (s *Store) hash(ctx context.Context, pw string) (string, error) {
	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer func() { <-s.hashSem }()
	return HashPassword(pw)
}

func (s *Store) verify(ctx context.Context, encoded, pw string) (bool, error) {
	if err := s.acquire(ctx); err != nil {
		return false, err
	}
	defer func() { <-s.hashSem }()
	return VerifyPassword(encoded, pw)
}

func (s *Store) acquire(ctx context.Context) error {
	select {
	case s.hashSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// dummyHash is verified against when a login names no usable account, so
// that the answer takes as long as for a real one and does not tell which
// logins exist.
func (s *Store) dummyHash() string {
	s.dummyOnce.Do(func() {
		h, err := HashPassword(randomToken(16))
		if err != nil {
			panic("users: cannot hash: " + err.Error())
		}
		s.dummy = h
	})
	return s.dummy
}

// actor returns the actor in ctx or Unauthorized.
func actor(ctx context.Context) (*auth.Actor, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in first")
	}
	return a, nil
}

// requireAdmin: users are managed by administrators and system actors only.
func requireAdmin(ctx context.Context) (*auth.Actor, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	if !a.IsAdmin() {
		return nil, apperr.Forbidden("admin-only", "only an administrator may manage users")
	}
	return a, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("users: no randomness: " + err.Error()) // crypto/rand never fails on supported systems
	}
	return b
}

// randomToken is n random bytes, base64url without padding.
func randomToken(n int) string { return b64url.EncodeToString(randomBytes(n)) }

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

var b64url = base64.RawURLEncoding

// ptrTime turns a nullable column into a UTC *time.Time.
func ptrTime(n sql.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time.UTC()
	return &t
}
