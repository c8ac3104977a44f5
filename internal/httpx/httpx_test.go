package httpx_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/httpx"
)

type body struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func decode(t *testing.T, ct, payload string, limit int64) (body, *httpx.Problem) {
	t.Helper()
	r := httptest.NewRequest("POST", "/x", strings.NewReader(payload))
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	w := httptest.NewRecorder()
	var b body
	err := httpx.DecodeJSON(w, r, &b, limit)
	if err == nil {
		return b, nil
	}
	p := httpx.ProblemFor(r, err)
	return b, &p
}

func TestDecodeJSONRefusesBadInputClearly(t *testing.T) {
	cases := []struct {
		name, ct, payload string
		limit             int64
		status            int
		typ, detail       string
	}{
		{"unknown field", "application/json", `{"name":"a","nmae":"b"}`, 0, 400, "unknown-field", `unknown field "nmae"`},
		{"malformed", "application/json", `{"name": "a"`, 0, 400, "malformed-json", "ends too early"},
		{"syntax", "application/json", `{"name": a}`, 0, 400, "malformed-json", "malformed JSON at byte"},
		{"wrong type", "application/json", `{"n":"seven"}`, 0, 400, "malformed-json", "field n: expected int"},
		{"two values", "application/json", `{"n":1}{"n":2}`, 0, 400, "malformed-json", "more than one JSON value"},
		{"empty", "application/json", ``, 0, 400, "malformed-json", "empty"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 200) + `"}`, 64, 400, "too-large", "larger than 64 bytes"},
		{"form", "application/x-www-form-urlencoded", `name=a`, 0, 400, "unsupported-media-type", "application/json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, p := decode(t, c.ct, c.payload, c.limit)
			if p == nil {
				t.Fatal("accepted")
			}
			if p.Status != c.status || p.Type != httpx.ProblemTypePrefix+c.typ || !strings.Contains(p.Detail, c.detail) {
				t.Fatalf("got %d %s %q", p.Status, p.Type, p.Detail)
			}
		})
	}
	b, p := decode(t, "application/json; charset=utf-8", `{"name":"Алматы","n":3}`, 0)
	if p != nil || b.Name != "Алматы" || b.N != 3 {
		t.Fatalf("valid body: %+v %+v", b, p)
	}
}

func TestErrorWritesProblemJSON(t *testing.T) {
	cases := []struct {
		err    error
		status int
	}{
		{apperr.NotFound("post"), 404},
		{apperr.Forbidden("not-on-duty", "x"), 403},
		{apperr.Invalid(apperr.FieldError{Field: "tz", Code: "unknown_zone", Message: "m"}), 422},
		{apperr.Conflict("", "x"), 409},
		{apperr.Unauthorized("x"), 401},
		{apperr.TooMany("wait", 2500_000_000), 429},
		{context.Canceled, 500},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		httpx.Error(w, httptest.NewRequest("GET", "/api/v1/posts/1", nil), c.err)
		if w.Code != c.status || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%v: %d %s", c.err, w.Code, w.Header().Get("Content-Type"))
		}
		var p httpx.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != c.status || !strings.HasPrefix(p.Type, httpx.ProblemTypePrefix) {
			t.Fatalf("%v: body %s", c.err, w.Body.String())
		}
		if c.status == 500 && strings.Contains(w.Body.String(), "canceled") {
			t.Fatal("internal error text leaked")
		}
		if c.status == 429 && w.Header().Get("Retry-After") != "3" {
			t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
		}
		if c.status == 422 && (len(p.Errors) != 1 || p.Errors[0].Code != "unknown_zone") {
			t.Fatalf("field errors lost: %s", w.Body.String())
		}
	}
}

func TestPageLimits(t *testing.T) {
	for q, want := range map[string]int{"": 100, "?limit=1": 1, "?limit=500": 500, "?limit=501": -1, "?limit=0": -1, "?limit=x": -1} {
		l, _, err := httpx.Page(httptest.NewRequest("GET", "/x"+q, nil), 100)
		if (want < 0) != (err != nil) || (want > 0 && l != want) {
			t.Errorf("%q: limit %d err %v", q, l, err)
		}
	}
}

func TestCSRFRequiredForCookieSessions(t *testing.T) {
	res := httpx.Resolver{
		Session: func(ctx context.Context, cookie, ip string) (*auth.Actor, string, error) {
			if cookie != "good" {
				return nil, "", apperr.Unauthorized("no")
			}
			return &auth.Actor{Kind: auth.KindUser, Login: "a@x"}, "tok123", nil
		},
		Token: func(ctx context.Context, tok, ip string) (*auth.Actor, error) {
			if tok != "sitroom_ok" {
				return nil, apperr.Unauthorized("no")
			}
			return &auth.Actor{Kind: auth.KindToken, TokenID: "t1"}, nil
		},
	}
	reached := 0
	h := httpx.Chain(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.WriteHeader(204)
	}), httpx.Authenticate(res, false), httpx.ProtectCSRF())
	do := func(method, cookie, csrf, bearer, secFetch string) int {
		r := httptest.NewRequest(method, "http://s.example/x", nil)
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: httpx.SessionCookie, Value: cookie})
		}
		if csrf != "" {
			r.Header.Set(httpx.CSRFHeader, csrf)
		}
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		if secFetch != "" {
			r.Header.Set("Sec-Fetch-Site", secFetch)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	checks := []struct {
		name                                   string
		method, cookie, csrf, bearer, secFetch string
		want                                   int
	}{
		{"get needs no token", "GET", "good", "", "", "", 204},
		{"post without token", "POST", "good", "", "", "", 403},
		{"post with wrong token", "POST", "good", "nope", "", "", 403},
		{"post with token", "POST", "good", "tok123", "", "", 204},
		{"cross-site post", "POST", "good", "tok123", "", "cross-site", 403},
		{"bearer needs no csrf", "POST", "", "", "sitroom_ok", "", 204},
		{"forged bearer", "GET", "", "", "sitroom_forged", "", 401},
	}
	for _, c := range checks {
		before := reached
		if got := do(c.method, c.cookie, c.csrf, c.bearer, c.secFetch); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
		if c.want >= 400 && reached != before {
			t.Errorf("%s: handler ran although refused", c.name)
		}
	}
}
