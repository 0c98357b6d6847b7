package trace

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
)

// maxTreeAttrs is how many attributes a span's line shows in a tree.
const maxTreeAttrs = 8

// WriteTree writes a trace as an indented tree of its spans, each child
// under its parent, with its start offset from the trace's start, its
// duration, its resource, status and attributes: what `loop trace` prints
// and the MCP get_trace tool returns. A span whose parent did not arrive
// is shown as a root.
func WriteTree(w io.Writer, t api.Trace) {
	sum := summarize(t.TraceID, t.Spans)
	fmt.Fprintf(w, "trace %s: %d spans, %s, from %s", t.TraceID, len(t.Spans), FormatDuration(sum.Duration), sum.Start.Local().Format("15:04:05.000"))
	if t.Dropped > 0 {
		fmt.Fprintf(w, " (%d more spans dropped)", t.Dropped)
	}
	fmt.Fprintln(w)
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	children := map[string][]api.Span{}
	var roots []api.Span
	for _, s := range t.Spans {
		if s.ParentID == "" || !ids[s.ParentID] || s.ParentID == s.SpanID {
			roots = append(roots, s)
		} else {
			children[s.ParentID] = append(children[s.ParentID], s)
		}
	}
	byStart := func(a, b api.Span) int { return a.Start.Compare(b.Start) }
	slices.SortStableFunc(roots, byStart)
	seen := map[string]bool{}
	var walk func(s api.Span, depth int)
	walk = func(s api.Span, depth int) {
		if seen[s.SpanID] { // a cycle of parents: show each span once
			return
		}
		seen[s.SpanID] = true
		writeSpan(w, s, sum.Start, depth)
		kids := children[s.SpanID]
		slices.SortStableFunc(kids, byStart)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
}

func writeSpan(w io.Writer, s api.Span, start time.Time, depth int) {
	ind := strings.Repeat("  ", depth)
	fmt.Fprintf(w, "%s%s  %s  +%s", ind, s.Name, FormatDuration(s.Duration()), FormatDuration(s.Start.Sub(start)))
	if s.Resource != "" {
		fmt.Fprintf(w, "  [%s]", s.Resource)
	}
	if s.Status == StatusError {
		fmt.Fprintf(w, "  ERROR")
		if s.Message != "" {
			fmt.Fprintf(w, ": %s", s.Message)
		}
	}
	if len(s.Attributes) > 0 {
		keys := slices.Sorted(maps.Keys(s.Attributes))
		var parts []string
		for i, k := range keys {
			if i == maxTreeAttrs {
				parts = append(parts, fmt.Sprintf("(+%d)", len(keys)-i))
				break
			}
			parts = append(parts, k+"="+s.Attributes[k])
		}
		fmt.Fprintf(w, "  %s", strings.Join(parts, " "))
	}
	fmt.Fprintln(w)
	for _, ev := range s.Events {
		fmt.Fprintf(w, "%s  · %s +%s", ind, ev.Name, FormatDuration(ev.Time.Sub(start)))
		for _, k := range slices.Sorted(maps.Keys(ev.Attributes)) {
			fmt.Fprintf(w, " %s=%s", k, ev.Attributes[k])
		}
		fmt.Fprintln(w)
	}
}

// FormatDuration rounds d for reading: µs below a millisecond, 0.1 ms
// below a second, else 10 ms.
func FormatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}
