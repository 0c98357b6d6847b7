package daemon

// A project's evaluation: its Loopfile evaluated in the sandbox, its
// output kept (redacted) for the project log, its databases prepared, and
// a failed evaluation turned into the API's error.

import (
	"bytes"
	"context"
	"errors"
	"sync"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/database"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/sandbox"
)

func (p *project) evaluate(ctx context.Context) (*model.Project, error) {
	p.mu.Lock()
	env := p.env
	p.mu.Unlock()
	// The evaluation runs in a child process with memory and time limits:
	// no Loopfile can take loopd (and every other project) down with it.
	// Its print() and local() output (capped by loopfile.MaxOutput) is held
	// until it ends: the secrets it declared are resolved first, so the
	// output reaches the project's log ("loop" stream of resource "")
	// redacted, from the first evaluation on.
	out := &evalOutput{}
	m, err := p.evals.Load(ctx, p.loopfile, loopfile.Options{Env: env, Stdout: out}, sandbox.Limits{})
	if b := out.bytes(); len(b) > 0 {
		declared := []*model.Secret(nil)
		var lerr *loopfile.Error
		switch {
		case m != nil:
			declared = m.Secrets
		case errors.As(err, &lerr):
			declared = lerr.Secrets
		}
		for _, s := range declared {
			// A secret that cannot be resolved is reported when a resource
			// needs it; its value cannot be in the output either.
			p.resolver.Resolve(ctx, *s)
		}
		w := p.logs.Writer("", "loop")
		w.Write(b)
		if f, ok := w.(interface{ Flush() error }); ok {
			f.Flush()
		}
	}
	if err != nil {
		return nil, err
	}
	if err := p.configure(m); err != nil {
		return nil, err
	}
	if err := p.prepare(m); err != nil {
		return nil, err
	}
	return m, nil
}

// prepare completes an evaluated model with what evaluation must not do
// itself (it is pure, and runs in a sandbox that writes nothing): the
// databases' passwords, start scripts and db.json under the project's
// state directory, and their dependants' environment. It runs here, in
// loopd and before the engine sees the model, so before any database's
// command runs, and on every evaluation, so a reload compares complete
// resources. A database that cannot be prepared (its engine is not
// installed) fails like an evaluation, at its database() call.
func (p *project) prepare(m *model.Project) error {
	err := database.Prepare(m, p.stateDir)
	var derr *database.Error
	if errors.As(err, &derr) {
		return &loopfile.Error{File: derr.Pos.File, Line: derr.Pos.Line, Col: derr.Pos.Col,
			Msg: derr.Msg, Hint: derr.Hint, Files: m.Files, Secrets: m.Secrets}
	}
	if err != nil {
		return &loopfile.Error{File: p.loopfile, Msg: err.Error(), Files: m.Files, Secrets: m.Secrets}
	}
	return nil
}

// evalOutput holds an evaluation's output until it ends.
type evalOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *evalOutput) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(b)
}

func (o *evalOutput) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
}

// loopfileError turns an evaluation error into its wire form.
func loopfileError(err error) *api.Error {
	var lerr *loopfile.Error
	if errors.As(err, &lerr) {
		return &api.Error{File: lerr.File, Line: lerr.Line, Col: lerr.Col, Message: lerr.Msg, Hint: lerr.Hint}
	}
	return &api.Error{Message: err.Error()}
}
