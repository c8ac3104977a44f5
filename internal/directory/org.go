package directory

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"sitroom/internal/audit"
	"sitroom/internal/db"
)

const orgKey = "organisation"

func getOrg(ctx context.Context, q db.Querier) (OrgInfo, error) {
	var v string
	var o OrgInfo
	err := q.QueryRow(ctx, "SELECT value FROM settings WHERE key = ?", orgKey).Scan(&v)
	if err == sql.ErrNoRows {
		return o, nil
	}
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		return o, fmt.Errorf("stored organisation info: %w", err)
	}
	return o, nil
}

func putOrg(ctx context.Context, tx *db.Tx, o OrgInfo) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, orgKey, string(b))
	return err
}

// GetOrgInfo returns the organisation's name and zone (zero before it is
// set). It needs no signed-in actor: the name heads the sign-in page and
// the public site.
func (s *Store) GetOrgInfo(ctx context.Context) (*OrgInfo, error) {
	o, err := getOrg(ctx, s.db)
	if err != nil {
		return nil, err
	}
	return &o, nil
}

// SetOrgInfo replaces the organisation's name and zone.
func (s *Store) SetOrgInfo(ctx context.Context, o OrgInfo) (*OrgInfo, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	c := newChecker("", false, nil)
	c.checkOrg(&o)
	if err := c.err(); err != nil {
		return nil, err
	}
	var out *OrgInfo
	err := s.db.RunInTx(ctx, func(tx *db.Tx) error {
		old, err := getOrg(ctx, tx)
		if err != nil {
			return err
		}
		out = &o
		if old == o {
			return nil
		}
		if err := putOrg(ctx, tx, o); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Entry{
			Action: "organisation.update", ObjectType: "organisation", ObjectID: orgKey,
			Summary: "set the organisation's name to " + o.NameEN, Before: old, After: o,
		})
	})
	return out, err
}
