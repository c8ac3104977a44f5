// Package apperr holds the kinds of failure every domain package reports.
// Exactly one place (httpx) maps them to HTTP statuses and problem+json; the
// CLI prints them. Each carries a stable Type (the problem "type" slug) and a
// Detail a person can act on.
package apperr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Kind is the class of failure; it decides the HTTP status.
type Kind int

const (
	KindInvalid      Kind = iota + 1 // 422: the input breaks a rule
	KindBadRequest                   // 400: the input cannot be read at all
	KindNotFound                     // 404: absent, or outside the caller's scope
	KindForbidden                    // 403: visible, but the caller may not do this
	KindUnauthorized                 // 401: no valid credentials
	KindConflict                     // 409: the state of the record forbids it
	KindTooMany                      // 429: slow down
	KindUnavailable                  // 503
)

// FieldError is one invalid field. Code is a stable key the UI translates
// (e.g. "required", "unknown_zone"); Message is the English fallback.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is a domain failure.
type Error struct {
	Kind   Kind
	Type   string // stable slug, e.g. "not-found", "not-on-duty", "invalid"
	Detail string
	Fields []FieldError
	// RetryAfter tells a throttled caller how long to wait (KindTooMany).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return e.Detail
	}
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return e.Detail + " (" + strings.Join(parts, "; ") + ")"
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is tells whether err is an *Error of kind k.
func Is(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Type: "not-found", Detail: what + " not found"}
}
func Forbidden(typ, detail string) *Error {
	if typ == "" {
		typ = "forbidden"
	}
	return &Error{Kind: KindForbidden, Type: typ, Detail: detail}
}
func Unauthorized(detail string) *Error {
	return &Error{Kind: KindUnauthorized, Type: "unauthorized", Detail: detail}
}
func Conflict(typ, detail string) *Error {
	if typ == "" {
		typ = "conflict"
	}
	return &Error{Kind: KindConflict, Type: typ, Detail: detail}
}
func BadRequest(typ, detail string) *Error {
	if typ == "" {
		typ = "bad-request"
	}
	return &Error{Kind: KindBadRequest, Type: typ, Detail: detail}
}
func TooMany(detail string, retryAfter time.Duration) *Error {
	return &Error{Kind: KindTooMany, Type: "too-many-requests", Detail: detail, RetryAfter: retryAfter}
}

// Invalid builds a 422 from field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Type: "invalid", Detail: "the input breaks a rule; see fields", Fields: fields}
}

// Fields collects field errors; Err returns nil when there are none.
type Fields []FieldError

func (f *Fields) Add(field, code, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}
