// Package cli implements the `loop` command: a thin client of loopd that
// finds the project's Loopfile, starts the daemon on demand and renders
// what the daemon reports for a terminal (colour only on a TTY without
// NO_COLOR) or as JSON.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/loophome"
)

// ExitError carries a specific exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes.
const (
	ExitFailed  = 1 // a resource failed, or the command could not do its job
	ExitUsage   = 2 // bad flags or arguments
	ExitTimeout = 3 // not settled within the timeout
)

// app holds what every command shares.
type app struct {
	version  string // the build's identity (buildinfo.Info.String), compared with loopd's
	build    buildinfo.Info
	loopfile string // -f
	project  string // -p
	stdout   io.Writer
	stderr   io.Writer
	color    bool
}

// NewRoot builds the loop command tree for the build bi.
func NewRoot(bi buildinfo.Info) *cobra.Command {
	a := &app{version: bi.String(), build: bi, stdout: os.Stdout, stderr: os.Stderr}
	root := &cobra.Command{
		Use:   "loop",
		Short: "loop: the local inner loop — run, watch, hot-reload and check your services",
		Long: `loop runs a project's services and tasks from its Loopfile, watches the
source tree and restarts exactly what a change affects, in milliseconds.

Start with 'loop up' in a directory that has a Loopfile.`,
		Version:       a.version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			a.stdout, a.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			a.color = colorEnabled(a.stdout)
		},
	}
	root.SetVersionTemplate(bi.Long("loop", "API "+api.Version) + "\n")
	root.PersistentFlags().StringVarP(&a.project, "project", "p", "", "project name (default: the project of the Loopfile)")
	root.AddCommand(
		a.upCmd(), a.downCmd(), a.statusCmd(), a.logsCmd(), a.waitCmd(), a.ciCmd(), a.errorsCmd(),
		a.tracesCmd(), a.traceCmd(),
		a.actionCmd("trigger", "Run a resource now (manual trigger, or re-run a task)"),
		a.actionCmd("restart", "Restart a resource now"),
		a.actionCmd("enable", "Enable a disabled resource and start it"),
		a.actionCmd("disable", "Stop a resource and keep it stopped"),
		a.execCmd(), a.shellCmd(),
		a.lspCmd(),
		a.doctorCmd(), a.versionCmd(), a.daemonCmd(),
		a.mcpCmd(),
		a.shipCmd(),
		a.openCmd(),
		a.dbCmd(),
		a.initCmd(),
		a.newCmd(),
		a.statsCmd(), a.feedbackCmd(),
		a.catalogCmd(),
		a.configCmd(),
	)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "version", "doctor", "daemon", "help", "completion", "stats", "feedback":
		case "logs": // -f is --follow there, as in docker and kubectl
			c.Flags().StringVar(&a.loopfile, "file", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
		default:
			c.Flags().StringVarP(&a.loopfile, "file", "f", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
		}
	}
	return root
}

// findLoopfile resolves -f, or looks for a Loopfile from the working
// directory upward.
func (a *app) findLoopfile() (string, error) {
	if a.loopfile != "" {
		p, err := filepath.Abs(a.loopfile)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("loopfile %s: %w", a.loopfile, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "Loopfile")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Loopfile here or in any parent directory: create one (see docs/loopfile.md) or pass -f PATH")
		}
		dir = parent
	}
}

// client connects to loopd, starting it when it is not running.
func (a *app) client(ctx context.Context) (*api.Client, error) {
	home := loophome.Dir()
	c := api.NewClient(loophome.Socket(home))
	v, err := c.Version(ctx)
	if err != nil {
		if err := a.startDaemon(ctx, home); err != nil {
			return nil, err
		}
		if v, err = c.Version(ctx); err != nil {
			return nil, fmt.Errorf("talk to loopd: %w", err)
		}
	}
	if v.API != api.Version {
		return nil, fmt.Errorf("loopd (pid %d) speaks API %s but this loop speaks API %s: run `loop daemon stop` and try again", v.Pid, v.API, api.Version)
	}
	if v.Version != a.version {
		fmt.Fprintf(a.stderr, "loop: note: loopd is version %s, loop is %s (run `loop daemon stop` to restart it)\n", v.Version, a.version)
	}
	return c, nil
}

// existingClient connects to a running loopd without starting one.
func (a *app) existingClient(ctx context.Context) (*api.Client, error) {
	c := api.NewClient(loophome.Socket(loophome.Dir()))
	if _, err := c.Version(ctx); err != nil {
		return nil, errors.New("loopd is not running: run `loop up` first")
	}
	return c, nil
}

// running connects to a running loopd and resolves the project that the
// command is about.
func (a *app) running(ctx context.Context) (*api.Client, string, error) {
	c, err := a.existingClient(ctx)
	if err != nil {
		return nil, "", err
	}
	name, err := a.projectName(ctx, c)
	if err != nil {
		return nil, "", err
	}
	return c, name, nil
}

// startDaemon runs loopd in the background, detached from the terminal so
// it outlives it, and waits for its socket.
func (a *app) startDaemon(ctx context.Context, home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", home, err)
	}
	bin, args := daemonCommand()
	logf, err := os.OpenFile(filepath.Join(home, "loopd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open loopd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = detached()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start loopd (%s): %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	c := api.NewClient(loophome.Socket(home))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := c.Version(ctx); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("loopd exited at start (%v): %s(see %s)", err, lastLine(filepath.Join(home, "loopd.log")), filepath.Join(home, "loopd.log"))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return fmt.Errorf("loopd did not answer within 10s: see %s", filepath.Join(home, "loopd.log"))
}

// daemonCommand prefers a loopd binary next to loop and falls back to
// this binary's own `daemon run` (so `go run ./cmd/loop up` works without
// installing anything): both are the same daemon.
func daemonCommand() (string, []string) {
	self, err := os.Executable()
	if err != nil {
		return os.Args[0], []string{"daemon", "run"}
	}
	sibling := filepath.Join(filepath.Dir(self), "loopd"+exeSuffix)
	if fi, err := os.Stat(sibling); err == nil && !fi.IsDir() {
		return sibling, nil
	}
	return self, []string{"daemon", "run"}
}

// projectName resolves the project a command is about: -p, else the
// project whose Loopfile is found from here.
func (a *app) projectName(ctx context.Context, c *api.Client) (string, error) {
	if a.project != "" {
		return a.project, nil
	}
	lf, err := a.findLoopfile()
	if err != nil {
		return "", err
	}
	ps, err := c.ProjectList(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		if p.Loopfile == lf {
			return p.Name, nil
		}
	}
	return "", fmt.Errorf("the project of %s is not up: run `loop up`", lf)
}

// lastLine returns the last line of a log file followed by a space, or "".
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1] + " "
}
