package users

import (
	"context"
	"fmt"

	"sitroom/internal/audit"
	"sitroom/internal/db"
)

// SetInitialPasswords gives every listed user who has no password yet the
// same password, hashed once. It exists for `sitroom demo`, whose fifty-odd
// demo users share one documented password: hashing it fifty times would
// delay the demo's start by seconds for nothing. Administrators only; users
// who already have a password are left alone. It returns how many it set.
func (s *Store) SetInitialPasswords(ctx context.Context, logins []string, password string) (int, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return 0, err
	}
	if err := CheckPassword("password", password); err != nil {
		return 0, err
	}
	hash, err := s.hash(ctx, password)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.d.RunInTx(ctx, func(tx *db.Tx) error {
		n = 0
		now := s.clock.Now()
		for _, l := range logins {
			res, err := tx.Exec(ctx, "UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE login = ? AND password_hash = ''",
				hash, now, now, NormLogin(l))
			if err != nil {
				return err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return s.audit.Record(ctx, tx, audit.Entry{Action: "user.initial_passwords", ObjectType: "user",
			Summary: fmt.Sprintf("initial password set for %d users", n)})
	})
	return n, err
}
