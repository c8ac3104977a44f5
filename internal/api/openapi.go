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

	"sitroom/internal/events"
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
	Schema *schema `json:"schema,omitempty"`
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
	query                  []string          // names of components.parameters
	pathDesc               string            // what {id} accepts
	body                   *schema           // request body (JSON), if any
	status                 int               // success status
	resp                   *schema           // success body; nil for 204
	location               bool              // 201 with Location
	fails                  []int             // problem statuses besides 401 and 500
	public                 bool              // no credentials needed
	ctype                  string            // success content type (default application/json)
	headers                map[string]string // success headers besides Location and the stream position: name → description
	optionalBody           bool              // the request body may be left out
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
		op.RequestBody = &requestBody{Required: !o.optionalBody, Content: map[string]*mediaType{
			"application/json": {Schema: o.body}}}
	}
	ok := &response{Description: http.StatusText(o.status), Headers: map[string]*header{}}
	if o.resp != nil {
		ct := o.ctype
		if ct == "" {
			ct = "application/json"
		}
		ok.Content = map[string]*mediaType{ct: {Schema: o.resp}}
	}
	if o.location {
		ok.Headers["Location"] = &header{Description: "the URL of the new record", Schema: &schema{Type: "string"}}
	}
	for name, d := range o.headers {
		ok.Headers[name] = &header{Description: d, Schema: &schema{Type: "string"}}
	}
	if method == "GET" && strings.HasPrefix(path, Prefix+"/") {
		ok.Headers[events.PositionHeader] = &header{Schema: &schema{Type: "integer"},
			Description: "the event stream position this answer reflects, read before the data: open " + Prefix +
				"/stream?after=<this> and nothing that happened since is missed"}
	}
	if len(ok.Headers) == 0 {
		ok.Headers = nil
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
	zero, fifty, year, thirtySix := 0.0, 50.0, 366.0, 36.0
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

		// The readiness network.
		"alert_state": {Name: "state", In: "query", Schema: &schema{Type: "string", Enum: []any{"open", "cancelled", "closed"}},
			Description: "only alerts in this state"},
		"exercise": {Name: "exercise", In: "query", Schema: &schema{Type: "boolean"},
			Description: "only exercises (true) or only real alerts (false)"},
		"after": {Name: "after", In: "query", Schema: &schema{Type: "integer", Minimum: &zero},
			Description: "replay from this position (e.g. the Sitroom-Stream-Position of a page or GET); Last-Event-ID wins"},
		"last_event_id": {Name: "Last-Event-ID", In: "header", Schema: &schema{Type: "integer", Minimum: &zero},
			Description: "the id of the last event received (sent by EventSource when it reconnects)"},
		"board_alerts": {Name: "alerts", In: "query", Schema: &schema{Type: "integer", Minimum: &one, Maximum: &fifty},
			Description: "how many of the latest open alerts get a column (default 10, at most 50)"},
		"at": {Name: "at", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "the instant (RFC 3339); default now"},
		"days": {Name: "days", In: "query", Schema: &schema{Type: "integer", Minimum: &one, Maximum: &year},
			Description: "how many days ahead (default 14, at most 366)"},
		"post":          {Name: "post", In: "query", Schema: str, Description: "only this post (its id or code)"},
		"post_required": {Name: "post", In: "query", Required: true, Schema: str, Description: "the post (its id or code)"},
		"period_from": {Name: "from", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "the start of the period (RFC 3339); default now"},
		"roster_from": {Name: "from", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "the start of the period (RFC 3339); default a day ago"},
		"roster_to": {Name: "to", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "the end of the period (RFC 3339); default 15 days after its start; at most 100 days in all"},
		"since": {Name: "since", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "only notes written after this instant (RFC 3339); default a week ago"},
		"check_state": {Name: "state", In: "query",
			Schema:      &schema{Type: "string", Enum: []any{"scheduled", "firing", "fired", "cancelled", "failed"}},
			Description: "only checks in this state"},
		"series": {Name: "series", In: "query", Schema: str, Description: "only occurrences of this recurring check (its id)"},
		"series_active": {Name: "active", In: "query", Schema: &schema{Type: "boolean"},
			Description: "only recurring checks still active (default false: all)"},
		"previous": {Name: "previous", In: "query", Schema: &schema{Type: "integer", Minimum: &zero, Maximum: &fifty},
			Description: "how many previous checks to compare with (default 5; 0: none)"},
		"same_series": {Name: "same_series", In: "query", Schema: &schema{Type: "boolean"},
			Description: "compare only with earlier occurrences of the same recurring check"},
		"months": {Name: "months", In: "query", Schema: &schema{Type: "integer", Minimum: &one, Maximum: &thirtySix},
			Description: "how many calendar months (default 12, at most 36)"},
		"trend_post": {Name: "post", In: "query", Schema: str,
			Description: "only these posts (ids or codes; repeat the parameter or separate with commas); default every post checked"},
		"until": {Name: "until", In: "query", Schema: &schema{Type: "string", Format: "date-time"},
			Description: "an instant in the last month shown (RFC 3339); default now"},
		"tz": {Name: "tz", In: "query", Schema: str,
			Description: "the IANA zone whose midnights cut the months; default the organisation's"},
		"lang": {Name: "lang", In: "query", Schema: &schema{Type: "string", Enum: []any{"en", "ru"}},
			Description: "the language of the chart's words (default en)"},
		"dead_kind": {Name: "kind", In: "query", Schema: &schema{Type: "string", Enum: []any{"email", "webhook"}},
			Description: "only messages of this kind"},
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
