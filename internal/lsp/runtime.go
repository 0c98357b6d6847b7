package lsp

// Runtime diagnostics: the server follows loopd (when it runs; it never
// starts it) for the project whose Loopfile is in the workspace root, and
// after each change fetches the project's diagnostics and publishes them
// to the files they point at. executeCommand runs actions on resources.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"
	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/loopdev/loop/api"
)

const (
	runtimeLayer = "loopd"
	// pollEvery is how often the server looks for loopd and the project
	// when either is not there (a cheap connect to a Unix socket).
	pollEvery = 2 * time.Second
	// actionTimeout bounds one executeCommand.
	actionTimeout = 30 * time.Second
)

var errRemoved = errors.New("project removed")

// followDaemon follows the project of loopfile until ctx ends: it waits
// for loopd and the project to be up, publishes its diagnostics, and
// refreshes them on every event; when the stream ends it clears them and
// waits again.
func (s *Server) followDaemon(ctx context.Context, loopfile string) {
	log := s.log.With("component", "loopd", "loopfile", loopfile)
	c := api.NewClient(s.opts.Socket)
	for ctx.Err() == nil {
		name, seq, err := findProject(ctx, c, loopfile)
		if err == nil && name != "" {
			log.Info("following project", "project", name)
			s.setProject(name)
			err = s.followProject(ctx, c, name, seq)
			s.setProject("")
			s.diags.set(runtimeLayer, nil)
			log.Info("stopped following project", "project", name, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(pollEvery):
		}
	}
}

// findProject returns loopd's name for the project of loopfile and the
// sequence number of its snapshot, or "" when it is not up (or loopd does
// not run).
func findProject(ctx context.Context, c *api.Client, loopfile string) (string, uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ps, err := c.ProjectList(ctx)
	if err != nil {
		return "", 0, err
	}
	want := canonical(loopfile)
	for _, p := range ps {
		if p.Loopfile == loopfile || canonical(p.Loopfile) == want {
			return p.Name, p.Seq, nil
		}
	}
	return "", 0, nil
}

func canonical(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return filepath.Clean(path)
}

// followProject publishes the project's diagnostics now and after each of
// its events, until the stream ends.
func (s *Server) followProject(ctx context.Context, c *api.Client, project string, seq uint64) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	kick := make(chan struct{}, 1)
	kick <- struct{}{}
	done := make(chan struct{})
	started := s.goFn(func() { // one refresher; bursts of events coalesce into one fetch
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-kick:
				s.refreshRuntime(ctx, c, project)
			}
		}
	})
	if !started {
		return ctx.Err()
	}
	err := c.Events(ctx, project, seq, func(ev api.Event) error {
		switch ev.Kind {
		case api.EventRemoved:
			return errRemoved
		case api.EventResource, api.EventProject:
			select {
			case kick <- struct{}{}:
			default:
			}
		}
		return nil
	})
	cancel()
	<-done
	return err
}

// refreshRuntime fetches the project's diagnostics and publishes them.
func (s *Server) refreshRuntime(ctx context.Context, c *api.Client, project string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ds, err := c.Errors(ctx, project)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("fetch diagnostics", "project", project, "error", err)
		}
		return
	}
	s.diags.set(runtimeLayer, s.runtimeDiagnostics(ds))
}

