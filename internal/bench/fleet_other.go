//go:build !linux

package bench

import "sync"

// Fleet reads many streams, here with a goroutine each (the epoll fleet is
// Linux's; see fleet_linux.go).
type Fleet struct {
	on      func(stream int, ev Event)
	mu      sync.Mutex
	streams []*Stream
	wg      sync.WaitGroup
}

// NewFleet returns a fleet calling on for every event.
func NewFleet(workers int, on func(stream int, ev Event)) (*Fleet, error) {
	return &Fleet{on: on}, nil
}

// Add reads stream s as stream idx.
func (f *Fleet) Add(idx int, s *Stream) error {
	f.mu.Lock()
	f.streams = append(f.streams, s)
	f.mu.Unlock()
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			ev, err := s.Next()
			if err != nil {
				return
			}
			f.on(idx, ev)
		}
	}()
	return nil
}

// Close closes every stream.
func (f *Fleet) Close() {
	f.mu.Lock()
	for _, s := range f.streams {
		s.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
