package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/loopdev/loop/internal/runtime"
)

// stdinGrace bounds the wait for an exec's stdin copy to end after the
// command exited.
const stdinGrace = time.Second

// Exec runs spec.Argv in container id through the Engine API, the one
// docker exec of loopd's handles, `loop exec`/`loop shell` and `loop db`:
// stdin (nil for none) is copied to the command and closed; its output,
// demultiplexed unless spec.TTY, goes to spec.Stdout and spec.Stderr (nil
// discards). sizes, when not nil, resizes the terminal (width, height).
// It returns the exit code; a failed write of stdin is an error when the
// command exited 0.
func Exec(ctx context.Context, cli client.APIClient, id string, spec runtime.ExecSpec, sizes <-chan [2]uint) (int, error) {
	if len(spec.Argv) == 0 {
		return -1, errors.New("empty command")
	}
	stdout, stderr := spec.Stdout, spec.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	ex, err := cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd: spec.Argv, User: spec.User, WorkingDir: spec.Workdir, Env: spec.Env, Tty: spec.TTY,
		AttachStdin: spec.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return -1, fmt.Errorf("exec: %w", err)
	}
	att, err := cli.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{Tty: spec.TTY})
	if err != nil {
		return -1, fmt.Errorf("attach: %w", err)
	}
	defer att.Close()
	if sizes != nil {
		go func() {
			for s := range sizes {
				_ = cli.ContainerExecResize(ctx, ex.ID, container.ResizeOptions{Width: s[0], Height: s[1]})
			}
		}()
	}
	written := make(chan error, 1)
	if spec.Stdin != nil {
		go func() {
			_, err := io.Copy(att.Conn, spec.Stdin)
			if cerr := att.CloseWrite(); err == nil {
				err = cerr
			}
			written <- err
		}()
	} else {
		written <- nil
	}
	copied := make(chan error, 1)
	go func() {
		var err error
		if spec.TTY {
			_, err = io.Copy(stdout, att.Reader)
		} else {
			_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
		}
		copied <- err
	}()
	select {
	case err = <-copied:
	case <-ctx.Done():
		return -1, ctx.Err()
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return -1, fmt.Errorf("read output: %w", err)
	}
	code, err := execExitCode(ctx, cli, ex.ID)
	att.Close() // unblocks a stdin copy the command never read to the end
	if err != nil {
		return -1, err
	}
	// A stdin that was fully read is fully written by now; a terminal's
	// copy waits for the next key, and is not waited for.
	if interactive(spec.Stdin) {
		return code, nil
	}
	select {
	case werr := <-written:
		if code == 0 && werr != nil {
			return -1, fmt.Errorf("write input: %w", werr)
		}
	case <-time.After(stdinGrace):
	}
	return code, nil
}

// execExitCode waits for the exit code of an exec whose output has ended:
// the engine records it a moment after.
func execExitCode(ctx context.Context, cli client.APIClient, id string) (int, error) {
	for {
		in, err := cli.ContainerExecInspect(ctx, id)
		if err != nil {
			return -1, fmt.Errorf("exec inspect: %w", err)
		}
		if !in.Running {
			return in.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// interactive reports whether r is a terminal (a character device).
func interactive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
