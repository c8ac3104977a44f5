// Package cli holds sitroom's subcommands, one file each. Run dispatches on
// the first argument; every command gets an Env rather than reaching for os.*
// itself, so tests can run commands in-process.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"golang.org/x/term"
)

// Env is what a command may touch of the outside world.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// StdinIsTerminal tells whether to prompt (passwords) or read a line.
	StdinIsTerminal bool
}

// OSEnv is the real process environment.
func OSEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StdinIsTerminal: term.IsTerminal(int(os.Stdin.Fd()))}
}

type command struct {
	summary string
	run     func(ctx context.Context, env *Env, args []string) error
}

// commands is the table of subcommands; each lives in its own file.
func commands() map[string]command {
	return map[string]command{
		"serve":   {"run the server", runServe},
		"demo":    {"fill an empty database with the demo organisation, then serve", runDemo},
		"migrate": {"apply the embedded database migrations", runMigrate},
		"user":    {"add|passwd|list users", runUser},
		"token":   {"create|revoke API tokens", runToken},
		"import":  {"import the directory from a YAML or JSON file", runImport},
		"export":  {"export the directory as YAML or JSON", runExport},
		"backup":  {"write a consistent backup of a live database", runBackup},
		"restore": {"restore a backup into an empty database", runRestore},
		"audit":   {"verify the audit log's hash chain", runAudit},
		"bench":   {"fanout|ack|escalate: measure a server from the outside", runBench},
		"config":  {"print the configuration table (Markdown)", runConfig},
		"version": {"print the version", runVersion},
	}
}

// ExitError carries an exit status other than 1.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Run runs the subcommand named by args[0] and returns the exit status.
func Run(ctx context.Context, env *Env, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "sitroom: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	if err := c.run(ctx, env, args[1:]); err != nil {
		if e, ok := err.(*ExitError); ok {
			if e.Err != nil {
				fmt.Fprintf(env.Stderr, "sitroom %s: %v\n", args[0], e.Err)
			}
			return e.Code
		}
		fmt.Fprintf(env.Stderr, "sitroom %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func usage(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "usage: sitroom COMMAND [flags]   (sitroom COMMAND -h for its flags)")
	fmt.Fprintln(w)
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
}

// splitSub separates "user add --x" into "add" and the rest.
func splitSub(args []string, valid ...string) (string, []string, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", nil, &ExitError{Code: 2, Err: fmt.Errorf("a subcommand is needed: %s", strings.Join(valid, ", "))}
	}
	for _, v := range valid {
		if args[0] == v {
			return v, args[1:], nil
		}
	}
	return "", nil, &ExitError{Code: 2, Err: fmt.Errorf("unknown subcommand %q (want %s)", args[0], strings.Join(valid, ", "))}
}
