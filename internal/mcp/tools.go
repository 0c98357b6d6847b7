package mcpserver

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
)

// Wait limits of wait_settled, in seconds.
const (
	defaultWait = 60
	maxWait     = 600
)

// annotations: read-only tools change nothing; destructive ones stop or
// kill something that runs. Every tool talks to a local daemon only.
func readOnly() []mcp.ToolOption {
	return []mcp.ToolOption{
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	}
}

func mutating(destructive, idempotent bool) []mcp.ToolOption {
	return []mcp.ToolOption{
		mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(destructive),
		mcp.WithIdempotentHintAnnotation(idempotent),
		mcp.WithOpenWorldHintAnnotation(false),
	}
}

// newTool declares a tool. Its inputSchema admits no argument it does not
// declare (additionalProperties: false), so a misspelt argument is an
// error rather than silently ignored; argsSchema enforces the schema.
func newTool(name, desc string, ann []mcp.ToolOption, params ...mcp.ToolOption) mcp.Tool {
	opts := append([]mcp.ToolOption{mcp.WithDescription(desc), mcp.WithSchemaAdditionalProperties(false)}, ann...)
	return mcp.NewTool(name, append(opts, params...)...)
}

var projectParam = mcp.WithString("project",
	mcp.Description("Project name (see list_projects). Default: the only project that is up, or the first one."))

func resourceParam(verb string) mcp.ToolOption {
	return mcp.WithString("resource", mcp.Required(), mcp.Description("Resource name (see list_resources) "+verb+"."))
}

// selectParams are an action's resource and labels: at least one.
func selectParams(verb string) []mcp.ToolOption {
	return []mcp.ToolOption{
		mcp.WithString("resource", mcp.Description("Resource name (see list_resources) "+verb+". Required unless labels are given.")),
		mcp.WithArray("labels", mcp.WithStringItems(), mcp.Description("Also every resource that has any of these labels (labels=[...] in the Loopfile; see list_resources). A label no resource has is an error that lists the project's labels.")),
	}
}

