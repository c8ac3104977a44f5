package audit

import (
	"context"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
)

// VerifyAs is Verify on behalf of the actor in ctx (the HTTP API's
// GET /api/v1/audit/verify): like List, only auditors and administrators
// holding the role globally may run it, since it reads the whole log.
func (l *Log) VerifyAs(ctx context.Context, anchor *Anchor) (*Report, error) {
	a := auth.From(ctx)
	if a == nil {
		return nil, apperr.Unauthorized("sign in to verify the audit log")
	}
	if !a.HasGlobal(auth.Auditor) && !a.IsAdmin() {
		return nil, apperr.Forbidden("", "verifying the audit log needs the auditor or admin role")
	}
	return Verify(ctx, l.db, anchor)
}
