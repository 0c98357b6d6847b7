package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/isolate"
	"github.com/loopdev/loop/internal/logs"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/sandbox"
	"github.com/loopdev/loop/internal/secret"
	"github.com/loopdev/loop/internal/watch"
)

// project is one running Loopfile: its engine, its watcher and the
// goroutine that turns change batches into reloads and engine inputs.
type project struct {
	name     string
	loopfile string
	stateDir string // this project's state under LOOP_HOME
	log      *slog.Logger
	logs     *logs.Store
	redactor *secret.Redactor // values of the project's resolved secrets
	publish  func(api.Event) uint64
	resolver *secret.Resolver
	evals    *sandbox.Pool // nil: each evaluation starts its evaluator
	engine   *engine.Engine
	cancel   context.CancelFunc
	done     chan struct{} // closed when every goroutine of the project has returned

	flushReq chan chan struct{} // wait-until-settled asks for pending changes first
	watch    atomic.Pointer[api.WatchStatus]

	mu       sync.Mutex // guards env, cur and problems
	env      []string
	cur      *model.Project // last good configuration
	problems []api.Problem  // panics contained in the project's goroutines
	// watched: files evaluation read, also when it failed (loop-owned by run)
	watched []string
}

type projectConfig struct {
	name        string
	loopfile    string
	env         []string
	logDir      string
	secretsDir  string // file secrets, removed when the project stops
	runtime     runtime.Runtime
	containers  runtime.Runtime
	kube        runtime.Runtime
	home        string
	publish     func(api.Event) uint64
	logger      *slog.Logger
	evals       *sandbox.Pool
	only        api.Selector       // `loop up NAME... -l LABEL...`; empty: every resource
	traceExport engine.TraceExport // where its resources export traces
	tracer      oteltrace.Tracer   // records loopd's own work on its resources
}

// startProject evaluates the Loopfile and, if it is good, starts the
// project's goroutines. A bad Loopfile on first start is returned as is.
// ctx bounds the first evaluation only (a `loop down` meanwhile cancels
// it); the project runs until stop.
func startProject(ctx context.Context, cfg projectConfig) (*project, error) {
	p := &project{
		name: cfg.name, loopfile: cfg.loopfile, env: cfg.env, stateDir: filepath.Dir(cfg.logDir),
		log:      cfg.logger.With("project", cfg.name),
		evals:    cfg.evals,
		done:     make(chan struct{}),
		flushReq: make(chan chan struct{}),
	}
	store, err := logs.Open(cfg.logDir, 0)
	if err != nil {
		return nil, fmt.Errorf("open logs of %s: %w", cfg.name, err)
	}
	p.logs = store
	// Secret values are redacted from the log store (output, loop's own
	// lines), from snapshots (snapshot) and from published events.
	p.redactor = &secret.Redactor{}
	store.SetRedactor(p.redactor)
	resolver := secret.NewResolver(func() []string {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.env
	}, p.redactor)
	p.resolver = resolver
	publish := func(ev api.Event) uint64 { return cfg.publish(secret.RedactJSON(p.redactor, ev)) }
	p.publish = publish
	m, err := p.evaluate(ctx)
	if err != nil {
		store.Close()
		return nil, err
	}
	only, err := selection(m, cfg.name, cfg.only)
	if err != nil {
		store.Close()
		return nil, err // nothing started
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.engine = engine.New(engine.Config{
		Project: cfg.name, Runtime: cfg.runtime, Containers: cfg.containers, Kube: cfg.kube, Home: cfg.home,
		Logs: store, Publish: publish, BaseEnv: cfg.env, Logger: cfg.logger, Secrets: resolver,
		SecretsDir: cfg.secretsDir, TraceExport: cfg.traceExport, Tracer: cfg.tracer,
	})
	p.accept(m)
	p.watched = m.Files
	p.cancel = cancel
	engineDone := make(chan struct{})
	go func() {
		defer close(engineDone)
		p.engine.Run(ctx)
	}()
	if err := p.engine.Up(ctx, m, only); err != nil {
		cancel()
		<-engineDone
		store.Close()
		return nil, err
	}
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		p.watchLogHealth(ctx, cfg.publish)
	}()
	go func() {
		defer close(p.done)
		func() {
			defer isolate.Recover("the watcher loop", p.panicked)
			p.run(ctx)
		}()
		<-engineDone
		<-healthDone
		if err := store.Close(); err != nil {
			p.log.Error("logs", "err", err)
		}
	}()
	return p, nil
}

// watchLogHealth reports changes of the log files' health (a full disk,
// and writing that resumes by itself) in loopd.log and as a project event,
// so `loop status --watch` and the portal show them as they happen.
func (p *project) watchLogHealth(ctx context.Context, publish func(api.Event) uint64) {
	last := logs.Health{}
	for {
		changed := p.logs.Changed()
		h := p.logs.Health()
		if h.Err != last.Err || h.Dropped != last.Dropped {
			if h.OK() {
				p.log.Info("logs", "health", h.String())
			} else {
				p.log.Warn("logs", "health", h.String())
			}
			publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: p.name, Message: "logs: " + h.String()})
		}
		last = h
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// run watches the project's files until ctx ends, restarting the watcher
// whenever the set of watched paths changes.
func (p *project) run(ctx context.Context) {
	for ctx.Err() == nil {
		p.mu.Lock()
		cur := p.cur
		p.mu.Unlock()
		opts := p.watchOptions(cur)
		w, err := watch.New(opts)
		if err != nil {
			p.reportWatchError(ctx, err)
			<-ctx.Done()
			return
		}
		wctx, wcancel := context.WithCancel(ctx)
		werr := make(chan error, 1)
		wdone := make(chan struct{})
		began := time.Now()
		p.watch.Store(&api.WatchStatus{})
		go func() {
			defer close(wdone)
			var err error
			if pn := isolate.Call("the watcher", func() { err = w.Run(wctx) }); pn != nil {
				p.log.Error("watcher panicked", "panic", pn.Value, "stack", string(pn.Stack))
				err = pn
			}
			werr <- err
		}()
		go func() {
			select {
			case <-w.Ready():
				p.watch.Store(&api.WatchStatus{Ready: true, Backend: w.Backend(), Watches: w.WatchCount(), ReadyAfter: time.Since(began)})
			case <-wctx.Done():
			}
		}()
		restart := p.consume(wctx, w, werr, opts.Paths)
		wcancel()
		<-wdone // consume may have taken the watcher's error already
		if !restart {
			return
		}
	}
}

func (p *project) reportWatchError(ctx context.Context, err error) {
	p.watch.Store(&api.WatchStatus{Error: err.Error()})
	p.log.Error("watch", "err", err)
	p.engine.SetLoopfileError(ctx, &api.Error{File: p.loopfile, Message: "watch: " + err.Error()})
}

// consume handles batches until the watched paths must change (true) or
// ctx ends (false).
func (p *project) consume(ctx context.Context, w *watch.Watcher, werr <-chan error, paths []string) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case err := <-werr:
			if err != nil && ctx.Err() == nil {
				p.reportWatchError(ctx, err)
				<-ctx.Done()
			}
			return false
		case b := <-w.Batches():
			if p.handle(ctx, b) && !slices.Equal(p.watchOptions(p.current()).Paths, paths) {
				return true
			}
		case done := <-p.flushReq:
			restart := false
			if b, ok, err := w.Flush(ctx); err != nil {
				p.log.Warn("flush", "err", err)
			} else if ok {
				restart = p.handle(ctx, b) && !slices.Equal(p.watchOptions(p.current()).Paths, paths)
			}
			close(done)
			if restart {
				return true
			}
		}
	}
}

// panicked reports a panic contained in one of the project's goroutines
// as the project's problem: loopd and every other project run on.
func (p *project) panicked(pn *isolate.Panic) {
	p.log.Error("panic contained", "in", pn.What, "panic", pn.Value, "stack", string(pn.Stack))
	p.mu.Lock()
	p.problems = append(p.problems, api.Problem{Component: "internal", Since: time.Now(),
		Message: pn.Error() + "; the project may be inconsistent: `loop down` and `loop up` start it clean"})
	p.mu.Unlock()
	if p.publish != nil {
		p.publish(api.Event{Time: time.Now(), Kind: api.EventProject, Project: p.name, Message: pn.Error()})
	}
}

// snapshot is the engine's snapshot plus the watcher's status.
func (p *project) snapshot() *api.Project { return p.snapshotOf(false) }

// snapshotOf is snapshot, without the resources when brief.
func (p *project) snapshotOf(brief bool) *api.Project {
	es := p.engine.Snapshot()
	if brief {
		header := *es
		header.Resources = []api.Resource{}
		es = &header
	}
	snap := *secret.RedactJSON(p.redactor, es)
	if ws := p.watch.Load(); ws != nil {
		v := *ws
		snap.Watch = &v
	}
	snap.Problems = slices.Clip(snap.Problems) // the engine's snapshot is shared: append copies
	p.mu.Lock()
	snap.Problems = append(snap.Problems, p.problems...)
	snap.PolicyExceptions = exceptions("", p.cur)
	p.mu.Unlock()
	if h := p.logs.Health(); !h.OK() {
		snap.Problems = append(snap.Problems, api.Problem{Component: "logs", Message: h.String(), Since: h.Since})
	}
	return &snap
}

