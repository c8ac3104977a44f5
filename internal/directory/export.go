package directory

import (
	"context"

	"sitroom/internal/db"
)

// ExportOptions tune Export.
type ExportOptions struct {
	// Users returns the users to write into the file (nil: none).
	Users func(ctx context.Context) ([]FileUser, error)
}

// Export returns the whole directory as an import file: every record,
// archived ones with their active_to, each kind in creation order, with
// references by code and no ids, so that importing it into an empty store
// and exporting again gives the same file. Only administrators export: the
// file holds the people and contacts of every member state.
func (s *Store) Export(ctx context.Context, opt ExportOptions) (*File, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	// One read snapshot, so that the file is one consistent state of the
	// directory (no post whose head was added after people were read),
	// without holding up writers.
	var snap *snapshot
	err := s.db.ReadSnapshot(ctx, func(tx *db.ReadTx) error {
		var err error
		snap, err = loadSnapshot(ctx, tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	f := &File{
		Organisation: snap.org,
		MemberStates: make([]MemberState, len(snap.states)),
		Bodies:       make([]Body, len(snap.bodies)),
		People:       make([]Person, len(snap.people)),
		Posts:        make([]Post, len(snap.posts)),
	}
	for i, m := range snap.states {
		f.MemberStates[i] = stateFileForm(m)
	}
	for i, b := range snap.bodies {
		f.Bodies[i] = bodyFileForm(b)
	}
	for i, p := range snap.people {
		f.People[i] = personFileForm(p)
	}
	for i, p := range snap.posts {
		f.Posts[i] = postFileForm(p)
	}
	if opt.Users != nil {
		us, err := opt.Users(ctx)
		if err != nil {
			return nil, err
		}
		f.Users = us
	}
	return f, nil
}
