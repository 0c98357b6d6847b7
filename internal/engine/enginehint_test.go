package engine

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// warningContainers is a container runtime whose engine warns about itself.
type warningContainers struct {
	fakeContainers
	warnings []string
}

var _ runtime.EngineWarner = (*warningContainers)(nil)

func (w *warningContainers) EngineWarnings(context.Context) ([]string, error) { return w.warnings, nil }

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A container that does not get ready says what its engine warns about
// itself (here: forwarding off, where published ports never answer), not
// only "starting".
func TestEngine_SlowContainerShowsEngineWarnings(t *testing.T) {
	const warning = "IPv4 forwarding is disabled. Networking will not work."
	h := newHarness(t)
	h.e.cfg.Containers = &warningContainers{warnings: []string{warning}}
	h.e.cfg.SlowReady = 50 * time.Millisecond
	c := h.container("web")
	c.Readiness = &model.Probe{Kind: model.ProbeTCP, Addr: closedAddr(t), Period: 10 * time.Millisecond, Timeout: time.Second}
	h.set(c)
	r := h.until("web", "the engine's warning in its reason", func(r api.Resource) bool {
		return strings.Contains(r.Reason, warning)
	})
	if r.State != api.StateStarting || !strings.Contains(r.Reason, "not ready after 50ms (") {
		t.Errorf("web: %s (%s), want starting, not ready after 50ms with the probe's error", r.State, r.Reason)
	}
}
