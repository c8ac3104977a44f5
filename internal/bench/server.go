package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ServerOptions say how to start a server process.
type ServerOptions struct {
	Exe     string   // the sitroom binary (default: this executable)
	Command []string // subcommand and its own arguments (default: serve)
	DB      string   // --db
	Addr    string   // --addr (default: a free loopback port)
	Env     []string // extra environment, e.g. SITROOM_TEST_MODE=1
	Args    []string // extra flags, e.g. --test-clock 2026-01-15T09:00:00Z
	LogPath string   // the server's stdout and stderr (default: a temp file)
}

// Server is a running server process.
type Server struct {
	URL     string
	Addr    string
	PID     int
	LogPath string

	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// FreeAddr returns a loopback address with a port nobody listens on now.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// StartServer starts the process and returns once /readyz answers 200.
// The environment is this process's without its SITROOM_* variables (the
// server is configured by o alone), plus o.Env.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		o.Exe = exe
	}
	if len(o.Command) == 0 {
		o.Command = []string{"serve"}
	}
	if o.Addr == "" {
		a, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		o.Addr = a
	}
	if o.LogPath == "" {
		f, err := os.CreateTemp("", "sitroom-bench-server-*.log")
		if err != nil {
			return nil, err
		}
		o.LogPath = f.Name()
		f.Close()
	}
	logf, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, o.Command...), "--db", o.DB, "--addr", o.Addr)
	args = append(args, o.Args...)
	cmd := exec.Command(o.Exe, args...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "SITROOM_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, o.Env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", o.Exe, err)
	}
	s := &Server{URL: "http://" + o.Addr, Addr: o.Addr, PID: cmd.Process.Pid, LogPath: o.LogPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		logf.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Kill()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/readyz", nil)
		if res, err := c.Do(req); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("the server exited before it was ready (%v); its log:\n%s", s.err, s.LogTail(40))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server was not ready after %s; its log:\n%s", limit, s.LogTail(40))
		}
	}
}

// Done is closed when the process has exited.
func (s *Server) Done() <-chan struct{} { return s.done }

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Server) Kill() {
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.done
}

// Stop asks the server to shut down (SIGTERM) and waits up to limit, then
// kills it. It returns the exit error of a server that did not stop cleanly.
func (s *Server) Stop(limit time.Duration) error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.err
	case <-time.After(limit):
		s.Kill()
		return errors.New("the server did not stop within " + limit.String() + "; killed")
	}
}

// HeapProfile asks a server started as `bench server --cpuprofile FILE`
// to write a heap profile (FILE.heap.N) now.
func (s *Server) HeapProfile() {
	_ = s.cmd.Process.Signal(syscall.SIGUSR1)
}

// Log returns everything the server has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// LogTail returns the last n lines of the log.
func (s *Server) LogTail(n int) string {
	ls := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// WaitLog waits until the log contains substr.
func (s *Server) WaitLog(ctx context.Context, substr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for !strings.Contains(s.Log(), substr) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not log %q within %s", substr, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
