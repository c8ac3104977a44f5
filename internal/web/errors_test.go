package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sitroom/internal/apperr"
)

// TestErrorPagesSpeakTheVisitorsLanguage: a store's refusal and an internal
// failure become pages in the visitor's language, and an internal error's
// text never reaches the page.
func TestErrorPagesSpeakTheVisitorsLanguage(t *testing.T) {
	w, err := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		err    error
		lang   string
		status int
		want   string
	}{
		{errors.New("database on fire"), "en", 500, "Something went wrong"},
		{errors.New("database on fire"), "ru", 500, "Что-то пошло не так"},
		{apperr.NotFound("post"), "en", 404, "Not found"},
		{apperr.NotFound("post"), "ru", 404, "Не найдено"},
		{apperr.Forbidden("admin-only", "x"), "en", 403, "Only an administrator may do this."},
		{apperr.Forbidden("admin-only", "x"), "ru", 403, "Это может делать только администратор."},
		{apperr.Conflict("last-admin", "x"), "ru", 409, "последний активный администратор"},
		{apperr.TooMany("slow down", 3_000_000_000), "en", 429, "You can try again in 3 seconds."},
	}
	for _, c := range cases {
		rw := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/directory/posts/X", nil)
		r.Header.Set("Accept-Language", c.lang)
		w.fail(rw, r, c.err)
		body := rw.Body.String()
		if rw.Code != c.status || !strings.Contains(body, c.want) || !strings.Contains(body, `<html lang="`+c.lang+`">`) {
			t.Errorf("%v (%s): %d, want %d with %q", c.err, c.lang, rw.Code, c.status, c.want)
		}
		if strings.Contains(body, "on fire") {
			t.Errorf("an internal error's text reached the page")
		}
	}
	// Without a session, a refusal of kind Unauthorized sends to sign in.
	rw := httptest.NewRecorder()
	w.fail(rw, httptest.NewRequest("GET", "/profile", nil), apperr.Unauthorized("x"))
	if rw.Code != http.StatusSeeOther || rw.Header().Get("Location") != "/login?next=%2Fprofile" {
		t.Errorf("unauthorized: %d %q", rw.Code, rw.Header().Get("Location"))
	}
}

// TestUnknownAPIPathsAnswerProblemJSON: the catch-all page handler does not
// answer API clients with HTML.
func TestUnknownAPIPathsAnswerProblemJSON(t *testing.T) {
	w, err := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	rw := httptest.NewRecorder()
	w.notFound(rw, httptest.NewRequest("GET", "/api/v9/nothing", nil))
	if rw.Code != 404 || rw.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("%d %s", rw.Code, rw.Header().Get("Content-Type"))
	}
}
