package directory

import (
	"context"

	"sitroom/internal/db"
)

// snapshot is the whole directory as stored, each kind in id order, with
// references filled in by code: what Import compares a file with and what
// Export writes.
type snapshot struct {
	org    OrgInfo
	states []MemberState
	bodies []Body
	people []Person
	posts  []Post
}

func loadSnapshot(ctx context.Context, q db.Querier) (*snapshot, error) {
	var s snapshot
	var err error
	if s.org, err = getOrg(ctx, q); err != nil {
		return nil, err
	}
	if err := collect(ctx, q, stateSelect+" ORDER BY m.id", scanState, &s.states); err != nil {
		return nil, err
	}
	hist, err := loadHistory(ctx, q, nil)
	if err != nil {
		return nil, err
	}
	for i := range s.states {
		s.states[i].History = hist[s.states[i].ID]
	}
	if err := collect(ctx, q, bodySelect+" ORDER BY b.id", scanBody, &s.bodies); err != nil {
		return nil, err
	}
	if err := collect(ctx, q, personSelect+" ORDER BY pe.id", scanPerson, &s.people); err != nil {
		return nil, err
	}
	pos, err := loadPositions(ctx, q, nil)
	if err != nil {
		return nil, err
	}
	for i := range s.people {
		s.people[i].Positions = pos[s.people[i].ID]
	}
	scanPostOnly := func(r scanner) (Post, error) {
		p, _, err := scanPost(r)
		return p, err
	}
	if err := collect(ctx, q, postSelect+" ORDER BY p.id", scanPostOnly, &s.posts); err != nil {
		return nil, err
	}
	return &s, nil
}

func collect[T any](ctx context.Context, q db.Querier, query string, scan func(scanner) (T, error), out *[]T) error {
	rows, err := q.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return err
		}
		*out = append(*out, x)
	}
	return rows.Err()
}
