package mcpserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/loopdev/loop/api"
)

// Resource URIs.
const (
	statusTemplate = "loop://{project}/status"
	logsTemplate   = "loop://{project}/logs/{resource}"
)

// StatusURI is the URI of a project's status resource.
func StatusURI(project string) string { return "loop://" + project + "/status" }

// LogsURI is the URI of a resource's logs.
func LogsURI(project, resource string) string {
	return "loop://" + project + "/logs/" + resource
}

func (s *srv) addResources(ms *server.MCPServer) {
	ms.AddResourceTemplate(mcp.NewResourceTemplate(statusTemplate, "project status",
		mcp.WithTemplateDescription("A project's status as JSON: every resource's state, reason, pid, restarts, links and diagnostics, the Loopfile error if any. Updated (notifications/resources/updated) whenever a resource changes state."),
		mcp.WithTemplateMIMEType("application/json")), s.readStatus)
	ms.AddResourceTemplate(mcp.NewResourceTemplate(logsTemplate, "resource logs",
		mcp.WithTemplateDescription(fmt.Sprintf("The last %d log lines of one resource (stdout, stderr and loop's own messages), oldest first.", resourceTail)),
		mcp.WithTemplateMIMEType("text/plain")), s.readLogs)
}

// uriArg reads a variable matched from a URI template.
func uriArg(req mcp.ReadResourceRequest, name string) string {
	switch v := req.Params.Arguments[name].(type) {
	case string:
		return v
	case []string:
		if len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// readErr makes a resource read failure a plain error with the message
// an assistant can act on (resource reads have no IsError).
func readErr(c *api.Client, err error) error { return errors.New(redact(describe(c, err))) }

func (s *srv) readStatus(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, readErr(nil, err)
	}
	p, _, err := resolve(ctx, c, uriArg(req, "project"))
	if err != nil {
		return nil, readErr(c, err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: redact(string(b))}}, nil
}

func (s *srv) readLogs(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, readErr(nil, err)
	}
	p, _, err := resolve(ctx, c, uriArg(req, "project"))
	if err != nil {
		return nil, readErr(c, err)
	}
	r, err := findResource(p, uriArg(req, "resource"))
	if err != nil {
		return nil, readErr(c, err)
	}
	lines, total, err := lastLines(ctx, c, p.Name, api.LogsQuery{Resources: []string{r.Name}}, "", resourceTail)
	if err != nil {
		return nil, readErr(c, err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(logLine(l, false))
	}
	if total > len(lines) {
		fmt.Fprintf(&b, "(the last %d of %d lines; use the get_logs tool to filter)\n", len(lines), total)
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/plain", Text: bound(redact(b.String()))}}, nil
}

func (s *srv) addPrompts(ms *server.MCPServer) {
	ms.AddPrompt(mcp.NewPrompt("diagnose_resource",
		mcp.WithPromptDescription("Gather a resource's state, diagnostics and recent logs into one message and ask for the root cause and a fix."),
		mcp.WithArgument("project", mcp.ArgumentDescription("Project name (default: the only or first project that is up).")),
		mcp.WithArgument("resource", mcp.RequiredArgument(), mcp.ArgumentDescription("Resource to diagnose.")),
	), s.diagnose)
}

func (s *srv) diagnose(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, errors.New(redact(describe(nil, err)))
	}
	p, _, err := resolve(ctx, c, req.Params.Arguments["project"])
	if err != nil {
		return nil, readErr(c, err)
	}
	r, err := findResource(p, req.Params.Arguments["resource"])
	if err != nil {
		return nil, readErr(c, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Diagnose the resource %q of the loop project %q, which is %s.\n\n", r.Name, p.Name, r.State)
	if r.State == api.StateUnresponsive {
		b.WriteString("It is still running but stopped answering its readiness probe: look for what blocks it (a deadlock, a busy loop, a call that never returns, a stopped process). loop does not restart it by itself; the restart tool does.\n\n")
	}
	if p.Error != nil {
		fmt.Fprintf(&b, "The Loopfile does not evaluate: %s\n\n", p.Error)
	}
	writeResource(&b, p.Name, r)
	lines, total, err := lastLines(ctx, c, p.Name, api.LogsQuery{Resources: []string{r.Name}}, "", defaultTail)
	if err != nil {
		return nil, readErr(c, err)
	}
	fmt.Fprintf(&b, "\nIts last %d of %d log lines:\n", len(lines), total)
	for _, l := range lines {
		b.WriteString(logLine(l, false))
	}
	b.WriteString("\nFind the root cause, point at the file and line to change, and propose a fix. After editing, call the wait_settled tool to check that it is ready.\n")
	text := bound(redact(b.String()))
	return mcp.NewGetPromptResult("diagnose "+r.Name,
		[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
}

// Notifier sends notifications/resources/updated when loopd reports a
// change: loop://{project}/status for every event of a project, and
// loop://{project}/logs/{resource} when that resource changes state. With
// Subs (the server's) only the subscribed sessions get them; without, every
// session. It follows loopd's event stream and reconnects when it breaks.
type Notifier struct {
	Server *server.MCPServer
	Subs   *Subscriptions
	// Client reaches loopd; the notifier never starts a daemon.
	Client *api.Client
	// StopWhenGone makes Run return when loopd cannot be reached (inside
	// loopd this means it is shutting down) instead of retrying.
	StopWhenGone bool
	Logger       *slog.Logger
}

// Run follows loopd's events until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	logger := n.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var (
		after   uint64
		pid     int
		skip    = time.Now() // events replayed from before this are old news
		backoff = 100 * time.Millisecond
	)
	for {
		v, err := n.Client.Version(ctx)
		if err == nil {
			if v.Pid != pid { // a new daemon numbers its events from 1 again
				if pid != 0 {
					skip = time.Now()
				}
				pid, after = v.Pid, 0
			}
			err = n.Client.Events(ctx, "", after, func(ev api.Event) error {
				backoff = 100 * time.Millisecond
				after = max(after, ev.Seq)
				if ev.Time.Before(skip) {
					return nil
				}
				n.notify(ev)
				return nil
			})
		}
		if ctx.Err() != nil {
			return nil
		}
		if n.StopWhenGone {
			if _, verr := n.Client.Version(ctx); verr != nil {
				return nil
			}
		}
		logger.Debug("mcp notifier: event stream ended; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (n *Notifier) notify(ev api.Event) {
	if ev.Project == "" {
		return
	}
	send := func(uri string) {
		if n.Subs != nil {
			n.Subs.Updated(n.Server, uri)
			return
		}
		n.Server.SendNotificationToAllClients(mcp.MethodNotificationResourceUpdated, map[string]any{"uri": uri})
	}
	send(StatusURI(ev.Project))
	if ev.Kind == api.EventResource && ev.Resource != nil {
		send(LogsURI(ev.Project, ev.Resource.Name))
	}
}