func (s *srv) tools() []tool {
	return append([]tool{
		{newTool("list_projects",
			"List the projects that are up in loopd, with their directory, Loopfile and a count of resources by state. Start here when you do not know the project name.",
			readOnly()), listProjects},
		{newTool("list_resources",
			"Summarize every resource (service or task) of a project: state (pending, starting, ready, unresponsive, crashed, failed, stopped, disabled), why, labels, links, and how many diagnostics it has. Unresponsive: the service runs but stopped answering its readiness probe (deadlock, busy loop, stopped process); loop does not restart it, the restart tool does. Also shows a broken Loopfile.",
			readOnly(), projectParam,
			mcp.WithArray("labels", mcp.WithStringItems(), mcp.Description("Only the resources that have any of these labels (labels=[...] in the Loopfile; database() resources have \"database\"). A label no resource has is an error that lists the project's labels. Default: every resource."))),
			listResources},
		{newTool("get_resource",
			"Describe one resource: state and reason, command and directory, pid/container, restarts and last exit, ports and links, dependencies, its diagnostics with file:line, and loop's last messages about it (starts, exits, restarts).",
			readOnly(), projectParam, resourceParam("to describe")), getResource},
		{newTool("get_logs",
			"Read a project's recent log lines, newest last. Bounded: tail defaults to 50 lines and is at most 500; the reply says how many of the matching lines it returned. Filter with resource, stream, since and a regex.",
			readOnly(), projectParam,
			mcp.WithString("resource", mcp.Description("Only this resource's lines. Default: every resource's.")),
			mcp.WithInteger("tail", mcp.Description("How many of the last matching lines to return (default 50, at most 500)."), mcp.Min(1), mcp.Max(maxTail)),
			mcp.WithString("stream", mcp.Enum(streams...), mcp.Description("Only this stream: the processes' stdout or stderr, or loop's own messages about the resources (starts, exits, restarts). Default: all three.")),
			mcp.WithString("since", mcp.Description("Only lines newer than this: a duration ago (\"5m\", \"30s\") or an RFC 3339 time.")),
			mcp.WithString("regex", mcp.Description("Only lines matching this regular expression (Go RE2 syntax, e.g. \"(?i)error|panic\")."))),
			getLogs},
		{newTool("wait_settled",
			"Wait until everything affected by your latest file changes has settled (rebuilt, restarted, ready — or failed), then report the outcome (ready, failed or timeout) with the errors and compile/test diagnostics as file:line:col. Call this after every edit instead of polling.",
			readOnly(), projectParam,
			mcp.WithNumber("timeout_seconds", mcp.Description("How long to wait at most, in seconds (default 60, at most 600)."), mcp.Min(1), mcp.Max(maxWait))),
			waitSettled},
		{newTool("get_errors",
			"List the current diagnostics (compile errors, failing tests, tracebacks) of every resource of a project as file:line:col: message, plus failing resources without a parsed location and a broken Loopfile. Empty when everything is clean.",
			readOnly(), projectParam), getErrors},
		{newTool("trigger",
			"Run a resource now: a task with trigger \"manual\" or pending changes runs; a finished task runs again. Then call wait_settled for the outcome.",
			mutating(false, false), append([]mcp.ToolOption{projectParam}, selectParams("to run")...)...), action("trigger", "triggered")},
		{newTool("restart",
			"Restart a resource now (stops its process group and starts it again; in-memory state of the service is lost). Then call wait_settled.",
			mutating(true, false), append([]mcp.ToolOption{projectParam}, selectParams("to restart")...)...), action("restart", "restarted")},
		{newTool("enable",
			"Enable a disabled resource and start it. Then call wait_settled.",
			mutating(false, true), append([]mcp.ToolOption{projectParam}, selectParams("to enable")...)...), action("enable", "enabled")},
		{newTool("disable",
			"Stop a resource and keep it stopped (file changes no longer restart it) until enable.",
			mutating(true, true), append([]mcp.ToolOption{projectParam}, selectParams("to disable")...)...), action("disable", "disabled")},
		{newTool("up",
			"Start a project (or update one that is up) from its Loopfile: loopd runs its services and tasks and watches its files from then on. Processes get the environment of the loop MCP server. Then call wait_settled.",
			mutating(false, true),
			mcp.WithString("path", mcp.Required(), mcp.Description("Path of the Loopfile, or of the directory that holds it (absolute, or relative to the MCP server's working directory).")),
			mcp.WithArray("resources", mcp.WithStringItems(), mcp.Description("Only these resources (and what they depend on). Default: all.")),
			mcp.WithArray("labels", mcp.WithStringItems(), mcp.Description("Also the resources that have any of these labels (and what they depend on). Default: all."))),
			up},
		{newTool("down",
			"Stop every process of a project and forget it (its logs stay readable). Destructive: running services stop.",
			mutating(true, true),
			mcp.WithString("project", mcp.Required(), mcp.Description("Project name (see list_projects)."))),
			down},
	}, traceTools()...)
}

