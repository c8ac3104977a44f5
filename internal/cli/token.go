package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"sitroom/internal/config"
)

// runToken: sitroom token create|revoke|list, acting as the system.
func runToken(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := splitSub(args, "create", "revoke", "list")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		return tokenCreate(ctx, env, rest)
	case "revoke":
		return tokenRevoke(ctx, env, rest)
	default:
		return tokenList(ctx, env, rest)
	}
}

func tokenCreate(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "token create", "token create --db DSN --user E [--post CODE] [--name N]\n\n"+
		"Prints the new token alone on the last line of standard output; it is shown only this once.")
	user := fs.String("user", "", "the e-mail address of the user the token acts for")
	post := fs.String("post", "", "bind the token to this post (by code): it acts for that post only")
	name := fs.String("name", "", "what the token is for, e.g. the national system using it")
	c, err := parse(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if err := noArgs(fs.Args()); err != nil {
		return err
	}
	if *user == "" {
		return &ExitError{Code: 2, Err: errors.New("--user is required")}
	}
	ctx, d, s, err := userStore(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	plain, t, err := s.CreateToken(ctx, *user, *post, *name)
	if err != nil {
		return flagErrors(err, nil)
	}
	bound := ""
	if t.PostCode != "" {
		bound = ", bound to post " + t.PostCode
	}
	fmt.Fprintf(env.Stdout, "created API token %s for %s%s; it is shown only now:\n", t.ID, t.Login, bound)
	fmt.Fprintln(env.Stdout, plain)
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("revoke ID --db x" as well as "revoke --db x ID").
func parseInterleaved(fs *flag.FlagSet, args []string, resolve func() (*config.Config, error)) (*config.Config, []string, error) {
	var pos []string
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if err == flag.ErrHelp {
				return nil, nil, &ExitError{Code: 0}
			}
			return nil, nil, &ExitError{Code: 2, Err: err}
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	c, err := resolve()
	if err != nil {
		return nil, nil, &ExitError{Code: 2, Err: err}
	}
	return c, pos, nil
}

func tokenRevoke(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "token revoke", "token revoke --db DSN ID")
	c, pos, err := parseInterleaved(fs, args, config.Bind(fs, env.Getenv, "db"))
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &ExitError{Code: 2, Err: errors.New("give the id of one token (see sitroom token list)")}
	}
	ctx, d, s, err := userStore(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := s.RevokeToken(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "revoked API token %s\n", pos[0])
	return nil
}

func tokenList(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "token list", "token list --db DSN [--user E]")
	user := fs.String("user", "", "only the tokens of this user (default: everyone's)")
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
	ts, err := s.ListTokens(ctx, *user)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPREFIX\tUSER\tPOST\tNAME\tCREATED\tLAST USED\tSTATE")
	for _, t := range ts {
		used, state := "never", "active"
		if t.LastUsedAt != nil {
			used = t.LastUsedAt.Format(time.RFC3339)
		}
		if t.RevokedAt != nil {
			state = "revoked " + t.RevokedAt.Format(time.RFC3339)
		} else if t.ExpiresAt != nil {
			state = "expires " + t.ExpiresAt.Format(time.RFC3339)
		}
		post, name := t.PostCode, t.Name
		if post == "" {
			post = "-"
		}
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s…\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Prefix, t.Login, post, name, t.CreatedAt.Format(time.RFC3339), used, state)
	}
	return tw.Flush()
}
