package lsp

// Evaluation diagnostics: a Loopfile is evaluated after each edit
// (debounced) and on save, and its *loopfile.Error becomes one diagnostic
// at its file:line:col, spanning the token there. A newer edit cancels the
// evaluation in progress (killing its evaluator); only the latest one
// publishes. Evaluation runs in a child process (package sandbox) with
// memory and time limits, so a bomb typed in the editor is a diagnostic,
// not the end of `loop lsp`. Its print() and local() output is dropped:
// an editor has no place for it, and it shows in `loop logs` once loopd
// evaluates the saved file.

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/sandbox"
)

// evalTimeout bounds one evaluation (local() commands included): past it
// the diagnostic names the line that was running.
const evalTimeout = 30 * time.Second

// evalJob is the pending or running evaluation of one document.
type evalJob struct {
	timer  *time.Timer
	cancel context.CancelFunc
}

func (j *evalJob) stop() {
	if j.timer != nil {
		j.timer.Stop()
	}
	j.cancel()
}

func evalLayer(uri string) string { return "eval " + uri }

// scheduleEval evaluates d after delay, replacing whatever evaluation of
// the same document was pending or running. fromDisk evaluates the saved
// file instead of the editor's text.
func (s *Server) scheduleEval(d document, fromDisk bool, delay time.Duration) {
	if d.path == "" {
		return // not a local file: nothing to evaluate relative to
	}
	ctx, cancel := context.WithCancel(s.ctx)
	job := &evalJob{cancel: cancel}
	run := func() {
		s.goFn(func() {
			defer cancel()
			byURI := s.evaluate(ctx, d, fromDisk)
			s.mu.Lock()
			current := s.evals[d.uri] == job
			if current {
				delete(s.evals, d.uri)
			}
			s.mu.Unlock()
			if current && ctx.Err() == nil {
				s.diags.set(evalLayer(d.uri), byURI)
			}
		})
	}
	s.mu.Lock()
	if prev := s.evals[d.uri]; prev != nil {
		prev.stop()
	}
	s.evals[d.uri] = job
	if delay > 0 {
		job.timer = time.AfterFunc(delay, func() {
			if ctx.Err() == nil {
				run()
			}
		})
	}
	s.mu.Unlock()
	if delay <= 0 {
		run()
	}
}

// evaluate loads the document and returns its diagnostics by URI (the
// document's own entry is always present, empty when it evaluates cleanly).
func (s *Server) evaluate(ctx context.Context, d document, fromDisk bool) map[string][]protocol.Diagnostic {
	path := d.path
	if !fromDisk {
		tmp, err := writeShadow(d.path, d.text)
		if err != nil {
			s.log.Warn("write shadow copy", "path", d.path, "error", err)
			return nil
		}
		defer os.Remove(tmp)
		path = tmp
	}
	opts := loopfile.Options{Env: s.opts.Env, LocalTimeout: evalTimeout}
	_, err := s.pool.Load(ctx, path, opts, sandbox.Limits{Timeout: evalTimeout})
	out := map[string][]protocol.Diagnostic{d.uri: {}}
	if err == nil || ctx.Err() != nil {
		return out
	}
	var e *loopfile.Error
	if !errors.As(err, &e) {
		e = &loopfile.Error{File: path, Msg: err.Error()}
	}
	file, msg := e.File, e.Msg
	if path != d.path { // the shadow copy stands for the document
		msg = strings.ReplaceAll(msg, path, d.path)
		msg = strings.ReplaceAll(msg, filepath.Base(path), filepath.Base(d.path))
		if file == path || file == "" {
			file = d.path
		}
	}
	if file == "" {
		file = d.path
	}
	text := d.text
	uri := d.uri
	if file != d.path {
		text, _ = s.source(file)
		uri = s.uriFor(file)
	}
	off := 0
	if e.Line > 0 {
		off = runeColOffset(text, e.Line, e.Col)
	}
	diag := protocol.Diagnostic{
		Range:    tokenRange(text, off),
		Severity: ptr(protocol.DiagnosticSeverityError),
		Source:   ptr("loop"),
		Message:  msg,
	}
	if e.Hint != "" {
		diag.Message += "\nhint: " + e.Hint
	}
	out[uri] = append(out[uri], diag)
	return out
}

// writeShadow writes text to a hidden temporary file next to path and
// returns its name. The name ends in "~", which loop's watcher (and most
// tools) treat as an editor backup file and never report.
func writeShadow(path, text string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".lsp-*~")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(text); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func ptr[T any](v T) *T { return &v }
