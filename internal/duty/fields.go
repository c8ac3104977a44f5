package duty

import (
	"fmt"

	"sitroom/internal/apperr"
)

// fieldErrs collects field errors for one input.
type fieldErrs []apperr.FieldError

func (f *fieldErrs) add(field, code, format string, args ...any) {
	*f = append(*f, apperr.FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (f *fieldErrs) addErr(e *apperr.FieldError) {
	if e != nil {
		*f = append(*f, *e)
	}
}

func (f fieldErrs) err() error {
	if len(f) == 0 {
		return nil
	}
	return apperr.Invalid(f...)
}