func listProjects(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	ps, err := c.Projects(ctx)
	if err != nil {
		return "", err
	}
	if len(ps) == 0 {
		return "No project is up. Call up with the path of a Loopfile (or run `loop up` in the project directory).", nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d project(s) up:\n", len(ps))
	for _, p := range ps {
		fmt.Fprintf(&b, "- %s: %s (Loopfile %s); %s\n", p.Name, p.Dir, p.Loopfile, countStates(p.Resources))
		if p.Error != nil {
			fmt.Fprintf(&b, "  Loopfile error: %s (the last good configuration runs)\n", p.Error)
		}
	}
	return b.String(), nil
}

// maxListed is the most resources list_resources lists one by one; a
// bigger project lists those that need attention (its reply stays under
// maxReply with its head).
const maxListed = 200

// needsAttention: a resource on its way (starting) or in trouble.
func needsAttention(r api.Resource) bool {
	switch r.State {
	case api.StateReady, api.StatePending, api.StateDisabled, api.StateStopped:
		return false
	}
	return true
}

func listResources(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	labels := req.GetStringSlice("labels", nil)
	if len(labels) > 0 {
		// loopd resolves the labels, as for `loop status -l`.
		if p, err = c.Selected(ctx, p.Name, api.Selector{Labels: labels}); err != nil {
			return "", err
		}
	}
	var b strings.Builder
	b.WriteString(note)
	fmt.Fprintf(&b, "project %s (%s): %s", p.Name, p.Loopfile, countStates(p.Resources))
	if len(labels) > 0 {
		fmt.Fprintf(&b, " with any of the labels %s", strings.Join(labels, ", "))
	}
	b.WriteByte('\n')
	if p.Error != nil {
		fmt.Fprintf(&b, "Loopfile error: %s (the last good configuration runs)\n", p.Error)
	}
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	if p.Watch != nil && !p.Watch.Ready {
		b.WriteString("the file watcher is still setting up\n")
	}
	if p.Watch != nil && p.Watch.Error != "" {
		fmt.Fprintf(&b, "the file watcher stopped: %s\n", p.Watch.Error)
	}
	listed := p.Resources
	if len(listed) > maxListed {
		// A big project: the resources that need attention, and the
		// count of the rest, so the reply keeps its head.
		listed = nil
		for _, r := range p.Resources {
			if len(listed) < maxListed && needsAttention(r) {
				listed = append(listed, r)
			}
		}
		fmt.Fprintf(&b, "%d resources; listed: %d that are not ready, pending, disabled or stopped (at most %d): pass labels to list others\n",
			len(p.Resources), len(listed), maxListed)
	}
	for _, r := range listed {
		fmt.Fprintf(&b, "- %s (%s): %s", r.Name, r.Kind, r.State)
		if r.Reason != "" {
			fmt.Fprintf(&b, " — %s", clip(r.Reason))
		}
		if n := len(r.Diagnostics); n > 0 {
			fmt.Fprintf(&b, " [%d diagnostic(s)]", n)
		}
		if r.Pending {
			b.WriteString(" [changes wait for trigger]")
		}
		if len(r.Labels) > 0 {
			fmt.Fprintf(&b, " [labels: %s]", strings.Join(r.Labels, ", "))
		}
		for _, l := range r.Links {
			fmt.Fprintf(&b, " %s", l.URL)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

func getResource(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	r, err := findResource(p, req.GetString("resource", ""))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(note)
	writeResource(&b, p.Name, r)
	events, err := loopLines(ctx, c, p.Name, r.Name, eventLines)
	if err != nil {
		return "", err
	}
	if len(events) > 0 {
		b.WriteString("recent events (loop's messages):\n")
		for _, l := range events {
			fmt.Fprintf(&b, "  %s %s\n", l.Time.Local().Format("15:04:05.000"), clip(l.Text))
		}
	}
	return b.String(), nil
}

// writeResource renders one resource's snapshot.
func writeResource(b *strings.Builder, project string, r *api.Resource) {
	fmt.Fprintf(b, "resource %s of project %s (%s)\n", r.Name, project, r.Kind)
	fmt.Fprintf(b, "state: %s since %s", r.State, r.Since.Local().Format(time.RFC3339))
	if r.Reason != "" {
		fmt.Fprintf(b, " — %s", clip(r.Reason))
	}
	b.WriteByte('\n')
	if len(r.Cmd) > 0 {
		fmt.Fprintf(b, "cmd: %s\n", clip(strings.Join(r.Cmd, " ")))
	}
	if r.Dir != "" {
		fmt.Fprintf(b, "dir: %s\n", r.Dir)
	}
	if r.Declared != "" {
		fmt.Fprintf(b, "declared at: %s\n", r.Declared)
	}
	fmt.Fprintf(b, "trigger: %s", r.Trigger)
	if r.Pending {
		b.WriteString(" (changes wait for trigger)")
	}
	b.WriteByte('\n')
	if r.Pid > 0 {
		fmt.Fprintf(b, "pid: %d\n", r.Pid)
	}
	if r.Container != "" {
		fmt.Fprintf(b, "container: %s\n", r.Container)
	}
	fmt.Fprintf(b, "restarts: %d\n", r.Restarts)
	if r.LastExit != "" {
		fmt.Fprintf(b, "last exit: %s\n", r.LastExit)
	}
	if r.LastRun > 0 {
		fmt.Fprintf(b, "last run took: %s\n", r.LastRun.Round(time.Millisecond))
	}
	if len(r.ResourceDeps) > 0 {
		fmt.Fprintf(b, "depends on: %s\n", strings.Join(r.ResourceDeps, ", "))
	}
	if len(r.Ports) > 0 {
		fmt.Fprintf(b, "ports: %v\n", r.Ports)
	}
	for _, l := range r.Links {
		if l.Name != "" {
			fmt.Fprintf(b, "link: %s (%s)\n", l.URL, l.Name)
		} else {
			fmt.Fprintf(b, "link: %s\n", l.URL)
		}
	}
	if len(r.Labels) > 0 {
		fmt.Fprintf(b, "labels: %s\n", strings.Join(r.Labels, ", "))
	}
	if len(r.Diagnostics) > 0 {
		fmt.Fprintf(b, "diagnostics (%d):\n", len(r.Diagnostics))
		for _, d := range r.Diagnostics {
			fmt.Fprintf(b, "  %s\n", diagnostic(d))
		}
	}
}

// streams are the values of get_logs' stream argument.
var streams = []string{"stdout", "stderr", "loop"}

// diagnostic renders file:line:col: severity: message (resource, source).
func diagnostic(d api.Diagnostic) string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d", d.Line)
			if d.Col > 0 {
				fmt.Fprintf(&b, ":%d", d.Col)
			}
		}
		b.WriteString(": ")
	}
	if d.Severity != "" {
		b.WriteString(d.Severity + ": ")
	}
	b.WriteString(clip(d.Message))
	var from []string
	if d.Resource != "" {
		from = append(from, d.Resource)
	}
	if d.Source != "" {
		from = append(from, d.Source)
	}
	if len(from) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(from, ", "))
	}
	return b.String()
}

