package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"sitroom/internal/httpx"
)

// The OpenAPI 3.0 document is written here by hand, one entry per route, and
// deliberately not generated from the router: the route coverage test
// compares the two, so a route nobody documented (or documentation of a
// route that is gone) fails the build. Schemas, on the other hand, are
// reflected from the Go types the handlers encode and decode (schema.go), so
// they cannot drift from the wire format.

type openAPIDoc struct {
	OpenAPI    string                           `json:"openapi"`
	Info       map[string]any                   `json:"info"`
	Servers    []map[string]string              `json:"servers"`
	Tags       []map[string]string              `json:"tags"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components components                       `json:"components"`
	Security   []map[string][]string            `json:"security"`
}

type components struct {
	Schemas         map[string]*schema    `json:"schemas"`
	Parameters      map[string]*parameter `json:"parameters"`
	SecuritySchemes map[string]any        `json:"securitySchemes"`
}

type operation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description,omitempty"`
	Tags        []string               `json:"tags"`
	Parameters  []*parameter           `json:"parameters,omitempty"`
	RequestBody *requestBody           `json:"requestBody,omitempty"`
	Responses   map[string]*response   `json:"responses"`
	Security    *[]map[string][]string `json:"security,omitempty"`
}

type parameter struct {
	Ref         string  `json:"$ref,omitempty"`
	Name        string  `json:"name,omitempty"`
	In          string  `json:"in,omitempty"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required,omitempty"`
	Schema      *schema `json:"schema,omitempty"`
}

type requestBody struct {
	Required bool                  `json:"required"`
	Content  map[string]*mediaType `json:"content"`
}

type mediaType struct {
	Schema *schema `json:"schema"`
}

type response struct {
	Description string                `json:"description"`
	Headers     map[string]*header    `json:"headers,omitempty"`
	Content     map[string]*mediaType `json:"content,omitempty"`
}

type header struct {
	Description string  `json:"description"`
	Schema      *schema `json:"schema"`
}

// op is one documented route, as written in the table below.
type op struct {
	id, tag, summary, desc string
	query                  []string // names of components.parameters
	pathDesc               string   // what {id} accepts
	body                   *schema  // request body (JSON), if any
	status                 int      // success status
	resp                   *schema  // success body; nil for 204
	location               bool     // 201 with Location
	fails                  []int    // problem statuses besides 401 and 500
	public                 bool     // no credentials needed
}

// docBuilder collects the document.
type docBuilder struct {
	s     *schemas
	paths map[string]map[string]*operation
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (b *docBuilder) add(method, path string, o op) {
	op := &operation{OperationID: o.id, Summary: o.summary, Description: o.desc, Tags: []string{o.tag},
		Responses: map[string]*response{}}
	for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
		d := o.pathDesc
		if d == "" {
			d = "the record's id"
		}
		op.Parameters = append(op.Parameters, &parameter{Name: m[1], In: "path", Required: true,
			Description: d, Schema: &schema{Type: "string"}})
	}
	for _, q := range o.query {
		op.Parameters = append(op.Parameters, &parameter{Ref: "#/components/parameters/" + q})
	}
	if o.body != nil {
		op.RequestBody = &requestBody{Required: true, Content: map[string]*mediaType{
			"application/json": {Schema: o.body}}}
	}
	ok := &response{Description: http.StatusText(o.status)}
	if o.resp != nil {
		ok.Content = map[string]*mediaType{"application/json": {Schema: o.resp}}
	}
	if o.location {
		ok.Headers = map[string]*header{"Location": {Description: "the URL of the new record",
			Schema: &schema{Type: "string"}}}
	}
	op.Responses[strconv.Itoa(o.status)] = ok
	fails := slices.Clone(o.fails)
	if o.public {
		op.Security = &[]map[string][]string{}
	}
	// Even a public route answers 401 to a bearer token that does not
	// resolve: an integrator must learn that its token is wrong.
	fails = append(fails, http.StatusUnauthorized)
	if len(o.query) > 0 || o.body != nil {
		fails = append(fails, http.StatusBadRequest)
	}
	fails = append(fails, http.StatusInternalServerError)
	for _, st := range fails {
		r := &response{Description: problemText[st],
			Content: map[string]*mediaType{"application/problem+json": {Schema: b.s.ref(httpx.Problem{})}}}
		if r.Description == "" {
			r.Description = http.StatusText(st)
		}
		if st == http.StatusUnauthorized {
			r.Headers = map[string]*header{"WWW-Authenticate": {Description: `Bearer realm="sitroom"`,
				Schema: &schema{Type: "string"}}}
		}
		op.Responses[strconv.Itoa(st)] = r
	}
	if b.paths[path] == nil {
		b.paths[path] = map[string]*operation{}
	}
	m := strings.ToLower(method)
	if _, dup := b.paths[path][m]; dup {
		panic("api: documented twice: " + method + " " + path)
	}
	b.paths[path][m] = op
}

var problemText = map[int]string{
	http.StatusBadRequest: "The request cannot be read: malformed JSON, an unknown field, a wrong " +
		"content type, a body over the size limit, or a bad query parameter.",
	http.StatusUnauthorized: "No valid credentials: sign in, or send a valid bearer token (a bearer token " +
		"that is unknown, revoked or expired is refused on every route).",
	http.StatusForbidden: "The record is visible to the caller, but the caller may not do this " +
		"(or a CSRF token is missing).",
	http.StatusNotFound: "No such record, or it lies outside the caller's scope (its existence " +
		"is not disclosed).",
	http.StatusConflict:            "The record's state forbids this (e.g. a duplicate code).",
	http.StatusUnprocessableEntity: "The input breaks a rule; `errors` lists the fields with stable codes.",
	http.StatusTooManyRequests:     "Slow down; Retry-After says for how long.",
	http.StatusInternalServerError: "An internal error; it has been logged with the request id.",
}

