package web

import (
	"strconv"
	"strings"
	"time"

	"sitroom/internal/apperr"
)

func itoa(n int) string { return strconv.Itoa(n) }

// errAdminOnly is what a page that only administrators use answers others
// (the stores say the same; the page does not wait for a write to learn it).
var errAdminOnly = apperr.Forbidden("admin-only", "only an administrator may do this")

func trim(s string) string { return strings.TrimSpace(s) }

// retryAfter tells whether err is a throttling answer and how long to wait.
func retryAfter(err error) (time.Duration, bool) {
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindTooMany {
		return 0, false
	}
	return e.RetryAfter, true
}

// waitSeconds rounds a wait up to whole seconds, at least one.
func waitSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}
