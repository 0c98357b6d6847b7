package loopfile

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/loopdev/loop/internal/model"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Error is a Loopfile evaluation error: what went wrong, where (1-based
// line and column; 0 when the error has no position) and what to do.
type Error struct {
	File string // absolute path of the file the error is in
	Line int
	Col  int
	Msg  string // "service: unknown keyword argument \"comand\""
	Hint string // what to do next; may be empty

	// Files lists every file the failed evaluation read (or tried to
	// read): watch them and evaluate again when one changes.
	Files []string
	// Secrets are the secrets declared before the failure, so their
	// values can be redacted from the evaluation's output.
	Secrets []*model.Secret

	cause error
}

// Error renders "file:line:col: msg (hint: ...)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Col)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", e.Hint)
	}
	return b.String()
}

// Unwrap returns the underlying error, if any (a context error, an
// *os.PathError, ...).
func (e *Error) Unwrap() error { return e.cause }

// builtinError is what builtins return: a message already prefixed with
// the builtin's name, and a hint. The position comes from the call stack.
type builtinError struct {
	msg  string
	hint string
	// arg, when set, names the argument at fault, given by keyword (index
	// < 0) or as the index-th positional argument; the error points at it.
	arg   string
	index int
}

func (e *builtinError) Error() string { return e.msg }

// errorf returns a builtinError with a hint.
func errorf(hint, format string, args ...any) error {
	return &builtinError{msg: fmt.Sprintf(format, args...), hint: hint, index: -1}
}

// toError converts any evaluation error into an *Error with a position.
func (s *evalState) toError(err error) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	var se syntax.Error
	if errors.As(err, &se) {
		return &Error{File: se.Pos.Filename(), Line: int(se.Pos.Line), Col: int(se.Pos.Col),
			Msg: se.Msg, cause: err}
	}
	var rl resolve.ErrorList
	if errors.As(err, &rl) {
		r := rl[0]
		msg, hint := splitDidYouMean(r.Msg)
		if name, ok := strings.CutPrefix(msg, "undefined: "); ok && hint == "" {
			hint = "not a builtin nor defined above; builtins: " + strings.Join(builtinNames(), ", ")
			if n := nearest(name, builtinNames()); n != "" {
				hint = "did you mean " + n + "?"
			}
		}
		if len(rl) > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", len(rl)-1)
		}
		return &Error{File: r.Pos.Filename(), Line: int(r.Pos.Line), Col: int(r.Pos.Col),
			Msg: msg, Hint: hint, cause: err}
	}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		e := &Error{Msg: ee.Msg, cause: err}
		var be *builtinError
		isBuiltin := errors.As(err, &be)
		// Point at the innermost frame in a Starlark file: the caller of
		// the builtin, not the builtin itself; there, at the argument at
		// fault or at the callee's name.
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			p := ee.CallStack[i].Pos
			if p.Filename() != "<builtin>" && p.Line > 0 {
				if i < len(ee.CallStack)-1 { // p is a call
					arg, index := "", -1
					if isBuiltin {
						arg, index = be.arg, be.index
					}
					p = s.argPos(p, arg, index)
				}
				e.File, e.Line, e.Col = p.Filename(), int(p.Line), int(p.Col)
				break
			}
		}
		switch {
		case s.stepsExceeded:
			e.Msg = fmt.Sprintf("step limit exceeded (%d Starlark steps)", s.opts.MaxSteps)
			e.Hint = "does the Loopfile loop forever?"
		case s.ctx.Err() != nil:
			e.Msg = "evaluation stopped: " + s.ctx.Err().Error()
			e.cause = s.ctx.Err()
		case isBuiltin:
			e.Msg = be.msg
			e.Hint = be.hint
		default:
			e.Msg, e.Hint = splitDidYouMean(e.Msg)
		}
		return e
	}
	return &Error{File: s.project.Loopfile, Msg: err.Error(), cause: err}
}

// splitDidYouMean moves starlark's " (did you mean x?)" suffix into a hint.
func splitDidYouMean(msg string) (string, string) {
	i := strings.LastIndex(msg, " (did you mean ")
	if i < 0 || !strings.HasSuffix(msg, ")") {
		return msg, ""
	}
	return msg[:i], msg[i+2 : len(msg)-1]
}

// builtinNames lists the predeclared names, sorted.
func builtinNames() []string {
	names := predeclared().Keys()
	slices.Sort(names)
	return names
}

// nearest returns the candidate closest to x by edit distance, or "" when
// none is close enough to be a plausible typo.
func nearest(x string, candidates []string) string {
	best, bestD := "", len(x)/2+1
	for _, c := range candidates {
		if d := distance(strings.ToLower(x), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein edit distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
