package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"sitroom/internal/apperr"
)

// MaxJSONBody is the default limit of a JSON request body.
const MaxJSONBody = 1 << 20

// DecodeJSON reads exactly one JSON value from the body into v. Unknown
// fields, trailing data, a wrong content type and an oversized body are
// refused with a clear problem; nothing is partially applied because the
// caller has not run yet.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = MaxJSONBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &apperr.Error{Kind: apperr.KindBadRequest, Type: "unsupported-media-type",
				Detail: fmt.Sprintf("the body must be application/json, not %q", ct)}
		}
	}
	body := http.MaxBytesReader(w, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, limit)
	}
	if dec.More() {
		return apperr.BadRequest("malformed-json", "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return apperr.BadRequest("malformed-json", "the body holds data after the JSON value")
		}
		return jsonError(err, limit)
	}
	return nil
}

func jsonError(err error, limit int64) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &apperr.Error{Kind: apperr.KindBadRequest, Type: "too-large",
			Detail: "the body is larger than " + strconv.FormatInt(limit, 10) + " bytes"}
	case errors.As(err, &se):
		return apperr.BadRequest("malformed-json", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err))
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		return &apperr.Error{Kind: apperr.KindBadRequest, Type: "malformed-json",
			Detail: fmt.Sprintf("field %s: expected %s, got JSON %s", field, te.Type, te.Value),
			Fields: []apperr.FieldError{{Field: field, Code: "wrong_type", Message: "expected " + te.Type.String()}}}
	case errors.Is(err, io.EOF):
		return apperr.BadRequest("malformed-json", "the body is empty; a JSON object is expected")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.BadRequest("malformed-json", "the JSON body ends too early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apperr.Error{Kind: apperr.KindBadRequest, Type: "unknown-field",
			Detail: fmt.Sprintf("unknown field %q", name),
			Fields: []apperr.FieldError{{Field: name, Code: "unknown_field", Message: "this field is not accepted here"}}}
	}
	return apperr.BadRequest("malformed-json", "malformed JSON: "+err.Error())
}

// List is the shape of every list response.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// MaxLimit is the largest page a list returns.
const MaxLimit = 500

// Page reads ?limit= (default def, at most MaxLimit) and ?cursor=.
func Page(r *http.Request, def int) (limit int, cursor string, err error) {
	limit = def
	if s := r.URL.Query().Get("limit"); s != "" {
		n, e := strconv.Atoi(s)
		if e != nil || n < 1 || n > MaxLimit {
			return 0, "", &apperr.Error{Kind: apperr.KindBadRequest, Type: "invalid-parameter",
				Detail: fmt.Sprintf("limit must be an integer from 1 to %d", MaxLimit),
				Fields: []apperr.FieldError{{Field: "limit", Code: "out_of_range", Message: "from 1 to 500"}}}
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), nil
}
