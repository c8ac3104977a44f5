package api_test

import (
	"net/http/httptest"
	"testing"

	"sitroom/internal/apptest"
	"sitroom/internal/db"
)

// benchGET serves path through the whole handler (middleware, token
// lookup, store, JSON) without the network, on SQLite with the demo
// organisation.
func benchGET(b *testing.B, login, path string) {
	s := apptest.Start(b, db.SQLite)
	tok := s.Token(b, login, "")
	h := s.App.Handler()
	get := func() *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := get(); w.Code != 200 {
		b.Fatalf("GET %s: %d %s", path, w.Code, w.Body.String())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if w := get(); w.Code != 200 {
			b.Fatalf("GET %s: %d", path, w.Code)
		}
	}
}

// BenchmarkListPosts: GET /api/v1/posts, the first page (every demo post).
func BenchmarkListPosts(b *testing.B) { benchGET(b, apptest.Officer, "/api/v1/posts") }

// BenchmarkListPostsScoped: the same as a post officer, whose contacts are
// redacted for other states.
func BenchmarkListPostsScoped(b *testing.B) { benchGET(b, apptest.KZOfficer, "/api/v1/posts") }

// BenchmarkGetPerson: GET /api/v1/people/{id} with positions.
func BenchmarkGetPerson(b *testing.B) { benchGET(b, apptest.Officer, "/api/v1/people/p-abenov") }

// BenchmarkBoard: GET /api/v1/board for the centre (every demo post, who is
// on duty, connection state, no open alert).
func BenchmarkBoard(b *testing.B) { benchGET(b, apptest.Officer, "/api/v1/board") }

// BenchmarkDutyNow: GET /api/v1/duty/now for the centre.
func BenchmarkDutyNow(b *testing.B) { benchGET(b, apptest.Officer, "/api/v1/duty/now") }
