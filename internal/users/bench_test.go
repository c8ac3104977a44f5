package users

import (
	"context"
	"testing"

	"sitroom/internal/db"
	"sitroom/internal/testutil"
)

// BenchmarkLogin is a successful sign-in on SQLite: the argon2id check
// (most of the cost, on purpose), the session row and the audit entry.
func BenchmarkLogin(b *testing.B) {
	f := newFixture(b, testutil.Open(b, db.SQLite))
	u := f.user("officer@example.org", "post_officer:KZ", "viewer")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := f.s.Login(ctx, u.Login, goodPassword, "192.0.2.1", "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionActor is what every signed-in request pays on SQLite: the
// session and user read and the grants read (no write within the minute).
func BenchmarkSessionActor(b *testing.B) {
	f := newFixture(b, testutil.Open(b, db.SQLite))
	u := f.user("officer@example.org", "post_officer:KZ", "post_head:KZ-MES", "viewer")
	_, cookie, err := f.s.Login(context.Background(), u.Login, goodPassword, "192.0.2.1", "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := f.s.SessionActor(ctx, cookie, "192.0.2.1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTokenActor is the same for an API request with a bearer token.
func BenchmarkTokenActor(b *testing.B) {
	f := newFixture(b, testutil.Open(b, db.SQLite))
	u := f.user("integrator@example.org", "post_officer:KZ")
	plain, _, err := f.s.CreateToken(sys(), u.Login, "KZ-MES", "bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := f.s.TokenActor(ctx, plain, ""); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.s.TokenActor(ctx, plain, ""); err != nil {
			b.Fatal(err)
		}
	}
}
