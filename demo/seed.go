package demo

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"sitroom/internal/apperr"
	"sitroom/internal/auth"
	"sitroom/internal/directory"
	"sitroom/internal/users"
)

// Seeded tells what Seed did.
type Seeded struct {
	Fresh  bool                    // false: the store already had a directory; nothing was written
	Report *directory.ImportReport // the import's report when Fresh
	Logins []directory.FileUser    // the demo users (for the start-up banner)
}

// Seed fills an empty store with the demo organisation — an ordinary import
// of org.yaml — and gives every demo user the demo password. A store that
// already holds member states is left as it is, so `sitroom demo` can be
// restarted on the same file.
func Seed(ctx context.Context, dir *directory.Store, us *users.Store) (*Seeded, error) {
	ctx = auth.With(ctx, auth.System("demo"))
	f, err := directory.ParseFile(bytes.NewReader(OrgYAML()), "demo/org.yaml")
	if err != nil {
		return nil, fmt.Errorf("the embedded demo file is broken: %w", err)
	}
	out := &Seeded{Logins: f.Users}
	existing, _, err := dir.ListMemberStates(ctx, directory.ListOptions{Limit: 1, IncludeArchived: true})
	if err != nil {
		return nil, err
	}
	if len(existing) > 0 {
		return out, nil
	}
	rep, err := dir.Import(ctx, f, directory.ImportOptions{Users: us.ImportFileUsers})
	if err != nil {
		return nil, fmt.Errorf("import the demo organisation: %w", err)
	}
	logins := make([]string, len(f.Users))
	for i, u := range f.Users {
		logins[i] = u.Login
	}
	if _, err := us.SetInitialPasswords(ctx, logins, Password); err != nil {
		return nil, fmt.Errorf("set demo passwords: %w", err)
	}
	out.Fresh, out.Report = true, rep
	return out, nil
}

// InStore tells whether the store holds the demo organisation: its first
// demo user's person, with the fake e-mail address org.yaml gives them. A
// real organisation's store never has it, so neither demo rosters nor the
// simulated officers (who act in the names of the people on duty) can be
// let loose on real data by running `sitroom demo` on it.
func InStore(ctx context.Context, dir *directory.Store) (bool, error) {
	ctx = auth.With(ctx, auth.System("demo"))
	f, err := directory.ParseFile(bytes.NewReader(OrgYAML()), "demo/org.yaml")
	if err != nil {
		return false, fmt.Errorf("the embedded demo file is broken: %w", err)
	}
	if len(f.Users) == 0 {
		return false, nil
	}
	code := f.Users[0].Person
	var email string
	for _, p := range f.People {
		if p.Code == code {
			email = p.Email
		}
	}
	p, err := dir.GetPerson(ctx, code)
	if apperr.Is(err, apperr.KindNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return email != "" && strings.EqualFold(p.Email, email), nil
}