// queryParams are the shared list parameters.
func queryParams() map[string]*parameter {
	str := &schema{Type: "string"}
	one, max := 1.0, float64(httpx.MaxLimit)
	return map[string]*parameter{
		"q": {Name: "q", In: "query", Schema: str,
			Description: "search: part of a name or code, any case (Cyrillic too)"},
		"state": {Name: "state", In: "query", Schema: str,
			Description: "only records of this member state (its ISO code)"},
		"kind": {Name: "kind", In: "query", Schema: str, Description: "only records of this kind"},
		"ministry_kind": {Name: "ministry_kind", In: "query", Schema: str,
			Description: "only posts of this ministry kind (defence, emergency, interior, …)"},
		"include_archived": {Name: "include_archived", In: "query", Schema: &schema{Type: "boolean"},
			Description: "also list archived records (default false)"},
		"limit": {Name: "limit", In: "query", Schema: &schema{Type: "integer", Minimum: &one, Maximum: &max},
			Description: "page size, 1 to 500 (default 100)"},
		"cursor": {Name: "cursor", In: "query", Schema: str,
			Description: "next_cursor of the previous page"},
		"user": {Name: "user", In: "query", Schema: str,
			Description: "whose tokens: a login (one's own, or anyone's for administrators); default one's own, or everyone's for administrators"},
		"active": {Name: "active", In: "query", Schema: &schema{Type: "boolean"},
			Description: "only active (true) or inactive (false) users"},
		"actor": {Name: "actor", In: "query", Schema: str,
			Description: "only entries by this actor (user:<login>, token:<id>, system:<name>)"},
		"action": {Name: "action", In: "query", Schema: str,
			Description: "only entries of this action (e.g. post.update), or of a prefix ending in * (post.*)"},
		"object_type": {Name: "object_type", In: "query", Schema: str, Description: "only entries about this kind of object"},
		"object_id":   {Name: "object_id", In: "query", Schema: str, Description: "only entries about this object"},
		"from": {Name: "from", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "only entries at or after this instant (RFC 3339)"},
		"to": {Name: "to", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "only entries before this instant (RFC 3339)"},
		"anchor": {Name: "anchor", In: "query", Schema: str,
			Description: "SEQ:HASH of an anchor the chain must still contain"},
	}
}

// OpenAPI returns the document as JSON; the test-clock routes are described
// only in test mode, where they exist.
func OpenAPI(testMode bool) []byte {
	b := &docBuilder{s: newSchemas(), paths: map[string]map[string]*operation{}}
	documentRoutes(b, testMode)
	doc := openAPIDoc{
		OpenAPI: "3.0.3",
		Info: map[string]any{
			"title":   "sitroom API",
			"version": "1",
			"description": "The JSON API of sitroom, the information system of a crisis response network.\n\n" +
				"Conventions: ids are opaque strings; times are RFC 3339 in UTC; lists answer " +
				"`{\"items\": [...], \"next_cursor\": \"...\"}` with `?limit=` (at most 500) and `?cursor=` " +
				"(next_cursor is empty on the last page); errors are RFC 9457 application/problem+json with a stable " +
				"`type` (urn:sitroom:problem:<slug>) and a `detail` a person can act on; request bodies are " +
				"JSON objects, unknown fields are refused, and bodies are limited in size. Records outside the " +
				"caller's scope answer 404; visible records the caller may not change answer 403. " +
				"Directory records are archived, never deleted; they are addressed by id or by code. Updates use PUT " +
				"with the whole editable record (fields the server owns, such as id and created_at, are ignored); " +
				"users are changed with PATCH (only the fields sent change).",
		},
		Servers: []map[string]string{{"url": "/"}},
		Paths:   b.paths,
		Components: components{
			Schemas:    b.s.defs,
			Parameters: queryParams(),
			SecuritySchemes: map[string]any{
				"bearerToken": map[string]any{"type": "http", "scheme": "bearer",
					"description": "An API token (`sitroom token create`, or POST /api/v1/tokens), sent as " +
						"`Authorization: Bearer <token>`. A token may be bound to one post. Needs no CSRF token."},
				"sessionCookie": map[string]any{"type": "apiKey", "in": "cookie", "name": httpx.SessionCookie,
					"description": "The browser session set at sign-in. Requests other than GET/HEAD must also send " +
						"the session's CSRF token in the " + httpx.CSRFHeader + " header and come from this site."},
			},
		},
		Security: []map[string][]string{{"bearerToken": {}}, {"sessionCookie": {}}},
	}
	tags := map[string]bool{}
	for _, ops := range b.paths {
		for _, o := range ops {
			tags[o.Tags[0]] = true
		}
	}
	for _, t := range sortedKeys(tags) {
		doc.Tags = append(doc.Tags, map[string]string{"name": t})
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("api: openapi: %v", err))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func (h *handlers) openAPI(w http.ResponseWriter, r *http.Request) error {
	h.docOnce.Do(func() { h.doc = OpenAPI(h.d.Fake != nil) })
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(h.doc)
	return nil
}
