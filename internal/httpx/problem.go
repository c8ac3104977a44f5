package httpx

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"sitroom/internal/apperr"
)

// ProblemTypePrefix makes a problem slug into the stable `type` URI.
const ProblemTypePrefix = "urn:sitroom:problem:"

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []apperr.FieldError `json:"errors,omitempty"`
	// RetryAfter is set for 429 (seconds); also sent as the header.
	RetryAfter int `json:"retry_after,omitempty"`
}

var statusOf = map[apperr.Kind]int{
	apperr.KindInvalid:      http.StatusUnprocessableEntity,
	apperr.KindBadRequest:   http.StatusBadRequest,
	apperr.KindNotFound:     http.StatusNotFound,
	apperr.KindForbidden:    http.StatusForbidden,
	apperr.KindUnauthorized: http.StatusUnauthorized,
	apperr.KindConflict:     http.StatusConflict,
	apperr.KindTooMany:      http.StatusTooManyRequests,
	apperr.KindUnavailable:  http.StatusServiceUnavailable,
}

// Status returns the HTTP status for err (500 for anything not a domain error).
func Status(err error) int {
	if e, ok := apperr.As(err); ok {
		if s, ok := statusOf[e.Kind]; ok {
			return s
		}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// ProblemFor builds the problem document for err. Internal errors are logged
// and answered without their text.
func ProblemFor(r *http.Request, err error) Problem {
	st := Status(err)
	p := Problem{Status: st, Title: http.StatusText(st), Instance: r.URL.Path}
	if e, ok := apperr.As(err); ok {
		p.Type = ProblemTypePrefix + e.Type
		p.Detail = e.Detail
		p.Errors = e.Fields
		if e.RetryAfter > 0 {
			p.RetryAfter = int((e.RetryAfter + 999_999_999) / 1_000_000_000)
		}
		return p
	}
	if st == http.StatusRequestEntityTooLarge {
		p.Type = ProblemTypePrefix + "too-large"
		p.Detail = "the request body is larger than this endpoint accepts"
		return p
	}
	p.Type = ProblemTypePrefix + "internal"
	p.Detail = "an internal error occurred; it has been logged (request " + RequestID(r.Context()) + ")"
	return p
}

// Error writes err as application/problem+json.
func Error(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemFor(r, err)
	if p.Status >= 500 {
		LoggerFrom(r.Context()).Error("request failed", "err", err)
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// JSON writes v with status.
func JSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if err := enc.Encode(v); err != nil {
		slog.Debug("write json", "err", err)
	}
}
