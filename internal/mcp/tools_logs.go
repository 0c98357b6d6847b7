package mcpserver

// The log tools: get_logs and the log lines other tools quote.

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/loopdev/loop/api"
)

// loopLines returns the last n lines loop itself logged about a resource.
func loopLines(ctx context.Context, c *api.Client, project, resource string, n int) ([]api.LogLine, error) {
	var out []api.LogLine
	err := c.Logs(ctx, project, api.LogsQuery{Resources: []string{resource}, Tail: 2000}, func(l api.LogLine) error {
		if l.Stream == "loop" {
			out = append(out, l)
			if len(out) > n {
				out = out[1:]
			}
		}
		return nil
	})
	return out, err
}

func getLogs(ctx context.Context, c *api.Client, req mcp.CallToolRequest) (string, error) {
	tail := req.GetInt("tail", defaultTail)
	re := req.GetString("regex", "")
	if re != "" {
		if _, err := regexp.Compile(re); err != nil {
			return "", userErrorf("regex %q is not a valid regular expression (Go RE2 syntax): %v", re, err)
		}
	}
	p, note, err := resolve(ctx, c, req.GetString("project", ""))
	if err != nil {
		return "", err
	}
	q := api.LogsQuery{Since: req.GetString("since", ""), Grep: re}
	resource := req.GetString("resource", "")
	if resource != "" {
		if _, err := findResource(p, resource); err != nil {
			return "", err
		}
		q.Resources = []string{resource}
	}
	lines, total, err := lastLines(ctx, c, p.Name, q, req.GetString("stream", ""), tail)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(note)
	for _, l := range lines {
		b.WriteString(logLine(l, resource == ""))
	}
	fmt.Fprintf(&b, "returned %d of %d lines", len(lines), total)
	if total > len(lines) {
		b.WriteString(" (the most recent; raise tail or narrow with since/regex for others)")
	}
	b.WriteByte('\n')
	return b.String(), nil
}

// lastLines streams every matching line (of stream, unless it is "") and
// keeps the last n; total is how many matched.
func lastLines(ctx context.Context, c *api.Client, project string, q api.LogsQuery, stream string, n int) ([]api.LogLine, int, error) {
	ring := make([]api.LogLine, 0, n)
	total := 0
	err := c.Logs(ctx, project, q, func(l api.LogLine) error {
		if stream != "" && l.Stream != stream {
			return nil
		}
		total++
		if len(ring) == n {
			copy(ring, ring[1:])
			ring = ring[:n-1]
		}
		ring = append(ring, l)
		return nil
	})
	return ring, total, err
}

// logLine renders one line; withResource prefixes the resource's name.
func logLine(l api.LogLine, withResource bool) string {
	var b strings.Builder
	b.WriteString(l.Time.Local().Format("15:04:05.000"))
	b.WriteByte(' ')
	if withResource {
		b.WriteString(l.Resource)
		b.WriteByte(' ')
	}
	switch l.Stream {
	case "loop":
		b.WriteString("[loop] ")
	case "stderr":
		b.WriteString("[stderr] ")
	}
	b.WriteString(clip(l.Text))
	b.WriteByte('\n')
	return b.String()
}
