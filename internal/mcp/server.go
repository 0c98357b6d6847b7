// Package mcpserver is loop's Model Context Protocol server: it lets an
// assistant ask loopd what runs, read logs, act on resources and, above
// all, ask "has everything settled after my edit?" and get file:line
// errors back.
//
// The server is a thin client of loopd's API (package api): every tool
// call is first checked against the inputSchema the tool declares
// (argsSchema), then asks the daemon through an *api.Client (or, for `loop
// mcp`, a function that connects — and starts loopd — on each call),
// renders a short text reply bounded in size, and turns every failure (bad
// arguments, unknown project, daemon not running, bad regex) into a tool
// result with IsError rather than a protocol error. Resources expose each
// project's status and each resource's logs, listed as they are in loopd
// when a client asks; a Notifier turns loopd's event stream into
// notifications/resources/updated. The same server runs over stdio (`loop
// mcp`) and over streamable HTTP at /mcp on loopd's 127.0.0.1 listener.
package mcpserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loopdev/loop/api"
)

// Options configure the server.
type Options struct {
	// ReadOnly registers only the tools that change nothing.
	ReadOnly bool
	// Version is reported to clients in the initialize handshake.
	Version string
	// Connect, when set, is called on every tool call for the client to use
	// instead of the fixed one (`loop mcp` connects lazily and starts loopd
	// on demand, so an assistant can launch it before any `loop up`).
	Connect func(ctx context.Context) (*api.Client, error)

	// Subs, when set, tracks which session subscribed to what, so that a
	// Notifier with the same Subs notifies only them.
	Subs *Subscriptions

	hooks *server.Hooks // set by Handler (lazy notifier start)
}

// Limits on what a reply carries, so one call cannot flood a context window.
const (
	maxReply     = 24000 // bytes of text in one tool reply
	maxLineLen   = 1000  // bytes of one log line
	defaultTail  = 50    // get_logs lines by default
	maxTail      = 500   // get_logs hard cap
	resourceTail = 200   // lines in loop://{project}/logs/{resource}
	eventLines   = 10    // "loop" log lines in get_resource
)

// redact is the single hook every text returned to the client passes
// through. Secret values never reach it: loopd redacts them from logs,
// snapshots and events before serving them (internal/secret), and this
// process does not know them. What it masks is secret() references
// (model.Secret placeholders, raw or JSON-escaped), which name a secret's
// source: an agent needs to see that a value is a secret, not where it is
// kept.
func redact(s string) string {
	if !strings.Contains(s, "loop-secret:") {
		return s
	}
	return secretRef.ReplaceAllString(s, "[secret]")
}

// secretRef matches a secret() placeholder in plain or JSON-encoded text.
var secretRef = regexp.MustCompile(`(?:\x00|\\u0000)loop-secret:.*?(?:\x00|\\u0000)`)

// srv holds what the handlers share.
type srv struct {
	fixed   *api.Client
	connect func(ctx context.Context) (*api.Client, error)
}

// New builds loop's MCP server over a loopd client: tools, the status and
// logs resource templates, and the diagnose_resource prompt.
func New(c *api.Client, opts Options) *server.MCPServer {
	s := &srv{fixed: c, connect: opts.Connect}
	version := opts.Version
	if version == "" {
		version = "dev"
	}
	so := []server.ServerOption{
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(true, false),
		server.WithPromptCapabilities(false),
		server.WithRecovery(),
		server.WithInstructions(instructions),
	}
	hooks := opts.hooks
	if hooks == nil {
		hooks = &server.Hooks{}
	}
	if opts.Subs != nil {
		opts.Subs.install(hooks)
	}
	var ms *server.MCPServer
	s.installResources(hooks, func() *server.MCPServer { return ms })
	so = append(so, server.WithHooks(hooks))
	ms = server.NewMCPServer("loop", version, so...)
	for _, t := range s.tools() {
		if opts.ReadOnly && !*t.tool.Annotations.ReadOnlyHint {
			continue
		}
		args, err := compileArgs(t.tool)
		if err != nil { // the schemas are constants: a test catches this
			panic(err)
		}
		ms.AddTool(t.tool, s.handle(args, t.run))
	}
	s.addPrompts(ms)
	return ms
}

const instructions = `loop runs this machine's dev services and tasks (from a Loopfile) and rebuilds/restarts what each file change affects.
After editing files, call wait_settled: it waits until every affected resource is ready or failed and returns errors with file:line.
Use list_resources for an overview, get_errors for current diagnostics, get_logs for output (tail, since, regex), and trigger/restart for manual actions.`

// client returns the loopd client for one call.
func (s *srv) client(ctx context.Context) (*api.Client, error) {
	if s.connect != nil {
		c, err := s.connect(ctx)
		if err != nil {
			return nil, &unreachableError{err: err}
		}
		return c, nil
	}
	if s.fixed == nil {
		return nil, &unreachableError{err: errors.New("no daemon client configured")}
	}
	return s.fixed, nil
}

