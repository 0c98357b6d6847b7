package full

import (
	"context"
	"fmt"
	"os"

	"github.com/docker/docker/client"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/containerd"
	"github.com/loopdev/loop/internal/runtime/docker"
)

func (a *app) execCmd() *cobra.Command {
	var noTTY bool
	cmd := &cobra.Command{
		Use:   "exec RESOURCE -- CMD [ARGS...]",
		Short: "Run a command in a container resource (as its remoteUser, in its workspace)",
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.enter(cmd.Context(), args[0], args[1:], !noTTY && cli.IsTerminal(os.Stdin), false)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return a.ResourceNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
		},
	}
	cmd.Flags().BoolVarP(&noTTY, "no-tty", "T", false, "no terminal, even when stdin is one")
	return cmd
}

func (a *app) shellCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "shell RESOURCE",
		Short: "Open a shell in a container resource (runs postAttachCommand first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.enter(cmd.Context(), args[0], []string{"/bin/sh", "-c", `if command -v bash >/dev/null; then exec bash -l; fi; exec sh -l`}, cli.IsTerminal(os.Stdin), true)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			return a.ResourceNames(cmd.Context()), cobra.ShellCompDirectiveNoFileComp
		},
	}
}

// enter runs argv in a resource's container through its engine (the
// Docker engine, or containerd), as the resource's remote user in its
// workspace with its remote env.
func (a *app) enter(ctx context.Context, resource string, argv []string, tty, attach bool) error {
	c, name, err := a.Running(ctx)
	if err != nil {
		return err
	}
	info, err := c.Container(ctx, name, resource)
	if err != nil {
		return err
	}
	var run func(argv []string, tty bool) (int, error)
	switch info.Runtime {
	case "docker":
		dc, _, err := docker.Connect()
		if err != nil {
			return err
		}
		defer dc.Close()
		// A dev container's user environment (userEnvProbe, remoteEnv with
		// ${containerEnv:VAR}) was resolved in it when loopd started it.
		env, ok, err := docker.RemoteEnv(ctx, dc, info.ID)
		if err != nil {
			return fmt.Errorf("exec in %s: %w", resource, err)
		}
		if ok {
			info.Env = env
		}
		run = func(argv []string, tty bool) (int, error) { return dockerExec(ctx, dc, info, argv, tty) }
	case "containerd":
		rt := &containerd.Runtime{}
		defer rt.Close()
		run = func(argv []string, tty bool) (int, error) { return containerdExec(ctx, rt, info, argv, tty) }
	case "kubernetes":
		run = func(argv []string, tty bool) (int, error) { return podExec(ctx, resource, info, argv, tty) }
	default:
		return fmt.Errorf("loop exec supports the docker, containerd and kubernetes runtimes; %s runs on %s", resource, info.Runtime)
	}
	if attach && len(info.PostAttach) > 0 {
		code, err := run(info.PostAttach, false)
		if err != nil {
			return fmt.Errorf("postAttachCommand: %w", err)
		}
		if code != 0 {
			return &cli.ExitError{Code: code, Err: fmt.Errorf("postAttachCommand exited %d", code)}
		}
	}
	code, err := run(argv, tty)
	if err != nil {
		return err
	}
	if code != 0 {
		return &cli.ExitError{Code: code, Err: fmt.Errorf("%s exited %d", argv[0], code)}
	}
	return nil
}

// containerdExec runs argv in a container on containerd, which the CLI
// reaches directly as it reaches the Docker engine (the socket and
// namespace from LOOP_CONTAINERD_ADDRESS and LOOP_CONTAINERD_NAMESPACE,
// as loopd's).
func containerdExec(ctx context.Context, rt *containerd.Runtime, info api.ContainerInfo, argv []string, tty bool) (int, error) {
	if tty {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), st)
		}
	}
	return rt.Exec(ctx, info.ID, runtime.ExecSpec{
		Argv: argv, User: info.User, Workdir: info.Workdir, Env: info.Env, TTY: tty,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	})
}

// dockerExec runs argv in a container on the Docker engine
// (docker.Exec), the terminal raw and resized with the local one.
func dockerExec(ctx context.Context, dc *client.Client, info api.ContainerInfo, argv []string, tty bool) (int, error) {
	var sizes chan [2]uint
	if tty {
		if st, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), st)
		}
		sizes = make(chan [2]uint, 1)
		defer termSizes(func(w, h int) {
			select {
			case sizes <- [2]uint{uint(w), uint(h)}:
			default:
			}
		}, func() { close(sizes) })()
	}
	code, err := docker.Exec(ctx, dc, info.ID, runtime.ExecSpec{
		Argv: argv, User: info.User, Workdir: info.Workdir, Env: info.Env, TTY: tty,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
	}, sizes)
	if err != nil {
		return code, fmt.Errorf("exec in %s: %w", info.ID[:min(12, len(info.ID))], err)
	}
	return code, nil
}

// termSizes calls send with the terminal's size now and on every
// resize (when it changed), until the returned stop is called; then it
// calls done.
func termSizes(send func(w, h int), done func()) (stop func()) {
	lastW, lastH := -1, -1
	size := func() {
		if w, h, err := term.GetSize(int(os.Stdout.Fd())); err == nil && (w != lastW || h != lastH) {
			lastW, lastH = w, h
			send(w, h)
		}
	}
	size()
	winch, tick, stopResizes := resizeEvents()
	quit, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		defer done()
		for {
			select {
			case <-winch:
				size()
			case <-tick:
				size()
			case <-quit:
				return
			}
		}
	}()
	return func() {
		stopResizes()
		close(quit)
		<-exited
	}
}
