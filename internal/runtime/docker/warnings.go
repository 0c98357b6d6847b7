package docker

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// warningsTTL is how long the engine's own warnings are reused: they
// change when someone reconfigures the host, not between two probes.
const warningsTTL = 30 * time.Second

// engineWarnings caches the engine's `info` Warnings.
type engineWarnings struct {
	mu   sync.Mutex
	at   time.Time
	list []string
}

// EngineWarnings returns what the Docker engine warns about itself (the
// Engine API's info Warnings), at most warningsTTL old.
func (r *Runtime) EngineWarnings(ctx context.Context) ([]string, error) {
	r.warnings.mu.Lock()
	defer r.warnings.mu.Unlock()
	if !r.warnings.at.IsZero() && time.Since(r.warnings.at) < warningsTTL {
		return r.warnings.list, nil
	}
	cli, err := r.client(ctx)
	if err != nil {
		return nil, err
	}
	info, err := cli.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("ask the Docker engine at %s for its info: %w", r.host, err)
	}
	r.warnings.at, r.warnings.list = time.Now(), info.Warnings
	return info.Warnings, nil
}