// unreachableError means loopd could not be reached at all.
type unreachableError struct{ err error }

func (e *unreachableError) Error() string {
	return "loopd is not reachable (" + e.err.Error() + "): start it with `loop up` in a project directory or `loop daemon run`, then retry"
}
func (e *unreachableError) Unwrap() error { return e.err }

// userError is a problem with the call's arguments, said to the assistant as is.
type userError string

func (e userError) Error() string { return string(e) }

func userErrorf(format string, args ...any) error { return userError(fmt.Sprintf(format, args...)) }

// describe turns an error into the message an assistant can act on.
func describe(c *api.Client, err error) string {
	var se *api.StatusError
	var ue *unreachableError
	var oe *net.OpError
	switch {
	case errors.As(err, &ue):
		return ue.Error()
	case errors.As(err, &se) && se.Loopfile != nil:
		return "Loopfile error: " + se.Loopfile.String() + "\nfix the Loopfile and call up again (a running project reloads it by itself)"
	case errors.As(err, &se):
		return se.Error()
	case errors.As(err, &oe), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		sock := ""
		if c != nil {
			sock = " on " + c.Socket
		}
		return "loopd is not running" + sock + " (" + err.Error() + "): start it with `loop up` in a project directory or `loop daemon run`, then retry"
	}
	return err.Error()
}

// tool is a tool and what runs it.
type tool struct {
	tool mcp.Tool
	run  func(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error)
}

// handle wraps a tool's function: check the arguments against the tool's
// inputSchema, connect, run, bound and redact the reply; failures (bad
// arguments included, as the MCP spec asks of input validation) become
// IsError results.
func (s *srv) handle(args *argsSchema, run func(context.Context, *api.Client, mcp.CallToolRequest) (string, error)) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if err := args.check(req.Params.Arguments); err != nil {
			return mcp.NewToolResultError(bound(redact(err.Error()))), nil
		}
		c, err := s.client(ctx)
		if err != nil {
			return mcp.NewToolResultError(bound(redact(describe(nil, err)))), nil
		}
		text, err := run(ctx, c, req)
		if err != nil {
			return mcp.NewToolResultError(bound(redact(describe(c, err)))), nil
		}
		return mcp.NewToolResultText(bound(redact(text))), nil
	}
}

// bound cuts a reply to maxReply bytes, keeping the end (the most recent
// output and the outcome are what matter), with a note.
func bound(s string) string {
	if len(s) <= maxReply {
		return s
	}
	cut := len(s) - maxReply
	for cut < len(s) && s[cut] != '\n' { // start on a line boundary
		cut++
	}
	return fmt.Sprintf("[truncated: the first %d bytes are left out; narrow the request (tail, since, regex)]\n", cut) + s[cut:]
}

// clip shortens one line to maxLineLen bytes.
func clip(s string) string {
	if len(s) <= maxLineLen {
		return s
	}
	return s[:maxLineLen] + fmt.Sprintf(" …[%d more bytes]", len(s)-maxLineLen)
}

// resolve finds the project a call is about: the named one, else the only
// (or first) project that is up. note says which was picked when several are up.
func resolve(ctx context.Context, c *api.Client, name string) (p *api.Project, note string, err error) {
	if name != "" {
		p, err := c.Project(ctx, name)
		if err == nil {
			return p, "", nil
		}
		if !api.IsNotFound(err) {
			return nil, "", err
		}
		ps, lerr := c.Projects(ctx)
		if lerr != nil {
			return nil, "", err
		}
		if len(ps) == 0 {
			return nil, "", userErrorf("project %q is not up, and no project is: call up with the path of its Loopfile (or run `loop up` in its directory)", name)
		}
		return nil, "", userErrorf("project %q is not up; projects that are up: %s", name, projectNames(ps))
	}
	ps, err := c.Projects(ctx)
	if err != nil {
		return nil, "", err
	}
	switch len(ps) {
	case 0:
		return nil, "", userError("no project is up: call up with the path of a Loopfile or its directory (or run `loop up` there)")
	case 1:
		return &ps[0], "", nil
	}
	return &ps[0], fmt.Sprintf("(%d projects are up: %s; this is %s — pass project to pick another)\n", len(ps), projectNames(ps), ps[0].Name), nil
}

func projectNames(ps []api.Project) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// findResource returns the named resource of p.
func findResource(p *api.Project, name string) (*api.Resource, error) {
	for i := range p.Resources {
		if p.Resources[i].Name == name {
			return &p.Resources[i], nil
		}
	}
	names := make([]string, len(p.Resources))
	for i, r := range p.Resources {
		names[i] = r.Name
	}
	if len(names) == 0 {
		return nil, userErrorf("no resource %q in project %s: it has no resources", name, p.Name)
	}
	return nil, userErrorf("no resource %q in project %s; its resources: %s", name, p.Name, strings.Join(names, ", "))
}
