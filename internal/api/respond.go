package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"sitroom/internal/apperr"
	"sitroom/internal/httpx"
)

// Body size limits: directory records are small; a person with a long
// positions history is the largest.
const (
	maxRecordBody = 64 << 10
	maxSmallBody  = 4 << 10
)

// decode reads the JSON body into v (strict: unknown fields, trailing data,
// a wrong content type and an oversized body are refused).
func decode[T any](w http.ResponseWriter, r *http.Request, limit int64) (T, error) {
	var v T
	err := httpx.DecodeJSON(w, r, &v, limit)
	return v, err
}

// ok writes v as 200.
func ok(w http.ResponseWriter, v any) error {
	httpx.JSON(w, http.StatusOK, v)
	return nil
}

// created writes v as 201 with the Location of the new record.
func created(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	httpx.JSON(w, http.StatusCreated, v)
	return nil
}

// noContent answers 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// list writes a page; items is never null on the wire.
func list[T any](w http.ResponseWriter, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	httpx.JSON(w, http.StatusOK, httpx.List[T]{Items: items, NextCursor: next})
	return nil
}

// listQuery holds the query parameters every directory list accepts.
type listQuery struct {
	Q               string
	State           string
	Kind            string
	IncludeArchived bool
	Limit           int
	Cursor          string
}

const defaultLimit = 100

func parseList(r *http.Request) (listQuery, error) {
	var lq listQuery
	var err error
	if lq.Limit, lq.Cursor, err = httpx.Page(r, defaultLimit); err != nil {
		return lq, err
	}
	q := r.URL.Query()
	lq.Q, lq.State, lq.Kind = q.Get("q"), q.Get("state"), q.Get("kind")
	if lq.IncludeArchived, err = boolParam(q, "include_archived"); err != nil {
		return lq, err
	}
	return lq, nil
}

// boolParam reads an optional boolean query parameter (false when absent).
func boolParam(q url.Values, name string) (bool, error) {
	p, err := optBoolParam(q, name)
	if p == nil {
		return false, err
	}
	return *p, err
}

// optBoolParam reads an optional boolean query parameter (nil when absent).
func optBoolParam(q url.Values, name string) (*bool, error) {
	s := q.Get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, badParam(name, "not_boolean", name+" must be true or false")
	}
	return &b, nil
}

func badParam(name, code, msg string) error {
	return &apperr.Error{Kind: apperr.KindBadRequest, Type: "invalid-parameter", Detail: msg,
		Fields: []apperr.FieldError{{Field: name, Code: code, Message: msg}}}
}

// pageParams reads ?limit= and ?cursor=.
func pageParams(r *http.Request) (int, string, error) { return httpx.Page(r, defaultLimit) }

// timeParam reads an optional RFC 3339 query parameter (zero when absent).
func timeParam(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, badParam(name, "invalid_time", name+" must be an RFC 3339 instant such as 2026-01-15T09:00:00Z")
	}
	return t.UTC(), nil
}
