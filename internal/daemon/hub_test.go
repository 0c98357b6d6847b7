package daemon

import (
	"context"
	"testing"

	"github.com/loopdev/loop/api"
)

// TestHub_RingWraps: once the ring is full, the oldest events leave it in
// order, a resume after them reports the gap, and one inside it gets the
// rest in order.
func TestHub_RingWraps(t *testing.T) {
	h := newHub()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const extra = 10
	for range ringSize + extra {
		h.Publish(api.Event{Project: "p"})
	}
	past, _, gap := h.Subscribe(ctx, "", 0)
	if len(past) != ringSize || past[0].Seq != extra+1 || past[len(past)-1].Seq != ringSize+extra || gap {
		t.Fatalf("after 0: got %d events, seq %d..%d, gap %v; want %d, %d..%d, no gap",
			len(past), past[0].Seq, past[len(past)-1].Seq, gap, ringSize, extra+1, ringSize+extra)
	}
	for i := 1; i < len(past); i++ {
		if past[i].Seq != past[i-1].Seq+1 {
			t.Fatalf("event %d has seq %d after %d: want them in order", i, past[i].Seq, past[i-1].Seq)
		}
	}
	if _, _, gap := h.Subscribe(ctx, "", extra-1); !gap {
		t.Errorf("after %d (left the ring): want a gap", extra-1)
	}
	past, _, gap = h.Subscribe(ctx, "", ringSize+5)
	if len(past) != extra-5 || past[0].Seq != ringSize+6 || gap {
		t.Errorf("after %d: got %d events from %d (gap %v), want %d from %d", ringSize+5, len(past), past[0].Seq, gap, extra-5, ringSize+6)
	}
}
