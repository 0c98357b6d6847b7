package mcpserver

// The tools that change something (up, down, trigger, enable, disable)
// and wait_settled, which waits for what they started.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
)

func waitSettled(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	secs := req.GetFloat("timeout_seconds", defaultWait)
	timeout := time.Duration(secs * float64(time.Second))
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	res, err := c.Wait(ctx, p.Name, timeout)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(note)
	fmt.Fprintf(&b, "outcome: %s (project %s, waited %s)\n", res.Outcome, p.Name, res.Waited)
	switch res.Outcome {
	case api.OutcomeReady:
		b.WriteString("everything affected by your changes is ready\n")
	case api.OutcomeTimeout:
		fmt.Fprintf(&b, "not settled within %s: something is still starting; call wait_settled again or get_logs to see why\n", timeout)
	}
	writeWaitErrors(&b, res)
	fmt.Fprintf(&b, "resources: %s\n", resourceStates(res.Resources))
	return b.String(), nil
}

// writeWaitErrors renders a wait's diagnostics (file:line first) and errors
// with each resource's last output lines.
func writeWaitErrors(b *strings.Builder, res api.WaitResult) {
	if len(res.Diagnostics) > 0 {
		fmt.Fprintf(b, "diagnostics (%d):\n", len(res.Diagnostics))
		for _, d := range res.Diagnostics {
			fmt.Fprintf(b, "- %s\n", diagnostic(d))
		}
	}
	if len(res.Errors) > 0 {
		fmt.Fprintf(b, "errors (%d):\n", len(res.Errors))
		for _, e := range res.Errors {
			who := e.Resource
			if who == "" {
				who = "Loopfile"
			}
			fmt.Fprintf(b, "- %s: %s\n", who, clip(e.String()))
			log := e.Log
			if len(log) > 30 {
				fmt.Fprintf(b, "  (last 30 of %d output lines)\n", len(log))
				log = log[len(log)-30:]
			}
			for _, l := range log {
				fmt.Fprintf(b, "  | %s\n", clip(l))
			}
		}
	}
}

// action runs trigger, restart, enable or disable on a resource and/or
// the resources with any of some labels (loopd resolves them, as for
// `loop trigger -l LABEL`).
func action(name, done string) func(context.Context, *api.Client, mcp.CallToolRequest) (string, error) {
	return func(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
		p, note, err := resolve(ctx, c, req.GetString("project", ""))
		if err != nil {
			return "", err
		}
		sel := api.Selector{Labels: req.GetStringSlice("labels", nil)}
		rn := req.GetString("resource", "")
		if rn == "" && len(sel.Labels) == 0 {
			return "", userError("resource or labels is required: which resources to " + name + " (see list_resources)")
		}
		if rn != "" {
			r, err := findResource(p, rn)
			if err != nil {
				return "", err
			}
			sel.Resources = []string{r.Name}
		}
		reply, err := c.Act(ctx, p.Name, name, sel)
		if err != nil {
			return "", err
		}
		next := " Call wait_settled for the outcome."
		if name == "disable" {
			next = ""
		}
		return fmt.Sprintf("%s%s %s of project %s.%s\n", note, done, strings.Join(reply.Resources, ", "), p.Name, next), nil
	}
}

func up(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	path, err := req.RequireString("path")
	if err != nil || path == "" {
		return "", userError("path is required: the Loopfile or the directory that holds it")
	}
	lf, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(lf); err == nil && fi.IsDir() {
		lf = filepath.Join(lf, "Loopfile")
	}
	if _, err := os.Stat(lf); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", userErrorf("no Loopfile at %s: pass the path of a Loopfile or of the directory that holds one", lf)
		}
		return "", err
	}
	p, err := c.Up(ctx, api.UpRequest{Loopfile: lf, Env: os.Environ(), Resources: req.GetStringSlice("resources", nil), Labels: req.GetStringSlice("labels", nil)})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "project %s is up from %s: %s\n", p.Name, p.Loopfile, countStates(p.Resources))
	for _, w := range p.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	b.WriteString("Call wait_settled (project " + p.Name + ") to know when it is ready.\n")
	return b.String(), nil
}

func down(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	name, err := req.RequireString("project")
	if err != nil || name == "" {
		return "", userError("project is required: the name of the project to stop (see list_projects)")
	}
	if _, _, err := resolve(ctx, c, name); err != nil {
		return "", err
	}
	if err := c.Down(ctx, name); err != nil {
		return "", err
	}
	return fmt.Sprintf("project %s is down: its processes are stopped. Call up with its Loopfile to start it again.\n", name), nil
}

// countStates says how many resources are in each state.
func countStates(rs []api.Resource) string {
	if len(rs) == 0 {
		return "no resources"
	}
	n := map[string]int{}
	for _, r := range rs {
		n[r.State]++
	}
	var parts []string
	for _, s := range api.States {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
			delete(n, s)
		}
	}
	for s, k := range n {
		parts = append(parts, fmt.Sprintf("%d %s", k, s))
	}
	return fmt.Sprintf("%d resource(s): %s", len(rs), strings.Join(parts, ", "))
}

// resourceStates lists name=state pairs.
func resourceStates(rs []api.Resource) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = r.Name + " " + r.State
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
