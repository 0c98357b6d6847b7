package docker

// A build that is no longer wanted (its start was cancelled: loop down,
// disable, a newer change) is stopped without abandoning its request.
// The classic builder carries on for a while after its client goes away
// (to the end of the step, writing to nobody), and the container of the
// step it was in — the last step's carries the project label — is left
// for a moment after the client returned: `loop down` would answer
// before the project's objects are gone. So the request is kept to its
// end, and the build is made to fail instead: the container of each step,
// the one in progress and any later one, is removed; the step fails, the
// builder removes the rest (ForceRemove) and ends its response.

import (
	"context"
	"log/slog"
	"regexp"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
)

// runningIn is the classic builder's line naming a step's container.
var runningIn = regexp.MustCompile(`Running in ([0-9a-f]{12,64})\b`)

// buildStop stops one build once its context ends.
type buildStop struct {
	cli *client.Client
	log *slog.Logger

	mu      sync.Mutex
	step    string // container of the latest step, "" before the first
	stopped bool   // the context ended: every step's container is removed
}

// watch stops the build when ctx ends; call the returned func once the
// build's response has ended.
func (s *buildStop) watch(ctx context.Context) (done func()) {
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		select {
		case <-ctx.Done():
			s.mu.Lock()
			s.stopped = true
			id := s.step
			s.mu.Unlock()
			s.remove(id)
		case <-quit:
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// line sees one message of the build's output.
func (s *buildStop) line(text string) {
	m := runningIn.FindStringSubmatch(text)
	if m == nil {
		return
	}
	s.mu.Lock()
	s.step = m[1]
	stopped := s.stopped
	s.mu.Unlock()
	if stopped {
		s.remove(m[1])
	}
}

func (s *buildStop) remove(id string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), mutationTimeout)
	defer cancel()
	if err := s.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil && !client.IsErrNotFound(err) {
		s.log.Debug("stop a build: remove its step container", "container", id, "err", err)
	}
}
