package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"sitroom/internal/api"
	"sitroom/internal/audit"
	"sitroom/internal/httpx"
)

// problem is a problem+json answer as clients read it.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field string `json:"field"`
		Code  string `json:"code"`
	} `json:"errors"`
}

// checkProblem asserts that the answer is a problem+json of status whose
// type is the slug typ (any type when typ is empty), and returns it.
func checkProblem(t testing.TB, what string, res *http.Response, body []byte, status int, typ string) problem {
	t.Helper()
	var p problem
	if res.StatusCode != status {
		t.Errorf("%s: status %d, want %d: %s", what, res.StatusCode, status, body)
		return p
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("%s: not JSON: %v: %s", what, err, body)
		return p
	}
	if p.Status != status || !strings.HasPrefix(p.Type, httpx.ProblemTypePrefix) || p.Detail == "" || p.Title == "" {
		t.Errorf("%s: incomplete problem %+v", what, p)
	}
	if typ != "" && p.Type != httpx.ProblemTypePrefix+typ {
		t.Errorf("%s: type %q, want %q (%s)", what, p.Type, httpx.ProblemTypePrefix+typ, p.Detail)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without WWW-Authenticate: Bearer", what)
	}
	return p
}

// conformance checks answers against the OpenAPI document: the status must
// be documented for the operation and the body must match its schema.
type conformance struct {
	router routers.Router
}

var (
	confOnce sync.Once
	conf     *conformance
	confErr  error
)

func documentChecker(t testing.TB) *conformance {
	t.Helper()
	confOnce.Do(func() {
		// The non-JSON answers are text to the validator.
		for _, ct := range []string{"text/calendar", "image/svg+xml", "text/event-stream"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.PlainBodyDecoder)
		}
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI(true))
		if err != nil {
			confErr = err
			return
		}
		doc.Servers = nil // match on the path alone, whatever the test server's address
		r, err := legacy.NewRouter(doc)
		conf, confErr = &conformance{router: r}, err
	})
	if confErr != nil {
		t.Fatalf("OpenAPI document: %v", confErr)
	}
	return conf
}

// check validates one answer to req; it returns a description of what does
// not conform, or "".
func (c *conformance) check(req *http.Request, res *http.Response, body []byte) string {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return "no documented operation: " + err.Error()
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return err.Error()
	}
	return ""
}

func auditFilter(action string) audit.Filter { return audit.Filter{Action: action, Limit: 500} }
