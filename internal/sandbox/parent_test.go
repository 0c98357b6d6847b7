//go:build unix

package sandbox

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// A crashed evaluator is described by what its stderr and exit say.
func TestCrashed(t *testing.T) {
	for _, tt := range []struct {
		name     string
		protoErr error
		stderr   string
		want     string
	}{
		{"too big", &resultTooBig{size: 70 << 20}, "", "the evaluated project is 70 MiB encoded, over the limit of 64 MiB (MaxResult)"},
		{"panic", nil, "panic: boom\n\ngoroutine 1 [running]:\nmain.f()\n", "the evaluator crashed: panic: boom"},
		{"fatal", nil, "fatal error: runtime: out of memory\n", "the evaluator ran out of memory"},
		{"signal", nil, "SIGSEGV: segmentation violation\nPC=0x0\n", "the evaluator crashed: SIGSEGV: segmentation violation"},
		{"unreadable", errShort, "", "the evaluator's result was unreadable: truncated input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tail := &stderrTail{}
			tail.Write([]byte(tt.stderr))
			waitErr := error(nil)
			if tt.stderr != "" {
				waitErr = errors.New("exit status 2")
			}
			msg, hint := crashed(waitErr, tt.protoErr, tail.String())
			if !strings.HasPrefix(msg, "evaluation failed: "+tt.want) || hint == "" {
				t.Errorf("got %q (hint %q), want it to start with %q", msg, hint, tt.want)
			}
		})
	}
}

func TestStderrTail(t *testing.T) {
	tail := &stderrTail{}
	for i := range 1000 {
		fmt.Fprintf(tail, "line %d\n", i)
	}
	got := tail.String()
	if lines := strings.Split(got, "\n"); len(lines) != stderrLines || lines[len(lines)-1] != "line 999" {
		t.Errorf("got %q, want the last %d lines", got, stderrLines)
	}
}
