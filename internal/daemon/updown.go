package daemon

// Bringing projects up and down: one project per Loopfile however many
// ups race, a down that cancels a first evaluation in flight, an up that
// waits for a down of the same name, and the sweep that leaves nothing of a
// project behind in the container engine.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/runtime"
)

// sweeper is a runtime that removes everything it holds for a project:
// a container runtime its containers, then the network; the Kubernetes
// runtime the objects it applied.
type sweeper interface {
	Sweep(ctx context.Context, project string) error
}

// sweep removes whatever a stopped project still has in its container
// runtime and its cluster: its engine has stopped every service, but a
// start cut short, a container killed behind loop's back or one a killed
// loopd left may remain, and networks are scarce (the engine's address
// pools hold about 30). What cannot be removed is logged and returned.
func (d *Daemon) sweep(project string) error {
	var errs []error
	for _, rt := range []runtime.Runtime{d.containers, d.kube} {
		sw, ok := rt.(sweeper)
		if !ok {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), sweepTimeout)
		err := sw.Sweep(ctx, project)
		cancel()
		if err != nil {
			d.Logger.Warn("left behind", "project", project, "err", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// starting is a project whose first `loop up` is evaluating and starting
// it. Its name is reserved; a second `up` of the same Loopfile waits for
// it, and a `down` meanwhile cancels it (the starter stops what it
// started), so no race between up and down leaves a project running
// that the daemon does not know of.
type starting struct {
	loopfile string
	down     bool               // a `loop down` came while it was starting
	cancel   context.CancelFunc // cancels its first evaluation
	done     chan struct{}      // closed once it is registered or abandoned
	swept    error              // abandoned: what its sweep could not remove
}

// nameFor picks a unique project name: the directory's base name, with a
// suffix when another directory already uses it. d.mu held.
func (d *Daemon) nameFor(loopfile string) string {
	base := filepath.Base(filepath.Dir(loopfile))
	name := base
	for i := 2; ; i++ {
		p, up := d.projects[name]
		s, pending := d.starting[name]
		if (!up || p.loopfile == loopfile) && (!pending || s.loopfile == loopfile) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// up starts a project or updates a running one.
func (d *Daemon) up(ctx context.Context, req api.UpRequest) (*project, error) {
	if !filepath.IsAbs(req.Loopfile) {
		return nil, fmt.Errorf("loopfile path %q is not absolute", req.Loopfile)
	}
	var name string
	for {
		d.mu.Lock()
		if d.closing {
			d.mu.Unlock()
			return nil, errors.New("loopd is shutting down")
		}
		var p *project
		for _, q := range d.projects {
			if q.loopfile == req.Loopfile {
				p = q
			}
		}
		if p != nil {
			d.mu.Unlock()
			return p, p.update(ctx, req.Env, api.Selector{Resources: req.Resources, Labels: req.Labels})
		}
		// Wait for a start of the same Loopfile (then update it), or for a
		// `loop down` of the same name in flight: a new project must not
		// start while the old one's sweep may remove what it creates.
		var wait chan struct{}
		for _, s := range d.starting {
			if s.loopfile == req.Loopfile {
				wait = s.done
			}
		}
		name = d.nameFor(req.Loopfile)
		if wait == nil {
			wait = d.downs[name]
		}
		if wait == nil {
			break // d.mu held
		}
		d.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	// The first evaluation ends with the request, a `loop down` of the
	// project or loopd's shutdown, whichever comes first.
	evalCtx, cancelEval := context.WithCancel(ctx)
	defer cancelEval()
	st := &starting{loopfile: req.Loopfile, cancel: cancelEval, done: make(chan struct{})}
	d.starting[name] = st
	d.mu.Unlock()

	p, err := startProject(evalCtx, projectConfig{
		name: name, loopfile: req.Loopfile, env: req.Env,
		logDir:     logDir(d.Home, req.Loopfile),
		secretsDir: filepath.Join(d.secrets, projectKey(req.Loopfile)),
		runtime:    d.runtime, containers: d.containers, kube: d.kube, home: d.Home, publish: d.hub.Publish, logger: d.Logger,
		evals: d.evals, only: api.Selector{Resources: req.Resources, Labels: req.Labels},
		traceExport: d.traceExport, tracer: d.tracer,
	})
	d.mu.Lock()
	delete(d.starting, name)
	cancelled, closing := st.down, d.closing
	if err == nil && !cancelled && !closing {
		d.projects[name] = p
	}
	d.mu.Unlock()
	if err != nil {
		close(st.done)
		if cancelled {
			return nil, errDownWhileStarting
		}
		return nil, err
	}
	if cancelled || closing {
		p.stop()
		st.swept = d.sweep(name) // before done: the down waiting reports it
		close(st.done)
		if closing {
			return nil, errors.New("loopd is shutting down")
		}
		return nil, errDownWhileStarting
	}
	close(st.done)
	d.hub.Publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: name, Message: "project up"})
	return p, nil
}

// down stops a project's services, removes what they left in the
// container engine and forgets the project; found is false when it was
// not up. err says what could not be removed. A project still starting
// is cancelled: its starter stops and sweeps it, and down waits for that.
func (d *Daemon) down(name string) (found bool, err error) {
	d.mu.Lock()
	p, ok := d.projects[name]
	delete(d.projects, name)
	st, starting := d.starting[name]
	if starting {
		st.down = true
		st.cancel()
	}
	done := make(chan struct{})
	if ok {
		d.downs[name] = done
	}
	d.mu.Unlock()
	if starting {
		<-st.done
		return true, st.swept
	}
	if !ok {
		return false, nil
	}
	defer func() {
		d.mu.Lock()
		delete(d.downs, name)
		d.mu.Unlock()
		close(done)
	}()
	p.stop()
	err = d.sweep(name)
	d.hub.Publish(api.Event{Time: time.Now(), Kind: api.EventRemoved, Project: name, Message: "project down"})
	return true, err
}
