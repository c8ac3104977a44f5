package api_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"sitroom/internal/api"
	"sitroom/internal/clock"
)

// documented lists "METHOD /path" for every operation in the document.
func documented(t *testing.T, doc []byte) []string {
	t.Helper()
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for path, ops := range d.Paths {
		for m := range ops {
			out = append(out, strings.ToUpper(m)+" "+path)
		}
	}
	slices.Sort(out)
	return out
}

func registered(d api.Deps) []string {
	var out []string
	for _, r := range api.Routes(d) {
		out = append(out, r.String())
	}
	slices.Sort(out)
	return out
}

func TestEveryRouteIsDocumentedAndEveryDocumentedRouteExists(t *testing.T) {
	for _, mode := range []struct {
		name string
		deps api.Deps
		test bool
	}{
		{"production", api.Deps{}, false},
		{"test mode", api.Deps{Fake: clock.NewFake(time.Date(2026, 1, 15, 9, 0, 0, 0, time.UTC), false)}, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			routes := registered(mode.deps)
			docs := documented(t, api.OpenAPI(mode.test))
			for _, r := range routes {
				if !slices.Contains(docs, r) {
					t.Errorf("route %s is not in the OpenAPI document", r)
				}
			}
			for _, d := range docs {
				if !slices.Contains(routes, d) {
					t.Errorf("the OpenAPI document describes %s, which is not registered", d)
				}
			}
			if len(routes) < 40 {
				t.Errorf("only %d routes registered", len(routes))
			}
			hasClock := slices.Contains(routes, "POST /api/v1/test/clock")
			if hasClock != mode.test {
				t.Errorf("test clock registered = %v in %s", hasClock, mode.name)
			}
		})
	}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	for _, testMode := range []bool{false, true} {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI(testMode))
		if err != nil {
			t.Fatalf("load: %v", err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("validate (test mode %v): %v", testMode, err)
		}
		for path, item := range doc.Paths.Map() {
			for method, o := range item.Operations() {
				name := method + " " + path
				if o.OperationID == "" || o.Summary == "" {
					t.Errorf("%s: no operationId or summary", name)
				}
				public := o.Security != nil && len(*o.Security) == 0
				if !public && o.Responses.Value("401") == nil {
					t.Errorf("%s: no 401 response", name)
				}
				if o.Responses.Value("500") == nil {
					t.Errorf("%s: no 500 response", name)
				}
				for code, r := range o.Responses.Map() {
					if code[0] == '2' {
						continue
					}
					if r.Value.Content.Get("application/problem+json") == nil {
						t.Errorf("%s: response %s is not problem+json", name, code)
					}
				}
				if o.RequestBody != nil {
					sc := o.RequestBody.Value.Content.Get("application/json").Schema.Value
					if sc.AdditionalProperties.Has == nil || *sc.AdditionalProperties.Has {
						t.Errorf("%s: request body allows unknown fields, which the server refuses", name)
					}
				}
			}
		}
		for _, scheme := range []string{"bearerToken", "sessionCookie"} {
			if doc.Components.SecuritySchemes[scheme] == nil {
				t.Errorf("no security scheme %s", scheme)
			}
		}
	}
}