func getErrors(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	ds, err := c.Errors(ctx, p.Name)
	if api.IsNotFound(err) {
		// A loopd without the errors endpoint: the snapshot has the same.
		ds, err = nil, nil
		for _, r := range p.Resources {
			ds = append(ds, r.Diagnostics...)
		}
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(note)
	if p.Error != nil {
		fmt.Fprintf(&b, "Loopfile error: %s (the last good configuration runs)\n", p.Error)
	}
	if len(ds) > 0 {
		fmt.Fprintf(&b, "diagnostics (%d):\n", len(ds))
		for _, d := range ds {
			fmt.Fprintf(&b, "- %s\n", diagnostic(d))
		}
	}
	var failing []string
	for _, r := range p.Resources {
		if (r.State == api.StateFailed || r.State == api.StateCrashed || r.State == api.StateUnresponsive) && len(r.Diagnostics) == 0 {
			failing = append(failing, fmt.Sprintf("- %s: %s — %s (no file:line found in its output; see get_logs)", r.Name, r.State, clip(r.Reason)))
		}
	}
	if len(failing) > 0 {
		b.WriteString("failing resources:\n" + strings.Join(failing, "\n") + "\n")
	}
	if b.Len() == len(note) {
		fmt.Fprintf(&b, "no errors in project %s: %s\n", p.Name, countStates(p.Resources))
	}
	return b.String(), nil
}
