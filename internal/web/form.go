package web

import (
	"net/http"
	"strings"

	"sitroom/internal/apperr"
)

// form carries what a user typed and what the store said about it, so a
// refused form comes back filled in with each message next to its field.
type form struct {
	Values map[string]string
	Multi  map[string][]string
	Fields map[string][]apperr.FieldError
	// Problem is a translated message about the whole form, shown above it.
	Problem string
	// Conflict is a store's refusal of the whole form (a duplicate login,
	// the last administrator): its problem type, translated in the page as
	// "problem.<type>", and the store's English detail as the fallback.
	Conflict, ConflictDetail string
}

func newForm() *form {
	return &form{Values: map[string]string{}, Multi: map[string][]string{}, Fields: map[string][]apperr.FieldError{}}
}

// formFrom copies the posted fields (trimmed) into a form.
func formFrom(r *http.Request) *form {
	f := newForm()
	_ = r.ParseForm()
	for k, vs := range r.PostForm {
		if len(vs) > 0 {
			f.Values[k] = strings.TrimSpace(vs[0])
		}
		f.Multi[k] = vs
	}
	return f
}

// Get returns a value (for templates).
func (f *form) Get(k string) string {
	if f == nil {
		return ""
	}
	return f.Values[k]
}

// Has tells whether a multi-valued field holds v (checkboxes).
func (f *form) Has(k, v string) bool {
	if f == nil {
		return false
	}
	for _, x := range f.Multi[k] {
		if x == v {
			return true
		}
	}
	return false
}

// Err tells whether the field has an error (for aria-invalid).
func (f *form) Err(k string) bool { return f != nil && len(f.Fields[k]) > 0 }

// addField records a field error by its stable code.
func (f *form) addField(field, code, msg string) {
	f.Fields[field] = append(f.Fields[field], apperr.FieldError{Field: field, Code: code, Message: msg})
}

// take files the field errors of err under their fields, mapping the
// store's field names to the form's with rename (store name → form name),
// and reports whether err was a validation failure. A field the form does
// not show is reported at the top of the form.
func (f *form) take(err error, shown ...string) bool {
	e, ok := apperr.As(err)
	if ok && e.Kind == apperr.KindConflict {
		f.Conflict, f.ConflictDetail = e.Type, e.Detail
		return true
	}
	if !ok || e.Kind != apperr.KindInvalid && len(e.Fields) == 0 {
		return false
	}
	for _, fe := range e.Fields {
		name := fe.Field
		if i := strings.IndexByte(name, '['); i > 0 && !has(shown, name) {
			name = name[:i]
		}
		if !has(shown, name) {
			name = "_form"
		}
		f.Fields[name] = append(f.Fields[name], fe)
	}
	return true
}

// errors translates a field's errors: the catalogue's text for the code
// ("field_error.<code>"), else the store's English message, so a code added
// to a store before its translation still says something useful.
func (f *form) errors(tr translator, field string) []string {
	if f == nil {
		return nil
	}
	var out []string
	for _, fe := range f.Fields[field] {
		if tr.Has("field_error." + fe.Code) {
			out = append(out, tr.T("field_error."+fe.Code))
		} else {
			out = append(out, fe.Message)
		}
	}
	return out
}

// mapField renames a field in err's field errors (a store's name for what
// the form calls otherwise).
func mapField(err error, from, to string) error {
	e, ok := apperr.As(err)
	if !ok {
		return err
	}
	for i := range e.Fields {
		if e.Fields[i].Field == from {
			e.Fields[i].Field = to
		}
	}
	return err
}
