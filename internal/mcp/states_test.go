package mcpserver

import (
	"testing"

	"github.com/loopdev/loop/api"
)

func TestCountStates(t *testing.T) {
	rs := []api.Resource{{State: api.StateReady}, {State: api.StateUnresponsive}, {State: api.StateReady}, {State: api.StateCrashed}}
	if got, want := countStates(rs), "4 resource(s): 2 ready, 1 unresponsive, 1 crashed"; got != want {
		t.Errorf("countStates = %q, want %q", got, want)
	}
}
