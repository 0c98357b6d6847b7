package loopfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loopdev/loop/internal/model"
)

// validate checks what no single builtin call can: every resource_deps
// entry names a declared resource, and the dependencies have no cycle.
// Errors point at the declaration of the offending resource.
func validate(p *model.Project) error {
	names := make([]string, len(p.Resources))
	for i, r := range p.Resources {
		names[i] = r.Name
	}
	for _, r := range p.Resources {
		for _, d := range r.ResourceDeps {
			if p.Resource(d) != nil {
				continue
			}
			hint := "declared resources: " + strings.Join(names, ", ")
			if n := nearest(d, names); n != "" {
				hint = "did you mean " + n + "? " + hint
			}
			return posError(r.Pos, hint, "%s %q: resource_deps names unknown resource %q", r.Kind, r.Name, d)
		}
	}

	// Depth-first search in declaration order; a back edge is a cycle.
	const (
		unvisited = iota
		onStack
		done
	)
	mark := map[string]int{}
	var stack []string
	var visit func(r *model.Resource) error
	visit = func(r *model.Resource) error {
		mark[r.Name] = onStack
		stack = append(stack, r.Name)
		for _, d := range r.ResourceDeps {
			switch mark[d] {
			case onStack:
				i := slices.Index(stack, d)
				cycle := append(append([]string{}, stack[i:]...), d)
				first := p.Resource(d)
				return posError(first.Pos, "remove one of these resource_deps",
					"dependency cycle: %s", strings.Join(cycle, " -> "))
			case unvisited:
				if err := visit(p.Resource(d)); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[r.Name] = done
		return nil
	}
	for _, r := range p.Resources {
		if mark[r.Name] == unvisited {
			if err := visit(r); err != nil {
				return err
			}
		}
	}
	return nil
}

func posError(pos model.Position, hint, format string, args ...any) *Error {
	return &Error{File: pos.File, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...), Hint: hint}
}
