package daemon

import (
	"context"
	"sync"

	"github.com/loopdev/loop/api"
)

// hub numbers events across the daemon and fans them out. It keeps the
// last ringSize events so a client that reconnects with ?after=SEQ resumes
// without a gap; a subscriber that falls behind by more than its buffer is
// dropped (its channel closed) and must resume the same way.
type hub struct {
	mu    sync.Mutex
	seq   uint64
	ring  []api.Event // a circular buffer of at most ringSize: publishing costs O(1)
	first int         // index of the oldest event in ring once it is full
	subs  map[*sub]struct{}
}

type sub struct {
	ch      chan api.Event
	project string // "" = all
}

const (
	ringSize  = 4096
	subBuffer = 1024
)

func newHub() *hub { return &hub{subs: map[*sub]struct{}{}} }

// Publish assigns ev the next sequence number and delivers it.
func (h *hub) Publish(ev api.Event) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev.Seq = h.seq
	if len(h.ring) < ringSize {
		h.ring = append(h.ring, ev)
	} else {
		h.ring[h.first] = ev
		h.first = (h.first + 1) % ringSize
	}
	for s := range h.subs {
		if s.project != "" && s.project != ev.Project {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			close(s.ch)
			delete(h.subs, s)
		}
	}
	return ev.Seq
}

// Subscribe returns the events after seq `after` still in the ring, then
// every new one, until ctx ends. gap is true when events after `after` had
// already left the ring.
func (h *hub) Subscribe(ctx context.Context, project string, after uint64) (past []api.Event, ch <-chan api.Event, gap bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range h.ring {
		ev := h.ring[(h.first+i)%len(h.ring)]
		if ev.Seq > after && (project == "" || ev.Project == project) {
			past = append(past, ev)
		}
	}
	if len(h.ring) > 0 && after+1 < h.ring[h.first].Seq && after > 0 {
		gap = true
	}
	s := &sub{ch: make(chan api.Event, subBuffer), project: project}
	h.subs[s] = struct{}{}
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
	}()
	return past, s.ch, gap
}

// Seq is the last sequence number handed out.
func (h *hub) Seq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}
