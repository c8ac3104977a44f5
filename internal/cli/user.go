package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"sitroom/internal/apperr"
	"sitroom/internal/audit"
	"sitroom/internal/auth"
	"sitroom/internal/clock"
	"sitroom/internal/config"
	"sitroom/internal/db"
	"sitroom/internal/users"
)

// runUser: sitroom user add|passwd|list. These commands act as the system
// ("system:cli" in the audit log): whoever can run them can read the
// database file or URL anyway.
func runUser(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := splitSub(args, "add", "passwd", "list")
	if err != nil {
		return err
	}
	switch sub {
	case "add":
		return userAdd(ctx, env, rest)
	case "passwd":
		return userPasswd(ctx, env, rest)
	default:
		return userList(ctx, env, rest)
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// userStore opens the database and the users store, acting as the CLI.
func userStore(ctx context.Context, c *config.Config) (context.Context, *db.DB, *users.Store, error) {
	d, err := openDB(ctx, c)
	if err != nil {
		return nil, nil, nil, err
	}
	clk := clock.Real{}
	s := users.New(d, clk, audit.New(d, clk), users.Options{})
	return auth.With(ctx, auth.System("cli")), d, s, nil
}

func userAdd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "user add", "user add --db DSN --email E --name N [--name-ru N] [--locale en|ru] [--person CODE] --role ROLE[:SCOPE] …\n\n"+
		"Reads the password from standard input (one line) when it is not a terminal; asks for it otherwise.")
	email := fs.String("email", "", "the user's e-mail address, used to sign in")
	name := fs.String("name", "", "full name in English (for a new person)")
	nameRU := fs.String("name-ru", "", "full name in Russian (default: --name)")
	locale := fs.String("locale", "en", "interface language: en or ru")
	person := fs.String("person", "", "link this existing person (by code) instead of creating one")
	var roles multi
	fs.Var(&roles, "role", "ROLE or ROLE:SCOPE (SCOPE: a member state's code such as KZ, or a post's code); repeatable")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *email == "" {
		return &ExitError{Code: 2, Err: errors.New("--email is required")}
	}
	ctx, d, s, err := userStore(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	// Report bad roles and a taken login before asking for a password.
	var bad apperr.Fields
	for i, r := range roles {
		if _, err := s.ParseGrant(ctx, r); err != nil {
			e, ok := apperr.As(err)
			if !ok {
				return err
			}
			for _, f := range e.Fields {
				bad = append(bad, apperr.FieldError{Field: fmt.Sprintf("grants[%d]", i), Code: f.Code, Message: f.Message})
			}
		}
	}
	if err := bad.Err(); err != nil {
		return flagErrors(err, roles)
	}
	if _, err := s.UserByLogin(ctx, *email); err == nil {
		return fmt.Errorf("a user with login %s already exists (sitroom user passwd sets a password)", users.NormLogin(*email))
	}
	pw, err := readPassword(env, "Password for "+*email+": ", true)
	if err != nil {
		return err
	}
	u, err := s.CreateUser(ctx, users.NewUser{Login: *email, NameEN: *name, NameRU: *nameRU, PersonCode: *person,
		Password: pw, Locale: *locale, Grants: roles})
	if err != nil {
		return flagErrors(err, roles)
	}
	fmt.Fprintf(env.Stdout, "created user %s (%s), person %s, roles: %s\n", u.Login, u.ID, u.PersonCode, rolesText(u.Roles))
	return nil
}

func userPasswd(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "user passwd", "user passwd --db DSN --email E\n\n"+
		"Reads the new password from standard input (one line) when it is not a terminal; asks for it otherwise.\n"+
		"Every session of the user ends.")
	email := fs.String("email", "", "the user's e-mail address")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *email == "" {
		return &ExitError{Code: 2, Err: errors.New("--email is required")}
	}
	ctx, d, s, err := userStore(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	u, err := s.UserByLogin(ctx, *email)
	if err != nil {
		return err
	}
	pw, err := readPassword(env, "New password for "+u.Login+": ", true)
	if err != nil {
		return err
	}
	if err := s.SetPassword(ctx, u.ID, "", pw); err != nil {
		return flagErrors(err, nil)
	}
	fmt.Fprintf(env.Stdout, "password of %s set; their sessions have ended\n", u.Login)
	return nil
}

func userList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "user list", "user list --db DSN [--search TEXT]")
	search := fs.String("search", "", "only users whose login or name contains this")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	ctx, d, s, err := userStore(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	var all []users.User
	cursor := ""
	for {
		page, next, err := s.ListUsers(ctx, users.UserQuery{Search: *search, Limit: 500, Cursor: cursor})
		if err != nil {
			return err
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Login < all[j].Login })
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tNAME\tROLES\tACTIVE")
	for _, u := range all {
		active := "yes"
		if !u.Active {
			active = "no"
		} else if !u.HasPassword {
			active = "yes (no password)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Login, u.NameEN, rolesText(u.Roles), active)
	}
	return tw.Flush()
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "-"
	}
	return strings.Join(roles, ",")
}

func noArgs(rest []string) error {
	if len(rest) > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("unexpected argument %q", rest[0])}
	}
	return nil
}

// flagErrors rewrites field errors in the names an operator typed: the
// store says grants[1], the shell said the second --role.
func flagErrors(err error, roles []string) error {
	e, ok := apperr.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	names := map[string]string{"login": "--email", "name_en": "--name", "name_ru": "--name-ru", "locale": "--locale",
		"person_code": "--person", "password": "password", "new_password": "password"}
	lines := []string{"refused:"}
	for _, f := range e.Fields {
		name := f.Field
		if n, ok := names[name]; ok {
			name = n
		} else if strings.HasPrefix(name, "grants[") {
			if i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "grants["), "]")); err == nil && i < len(roles) {
				name = "--role " + roles[i]
			}
		}
		lines = append(lines, fmt.Sprintf("  %s: %s [%s]", name, f.Message, f.Code))
	}
	return errors.New(strings.Join(lines, "\n"))
}

// readPassword reads a password: one line of standard input when it is not
// a terminal (scripts pipe it in), else a prompt on standard error without
// echo, asked twice when confirm is set.
func readPassword(env *Env, prompt string, confirm bool) (string, error) {
	if !env.StdinIsTerminal {
		line, err := bufio.NewReader(env.Stdin).ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return "", errors.New("no password on standard input (pipe one line, or run from a terminal to be asked)")
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := promptHidden(env, prompt)
	if err != nil || !confirm {
		return pw, err
	}
	again, err := promptHidden(env, "Again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ")
	}
	return pw, nil
}

func promptHidden(env *Env, prompt string) (string, error) {
	fmt.Fprint(env.Stderr, prompt)
	if f, ok := env.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(env.Stderr)
		return string(b), err
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("no password given")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