// runtimeDiagnostics groups loopd's diagnostics by file (those without a
// file are left out: they have nowhere to go) and converts positions
// (1-based line, 1-based byte column) to LSP ranges over the file's text.
func (s *Server) runtimeDiagnostics(ds []api.Diagnostic) map[string][]protocol.Diagnostic {
	out := map[string][]protocol.Diagnostic{}
	texts := map[string]string{}
	for _, d := range ds {
		if d.File == "" {
			continue
		}
		text, ok := texts[d.File]
		if !ok {
			text, _ = s.source(d.File)
			texts[d.File] = text
		}
		var rng protocol.Range
		if d.Line > 0 {
			start, end, _ := lineBounds(text, d.Line-1)
			if d.Col > 0 {
				rng = tokenRange(text, byteColOffset(text, d.Line, d.Col))
			} else { // no column: the whole line
				rng = protocol.Range{Start: positionOf(text, start), End: positionOf(text, end)}
			}
			if text == "" { // unreadable: trust the numbers
				rng = protocol.Range{Start: protocol.Position{Line: uint32(d.Line - 1), Character: uint32(max(d.Col-1, 0))}}
				rng.End = rng.Start
			}
		}
		msg := d.Message
		if d.Source != "" && d.Source != "generic" {
			msg = d.Source + ": " + msg
		}
		uri := s.uriFor(d.File)
		out[uri] = append(out[uri], protocol.Diagnostic{
			Range:    rng,
			Severity: ptr(severity(d.Severity)),
			Source:   ptr("loop: " + d.Resource),
			Message:  msg,
		})
	}
	return out
}

func severity(s string) protocol.DiagnosticSeverity {
	switch s {
	case "warning":
		return protocol.DiagnosticSeverityWarning
	case "info":
		return protocol.DiagnosticSeverityInformation
	case "hint":
		return protocol.DiagnosticSeverityHint
	}
	return protocol.DiagnosticSeverityError
}

func (s *Server) setProject(name string) {
	s.mu.Lock()
	s.project = name
	s.mu.Unlock()
}

// executeCommand runs loop.trigger or loop.restart on the resource named
// by the first argument, in the workspace's project. Wrong arguments,
// an unknown resource included, are Invalid params; anything else that
// stops it is RequestFailed (see CodeRequestFailed).
func (s *Server) executeCommand(_ *glsp.Context, p *protocol.ExecuteCommandParams) (any, error) {
	invalid := func(format string, args ...any) error {
		return &jsonrpc2.Error{Code: jsonrpc2.CodeInvalidParams, Message: fmt.Sprintf(format, args...)}
	}
	failed := func(format string, args ...any) error {
		return &jsonrpc2.Error{Code: CodeRequestFailed, Message: fmt.Sprintf(format, args...)}
	}
	var action string
	switch p.Command {
	case CommandTrigger:
		action = "trigger"
	case CommandRestart:
		action = "restart"
	default:
		return nil, invalid("unknown command %q: want %s or %s", p.Command, CommandTrigger, CommandRestart)
	}
	if len(p.Arguments) != 1 {
		return nil, invalid("%s: want one argument, the resource name; got %d", p.Command, len(p.Arguments))
	}
	resource, ok := p.Arguments[0].(string)
	if !ok || resource == "" {
		return nil, invalid("%s: the argument must be a resource name (a non-empty string), got %v", p.Command, p.Arguments[0])
	}
	if s.opts.Socket == "" {
		return nil, failed("%s: loopd is not configured", p.Command)
	}
	ctx, cancel := context.WithTimeout(s.ctx, actionTimeout)
	defer cancel()
	c := api.NewClient(s.opts.Socket)
	s.mu.Lock()
	project, root := s.project, s.root
	s.mu.Unlock()
	if project == "" && (root != "" || s.opts.Loopfile != "") {
		lf := s.opts.Loopfile
		if lf == "" {
			lf = filepath.Join(root, "Loopfile")
		}
		name, _, err := findProject(ctx, c, lf)
		if err != nil {
			return nil, failed("%s: loopd is not running: run `loop up` in %s", p.Command, root)
		}
		project = name
	}
	if project == "" {
		return nil, failed("%s: the workspace's project is not up: run `loop up`", p.Command)
	}
	if err := c.Action(ctx, project, resource, action); err != nil {
		if api.IsNotFound(err) {
			if pr, perr := c.Project(ctx, project); perr == nil {
				names := make([]string, len(pr.Resources))
				for i, r := range pr.Resources {
					names[i] = r.Name
				}
				return nil, invalid("%s: no resource %q in project %s; its resources: %s", p.Command, resource, project, strings.Join(names, ", "))
			}
		}
		return nil, failed("%s %s: %v", p.Command, resource, err)
	}
	return nil, nil
}
