package probe

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/cmdpath"
	"github.com/loopdev/loop/internal/output"
	"github.com/loopdev/loop/internal/runtime/process"
)

// outputTail is how much of an exec probe's output an error quotes.
const outputTail = 2048

type execChecker struct {
	argv    []string
	dir     string
	env     []string
	timeout time.Duration
}

func (c *execChecker) Check(ctx context.Context) error {
	name := strings.Join(c.argv, " ")
	if len(c.argv) == 0 {
		return errors.New("exec probe: empty command")
	}
	path, err := cmdpath.Look(c.argv[0], c.dir, c.env)
	if err != nil {
		return fmt.Errorf("exec probe %q: %w", name, err)
	}
	out := output.NewTail(outputTail)
	cmd := &exec.Cmd{Path: path, Args: c.argv, Dir: c.dir, Env: c.env, Stdout: out, Stderr: out}
	// A grandchild that keeps the output pipe open must not hold up Wait.
	cmd.WaitDelay = 100 * time.Millisecond
	tree, err := process.StartTree(cmd)
	if err != nil {
		return fmt.Errorf("exec probe %q: %w", name, err)
	}
	defer tree.Release()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case err = <-waited:
	case <-t.C:
		tree.Kill()
		<-waited
		return fmt.Errorf("exec probe %q: %w after %s%s", name, ErrTimeout, c.timeout, suffix(out))
	case <-ctx.Done():
		tree.Kill()
		<-waited
		return fmt.Errorf("exec probe %q: %w", name, ctx.Err())
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// The leader exited but something in its group holds the output
		// open: the tree still exists, so it is safe to signal.
		tree.Kill()
		err = nil
	}
	if err != nil || !cmd.ProcessState.Success() {
		return fmt.Errorf("exec probe %q: %s%s", name, cmd.ProcessState, suffix(out))
	}
	return nil
}

// suffix renders the output for an error message: ": <output>" or "".
func suffix(out *output.Tail) string {
	s := strings.TrimSpace(strings.ToValidUTF8(out.String(), "?"))
	if s == "" {
		return ""
	}
	return ": " + s
}
