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

// Resources: resources/list names the status of every project that is up
// and the logs of each of its resources, and resources/templates/list the
// two URI templates. mcp-go answers any error of a template's handler as
// an internal error (-32603), and a URI that matches a template always
// reaches its handler, so the templates are only listed (afterTemplates),
// never registered: the URIs are registered one by one, brought in line
// with loopd's projects before every resources/list and resources/read
// (syncResources). A URI of no current project or resource then matches
// nothing, and mcp-go answers with the spec's resource-not-found code for
// the client's protocol version: -32002 up to 2025-11-25, -32602 (Invalid
// params) from 2026-07-28 (SEP-2164).

func statusTemplateDecl() mcp.ResourceTemplate {
	return mcp.NewResourceTemplate(statusTemplate, "project status",
		mcp.WithTemplateDescription("A project's status as JSON: every resource's state, reason, pid, restarts, links and diagnostics, the Loopfile error if any. Updated (notifications/resources/updated) whenever a resource changes state."),
		mcp.WithTemplateMIMEType("application/json"))
}

func logsTemplateDecl() mcp.ResourceTemplate {
	return mcp.NewResourceTemplate(logsTemplate, "resource logs",
		mcp.WithTemplateDescription(fmt.Sprintf("The last %d log lines of one resource (stdout, stderr and loop's own messages), oldest first.", resourceTail)),
		mcp.WithTemplateMIMEType("text/plain"))
}

// installResources registers the hooks that keep ms's resources current.
func (s *srv) installResources(h *server.Hooks, ms func() *server.MCPServer) {
	h.AddBeforeListResources(func(ctx context.Context, _ any, _ *mcp.ListResourcesRequest) {
		s.syncResources(ctx, ms(), "")
	})
	h.AddBeforeReadResource(func(ctx context.Context, _ any, req *mcp.ReadResourceRequest) {
		s.syncResources(ctx, ms(), req.Params.URI)
	})
	h.AddAfterListResourceTemplates(func(_ context.Context, _ any, _ *mcp.ListResourceTemplatesRequest, res *mcp.ListResourceTemplatesResult) {
		if res != nil {
			res.ResourceTemplates = append(res.ResourceTemplates, statusTemplateDecl(), logsTemplateDecl())
		}
	})
}

// syncResources registers a resource for every project's status and every
// resource's logs, and drops those of projects and resources that are
// gone. When loopd cannot be reached it changes nothing but registers uri
// (when it is one of loop's), so that reading it says why instead of
// "not found".
func (s *srv) syncResources(ctx context.Context, ms *server.MCPServer, uri string) {
	c, err := s.client(ctx)
	var ps []api.Project
	if err == nil {
		ps, err = c.Projects(ctx)
	}
	if err != nil {
		if project, resource, ok := parseURI(uri); ok {
			ms.AddResources(s.resourceFor(project, resource, ""))
		}
		return
	}
	var want []server.ServerResource
	keep := map[string]bool{}
	for _, p := range ps {
		want = append(want, s.resourceFor(p.Name, "", p.Loopfile))
		for _, r := range p.Resources {
			want = append(want, s.resourceFor(p.Name, r.Name, r.Kind))
		}
	}
	for _, r := range want {
		keep[r.Resource.URI] = true
	}
	ms.AddResources(want...)
	var gone []string
	for u := range ms.ListResources() {
		if !keep[u] {
			gone = append(gone, u)
		}
	}
	if len(gone) > 0 {
		ms.DeleteResources(gone...)
	}
}

// resourceFor declares a project's status (resource == "") or a
// resource's logs; about is the Loopfile or the resource's kind.
func (s *srv) resourceFor(project, resource, about string) server.ServerResource {
	if resource == "" {
		desc := "Status of project " + project
		if about != "" {
			desc += " (" + about + ")"
		}
		return server.ServerResource{
			Resource: mcp.NewResource(StatusURI(project), project+" status",
				mcp.WithResourceDescription(desc+" as JSON: every resource's state, reason, pid, restarts, links and diagnostics, the Loopfile error if any."),
				mcp.WithMIMEType("application/json")),
			Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
				return s.readStatus(ctx, req.Params.URI, project)
			},
		}
	}
	what := resource
	if about != "" {
		what += " (" + about + ")"
	}
	return server.ServerResource{
		Resource: mcp.NewResource(LogsURI(project, resource), project+" "+resource+" logs",
			mcp.WithResourceDescription(fmt.Sprintf("The last %d log lines of %s in project %s, oldest first.", resourceTail, what, project)),
			mcp.WithMIMEType("text/plain")),
		Handler: func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			return s.readLogs(ctx, req.Params.URI, project, resource)
		},
	}
}

// parseURI splits loop://{project}/status and
// loop://{project}/logs/{resource}.
func parseURI(uri string) (project, resource string, ok bool) {
	rest, found := strings.CutPrefix(uri, "loop://")
	if !found {
		return "", "", false
	}
	if p, found := strings.CutSuffix(rest, "/status"); found && p != "" && !strings.Contains(p, "/") {
		return p, "", true
	}
	p, r, found := strings.Cut(rest, "/logs/")
	if !found || p == "" || r == "" || strings.Contains(p, "/") {
		return "", "", false
	}
	return p, r, true
}

// readErr makes a resource read failure a plain error with the message
// an assistant can act on (resource reads have no IsError).
func readErr(c *api.Client, err error) error { return errors.New(redact(describe(c, err))) }

func (s *srv) readStatus(ctx context.Context, uri, project string) ([]mcp.ResourceContents, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, readErr(nil, err)
	}
	p, _, err := resolve(ctx, c, project)
	if err != nil {
		return nil, readErr(c, err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "application/json", Text: redact(string(b))}}, nil
}

func (s *srv) readLogs(ctx context.Context, uri, project, resource string) ([]mcp.ResourceContents, error) {
	c, err := s.client(ctx)
	if err != nil {
		return nil, readErr(nil, err)
	}
	p, _, err := resolve(ctx, c, project)
	if err != nil {
		return nil, readErr(c, err)
	}
	r, err := findResource(p, resource)
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
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: uri, MIMEType: "text/plain", Text: bound(redact(b.String()))}}, nil
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
