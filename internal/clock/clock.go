// Package clock is the only source of "now" in sitroom. Everything that reads
// time takes a Clock, so tests and the test-mode server can move time.
//
// Times returned are UTC and truncated to microseconds: PostgreSQL keeps
// microseconds, so a time that round-trips through either store compares equal.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and lets waiters learn when it jumps.
type Clock interface {
	Now() time.Time
	// Changed returns a channel closed the next time the clock is moved by
	// hand (fake clocks only; the real clock's channel never closes). Loops
	// that sleep until a due time select on it so a test that advances time
	// wakes them at once.
	Changed() <-chan struct{}
}

// Norm makes t UTC with microsecond precision, the form every store keeps.
func Norm(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Real is the wall clock.
type Real struct{}

var never = make(chan struct{})

func (Real) Now() time.Time           { return Norm(time.Now()) }
func (Real) Changed() <-chan struct{} { return never }

// Fake is a clock that moves only when told; it also ticks with real time
// between moves when Running is set, so a test-mode server still feels alive.
type Fake struct {
	mu      sync.Mutex
	base    time.Time // fake time at the moment of the last change
	setAt   time.Time // real time of the last change
	running bool
	changed chan struct{}
}

// NewFake returns a fake clock at t. If running, it advances with real time
// from t on; otherwise it stands still until Set or Advance.
func NewFake(t time.Time, running bool) *Fake {
	return &Fake{base: Norm(t), setAt: time.Now(), running: running, changed: make(chan struct{})}
}

func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		return Norm(f.base.Add(time.Since(f.setAt)))
	}
	return f.base
}

func (f *Fake) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// Set moves the clock to t (forwards or backwards).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	f.base, f.setAt = Norm(t), time.Now()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// Advance moves the clock forward by d.
func (f *Fake) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }
