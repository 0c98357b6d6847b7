// Package loopfile evaluates a Starlark Loopfile into a *model.Project.
//
// Evaluating a Loopfile only declares things: each builtin (service, task,
// http_probe, watch_settings, ...) validates its arguments and records what
// it declares in an evalState carried by the Starlark thread (thread-local,
// never a global). Nothing runs during evaluation except local(), and
// evaluation itself writes nothing: what a declaration needs made on disk (a
// database()'s password, start script and db.json) is made by the caller
// that starts the project (loopd, with package database), and the build
// context of a devcontainer()'s local Features is described in the model
// (model.GeneratedContext) for the runtime's build to assemble. When the
// top-level file and everything it load()ed have run, the plugins complete
// the collected resources (a container's image= is resolved against every
// image() declared), the project is checked as a whole (resource_deps
// exist, no cycles), the plugins resolve what refers to resources (a
// ship()'s, catalog()'s or route()'s resource must be declared), and the
// Project is returned.
//
// Builtins come from plugins (plugin.go), one per group: resources.go,
// probes.go, settings.go, files.go, containers.go with devcontainers.go,
// liveupdate.go and mounts.go, ship.go, catalog.go, secrets.go, databases.go,
// routes.go, compose.go, and kube.go with kube_resources.go (Kubernetes
// objects, rendered by package kube/manifest, grouped into one resource
// per workload by its complete step). A plugin declares each builtin
// once, with its parameters (name, default, doc), from which the call's
// arguments are bound and editors' docs (Builtins) are made; it keeps
// what it collects in its own state in the evalState (pluginState) and
// has optional complete and resolve steps, which Load runs in plugin
// order. Every
// resource, whichever builtin makes it (a compose() service too), is added
// by one function, declare, which normalizes it, places it at the call and
// rejects a name already taken. load()ed modules share the thread and its
// state, are cached per evaluation, and are frozen once loaded.
//
// Every file evaluation reads is recorded (Project.Files, or Error.Files when
// evaluation fails) so the daemon can watch them and re-evaluate on change.
// Errors are *Error values with a structured file:line:col and a hint.
//
// Evaluation is bounded in time (Options.MaxSteps, LocalTimeout) and in
// what it reads and writes (MaxFileSize, MaxLocalOutput, MaxOutput), and
// reads regular files only, so no Loopfile can block it on a pipe or a
// device. Memory and the wall clock of a whole evaluation are bounded by
// the caller: loopd evaluates in a child process (package sandbox), which
// stops an evaluation by cancelling its context with a *Stop cause.
package loopfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/output"
)

// Options for one evaluation.
type Options struct {
	Env          []string      // environment for env() and local() ("K=V"); os.Environ() style
	MaxSteps     uint64        // bound on Starlark execution steps (0 = default 10_000_000); a Loopfile that loops forever is an error, not a hang
	LocalTimeout time.Duration // bound on each local() command (0 = 60s)
	Stdout       io.Writer     // where print() and local() output goes (nil = discard); at most MaxOutput bytes per evaluation

	// OnFile, when set, is called with each file evaluation reads (or
	// tries to read) as it records it, on the evaluating goroutine: a
	// caller that outlives a crashed evaluation still knows what to watch.
	OnFile func(path string)

	// Check, when set, is called on the evaluating goroutine before every
	// Starlark step; a *Stop stops the evaluation there, and the error
	// says its Msg and Hint at the operation that ran last. Unlike a
	// cancelled context, which another goroutine turns into a stop some
	// time later, it takes effect at the very next step. It runs millions
	// of times: it must cost a few nanoseconds (package sandbox loads one
	// word).
	Check func() *Stop
}

// Defaults for zero Options fields.
const (
	DefaultMaxSteps     = 10_000_000
	DefaultLocalTimeout = 60 * time.Second
)

// MaxOutput bounds what one evaluation writes to Options.Stdout (print()
// and the echoed output of local()): past it the rest is dropped, and one
// line says so and names this limit.
const MaxOutput = 1 << 20

// Stop is a reason to stop an evaluation early. Given as the cause of the
// evaluation's context (context.WithCancelCause, context.WithTimeoutCause),
// the Loopfile error says Msg, with Hint, at the line that was running.
type Stop struct {
	Msg  string // "evaluation used 612 MiB of memory, over the limit of 512 MiB (LOOP_EVAL_MEMORY)"
	Hint string
}

func (s *Stop) Error() string { return s.Msg }

// WithCause makes e unwrap to cause and returns e. Package sandbox uses it
// to give an error that crossed a process boundary its cause back.
func (e *Error) WithCause(cause error) *Error {
	e.cause = cause
	return e
}

// fileOptions are the Starlark dialect of a Loopfile: top-level if/for and
// sets are allowed; while loops and recursion are not, so that evaluation
// stays bounded and predictable.
var fileOptions = &syntax.FileOptions{
	Set:             true,
	TopLevelControl: true,
}

// stateKey is the thread-local key of the *evalState.
const stateKey = "loopfile.state"

// evalState is everything one evaluation collects. It lives in the Starlark
// thread (thread.SetLocal) and is only touched by that thread.
type evalState struct {
	ctx     context.Context
	opts    Options
	project *model.Project
	files   []string // in the order they were read; deduplicated

	calls   map[string]map[syntax.Position]*syntax.CallExpr // per file, by '(' position
	modules map[string]*module                              // load() cache by absolute path
	loading []string                                        // load stack, for cycle detection

	plugins map[reflect.Type]any // each plugin's state, by type (pluginState)

	stepsExceeded bool
	stopped       *Stop // what Options.Check returned, if it stopped the evaluation
}

// module is one load()ed file: its frozen globals or its error.
type module struct {
	globals starlark.StringDict
	err     error
}

func stateOf(thread *starlark.Thread) *evalState {
	return thread.Local(stateKey).(*evalState)
}

// addFile records that evaluation read (or tried to read) path.
func (s *evalState) addFile(path string) {
	if !slices.Contains(s.files, path) {
		s.files = append(s.files, path)
		if s.opts.OnFile != nil {
			s.opts.OnFile(path)
		}
	}
}

// Load evaluates the Loopfile at path and returns the project it declares.
// On failure the error is an *Error whose Files lists every file evaluation
// read, so the caller can keep watching them.
func Load(ctx context.Context, path string, opts Options) (*model.Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("load: %v", err), cause: err}
	}
	if opts.MaxSteps == 0 {
		opts.MaxSteps = DefaultMaxSteps
	}
	if opts.LocalTimeout == 0 {
		opts.LocalTimeout = DefaultLocalTimeout
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	// local() copies stdout and stderr to this writer from two goroutines.
	opts.Stdout = output.NewLocked(&outputCap{w: opts.Stdout, left: MaxOutput})
	dir := filepath.Dir(abs)
	st := &evalState{
		ctx:  ctx,
		opts: opts,
		project: &model.Project{
			Name:     filepath.Base(dir),
			Dir:      dir,
			Loopfile: abs,
			Watch: model.WatchSettings{
				Debounce: model.DefaultDebounce,
				MaxWait:  model.DefaultMaxWait,
			},
		},
		modules: map[string]*module{},
		calls:   map[string]map[syntax.Position]*syntax.CallExpr{},
		plugins: map[reflect.Type]any{},
	}

	thread := &starlark.Thread{
		Name: "loopfile " + abs,
		Print: func(_ *starlark.Thread, msg string) {
			fmt.Fprintln(st.opts.Stdout, msg)
		},
		Load:       loadModule,
		OnMaxSteps: st.onMaxSteps,
	}
	thread.SetLocal(stateKey, st)
	if opts.Check != nil {
		thread.SetMaxExecutionSteps(1) // onMaxSteps at every step
	} else {
		thread.SetMaxExecutionSteps(opts.MaxSteps)
	}

	// Cancel evaluation when ctx ends; local() also watches ctx itself.
	stop := context.AfterFunc(ctx, func() { thread.Cancel(ctx.Err().Error()) })
	defer stop()

	st.addFile(abs)
	src, err := readSource(abs)
	if err != nil {
		return nil, st.fail(&Error{File: abs, Msg: readErrMsg(abs, err), Hint: readErrHint(err), cause: err})
	}
	if _, err := st.exec(thread, abs, src); err != nil {
		return nil, st.fail(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, st.fail(err)
	}
	for _, p := range plugins {
		if p.complete == nil {
			continue
		}
		if err := p.complete(st); err != nil {
			return nil, st.fail(err)
		}
	}
	if err := validate(st.project); err != nil {
		return nil, st.fail(err)
	}
	for _, p := range plugins {
		if p.resolve == nil {
			continue
		}
		if err := p.resolve(st); err != nil {
			return nil, st.fail(err)
		}
	}
	st.project.Files = st.files
	return st.project, nil
}

// onMaxSteps is the thread's OnMaxSteps: the step limit, and with
// Options.Check the check before every step. The interpreter calls it with
// the step counted but not started, and looks for a cancellation right
// after, before it moves the frame's position to the next instruction: a
// stop here is reported at the instruction that ran last.
func (s *evalState) onMaxSteps(thread *starlark.Thread) {
	if thread.Steps >= s.opts.MaxSteps {
		s.stepsExceeded = true
		thread.Cancel("step limit exceeded")
		return
	}
	if stop := s.opts.Check(); stop != nil {
		s.stopped = stop
		thread.Cancel(stop.Msg)
		return
	}
	thread.SetMaxExecutionSteps(thread.Steps + 1)
}

// exec runs and freezes one file (the Loopfile or a load()ed module)
// whose source the caller read.
func (s *evalState) exec(thread *starlark.Thread, path string, src []byte) (starlark.StringDict, error) {
	env := predeclared()
	f, prog, err := starlark.SourceProgramOptions(fileOptions, path, src, env.Has)
	if f != nil {
		s.indexCalls(path, f)
	}
	if err != nil {
		return nil, s.toError(err)
	}
	globals, err := prog.Init(thread, env)
	globals.Freeze()
	if err != nil {
		return nil, s.toError(err)
	}
	return globals, nil
}

// indexCalls remembers every call expression of file f by the position of
// its '(' (the position Starlark reports for a call), so that positions can
// point at the callee's name or at one argument instead.
func (s *evalState) indexCalls(path string, f *syntax.File) {
	m := map[syntax.Position]*syntax.CallExpr{}
	syntax.Walk(f, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.CallExpr); ok {
			m[key(c.Lparen)] = c
		}
		return true
	})
	s.calls[path] = m
}

// key strips a position down to what identifies it within one file.
func key(p syntax.Position) syntax.Position {
	return syntax.MakePosition(nil, p.Line, p.Col)
}

// call returns the call expression whose '(' is at p, or nil.
func (s *evalState) call(p syntax.Position) *syntax.CallExpr {
	return s.calls[p.Filename()][key(p)]
}

// argPos returns where argument arg of the call at p is: the keyword of a
// keyword argument, the start of the index-th positional argument
// (index >= 0), or else the start of the callee.
func (s *evalState) argPos(p syntax.Position, arg string, index int) syntax.Position {
	c := s.call(p)
	if c == nil {
		return p
	}
	start, _ := c.Fn.Span()
	if arg == "" {
		return start
	}
	i := 0
	for _, x := range c.Args {
		switch x := x.(type) {
		case *syntax.BinaryExpr:
			if id, ok := x.X.(*syntax.Ident); ok && x.Op == syntax.EQ && id.Name == arg && index < 0 {
				return id.NamePos
			}
			continue
		case *syntax.UnaryExpr:
			if x.Op == syntax.STAR || x.Op == syntax.STARSTAR {
				return start // *args or **kwargs: cannot tell
			}
		}
		if i == index {
			pos, _ := x.Span()
			return pos
		}
		i++
	}
	return start
}

// rel returns path for messages: relative to the project directory, with
// forward slashes as a Loopfile writes it on every OS, when it is inside
// it; else the absolute host path, native.
func (s *evalState) rel(path string) string {
	if r, err := filepath.Rel(s.project.Dir, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

// fail turns err into an *Error that carries the files read so far. When
// the evaluation was stopped by Options.Check or with a *Stop cause, the
// error says why.
func (s *evalState) fail(err error) *Error {
	e := s.toError(err)
	e.Files = slices.Clone(s.files)
	e.Secrets = slices.Clone(s.project.Secrets)
	stop := s.stopped
	if stop == nil && s.ctx.Err() != nil && !s.stepsExceeded {
		errors.As(context.Cause(s.ctx), &stop)
	}
	if stop != nil {
		e.Msg, e.Hint, e.cause = stop.Msg, stop.Hint, stop
	}
	return e
}

// callerPos is the position of the Starlark code that called the builtin
// now running.
// It points at the start of the callee's name.
func callerPos(thread *starlark.Thread) model.Position {
	return toPos(stateOf(thread).argPos(callSite(thread), "", -1))
}

// callSite is the position of the Loopfile's call to the builtin now
// running: the innermost frame outside builtins, so that what database()
// declares through container() is where database() was called.
func callSite(thread *starlark.Thread) syntax.Position {
	for i := 1; i < thread.CallStackDepth(); i++ {
		if p := thread.CallFrame(i).Pos; p.Filename() != "<builtin>" {
			return p
		}
	}
	return thread.CallFrame(1).Pos
}

func toPos(p syntax.Position) model.Position {
	return model.Position{File: p.Filename(), Line: int(p.Line), Col: int(p.Col)}
}