func (p *project) current() *model.Project {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur
}

// handle applies one batch; it reports whether the Loopfile was reloaded.
func (p *project) handle(ctx context.Context, b watch.Batch) (reloaded bool) {
	paths := make([]string, 0, len(b.Changes))
	config := false
	for _, c := range b.Changes {
		paths = append(paths, c.Path)
		if slices.Contains(p.watched, c.Path) {
			config = true
		}
	}
	if config {
		p.reload(ctx)
		reloaded = true
	}
	p.engine.ChangedAt(ctx, paths, b.Start)
	return reloaded
}

// reload re-evaluates the Loopfile; a failure keeps the last good
// configuration running and is reported with its location.
func (p *project) reload(ctx context.Context) {
	m, err := p.evaluate(ctx)
	if err != nil {
		le := loopfileError(err)
		var lerr *loopfile.Error
		if errors.As(err, &lerr) {
			p.watched = union(p.watched, lerr.Files)
		}
		p.log.Info("loopfile error", "err", err)
		p.engine.SetLoopfileError(ctx, le)
		return
	}
	p.accept(m)
	p.watched = m.Files
	p.engine.SetProject(ctx, m)
}

// update applies a new `loop up` to a running project: a fresh
// environment and resource selection, and a reload. A selection that
// names what the project lacks leaves the selection as it was.
func (p *project) update(ctx context.Context, env []string, sel api.Selector) error {
	p.mu.Lock()
	p.env = env
	p.mu.Unlock()
	m, err := p.evaluate(ctx)
	if err != nil {
		// The environment is taken (it is what the user asked for); the
		// error shows at once and the last good configuration runs on.
		p.engine.SetLoopfileError(ctx, loopfileError(err))
		return err
	}
	p.accept(m)
	only, err := selection(m, p.name, sel)
	if err != nil {
		if serr := p.engine.SetProject(ctx, m); serr != nil {
			return serr
		}
		return err
	}
	return p.engine.Up(ctx, m, only)
}

// flush hands the engine every change made before the call.
func (p *project) flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case p.flushReq <- done:
	case <-ctx.Done():
		return ctx.Err()
	case <-p.done:
		return engine.ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop stops every service of the project and waits for them.
func (p *project) stop() {
	p.cancel()
	<-p.done
}

func (p *project) watchOptions(m *model.Project) watch.Options {
	set := map[string]bool{}
	for _, f := range p.watched {
		set[f] = true
	}
	for _, r := range m.Resources {
		for _, d := range r.Deps {
			set[d] = true
		}
	}
	paths := make([]string, 0, len(set))
	for f := range set {
		paths = append(paths, f)
	}
	slices.Sort(paths)
	// Drop paths inside another watched directory.
	kept := paths[:0]
	for _, f := range paths {
		if len(kept) > 0 && strings.HasPrefix(f, kept[len(kept)-1]+string(filepath.Separator)) {
			continue
		}
		kept = append(kept, f)
	}
	matchers := make([]*watch.Matcher, len(m.Resources))
	for i, r := range m.Resources {
		matchers[i] = watch.NewMatcher(m.Dir, r.Ignore)
	}
	config := append([]string(nil), p.watched...)
	interest := func(path string, isDir bool) bool {
		for _, f := range config {
			if f == path || (isDir && strings.HasPrefix(f, path+string(filepath.Separator))) {
				return true
			}
		}
		for i, r := range m.Resources {
			for _, d := range r.Deps {
				if path == d || strings.HasPrefix(path, d+string(filepath.Separator)) {
					if !matchers[i].Match(path, isDir) {
						return true
					}
				} else if isDir && strings.HasPrefix(d, path+string(filepath.Separator)) {
					return true
				}
			}
		}
		return false
	}
	return watch.Options{
		Root: m.Dir, Paths: kept, Ignore: m.Watch.Ignore, Interest: interest,
		Debounce: m.Watch.Debounce, MaxWait: m.Watch.MaxWait, Logger: p.log,
	}
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// environ is the environment of the project's latest `loop up`.
func (p *project) environ() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.env
}
