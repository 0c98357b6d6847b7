package gateway

import "sync"

// States is a Readiness fed by its owner with Set. A target never set is
// ready: the gateway then finds out by dialing it.
type States struct {
	mu sync.Mutex
	m  map[string]*state
}

type state struct {
	st      Status
	changed chan struct{}
}

var _ Readiness = (*States)(nil)

// NewStates returns an empty set of readiness states.
func NewStates() *States { return &States{m: map[string]*state{}} }

func (s *States) get(target string) *state {
	st, ok := s.m[target]
	if !ok {
		st = &state{st: Status{Ready: true}, changed: make(chan struct{})}
		s.m[target] = st
	}
	return st
}

// Status implements Readiness.
func (s *States) Status(target string) (Status, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(target)
	return st.st, st.changed
}

// Set records target's status, waking those waiting on a change of its
// readiness.
func (s *States) Set(target string, status Status) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(target)
	was := st.st.Ready
	st.st = status
	if was == status.Ready {
		return
	}
	close(st.changed)
	st.changed = make(chan struct{})
}

// Forget drops every target for which keep returns false.
func (s *States) Forget(keep func(target string) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		if !keep(k) {
			close(st.changed)
			delete(s.m, k)
		}
	}
}
