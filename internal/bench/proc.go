package bench

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// userHZ is the unit of utime and stime in /proc/PID/stat. Linux fixes it
// at 100 for user space whatever the kernel's own tick rate.
const userHZ = 100

// CPUTime returns the user+system CPU time process pid has used so far.
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// fields are counted from after its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / userHZ, nil
}

// PeakRSS returns process pid's peak resident set size (VmHWM) in bytes.
func PeakRSS(pid int) (int64, error) {
	return statusField(pid, "VmHWM:")
}

// RSS returns process pid's current resident set size (VmRSS) in bytes.
func RSS(pid int) (int64, error) {
	return statusField(pid, "VmRSS:")
}

func statusField(pid int, name string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, name); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, err := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// SelfCPUTime returns the CPU time (user+system) this process has used: the
// load generator's own cost, reported beside the server's because both
// share the machine.
func SelfCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// WaitQuiet waits (up to limit) until process pid has used less than a
// tenth of a core over a quarter of a second: the work a previous step
// started (e.g. the engine's bookkeeping after a send) is done, so the next
// measurement measures only itself. It reports whether the process went
// quiet.
func WaitQuiet(pid int, limit time.Duration) bool {
	const window = 250 * time.Millisecond
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c0, err := CPUTime(pid)
		if err != nil {
			return false
		}
		time.Sleep(window)
		c1, err := CPUTime(pid)
		if err != nil {
			return false
		}
		if c1-c0 < window/10 {
			return true
		}
	}
	return false
}
