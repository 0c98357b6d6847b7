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

// App holds what every command shares; package full's commands get it
// too.
type App struct {
	Version  string // the build's identity (buildinfo.Info.String), compared with loopd's
	Build    buildinfo.Info
	Loopfile string // -f
	Project  string // -p
	Stdout   io.Writer
	Stderr   io.Writer
	Color    bool
	full     bool     // the real commands of handedOff are here (loopd's binary)
	argv     []string // what Main was given, for a hand-off
}

// Tools builds the real commands of handedOff, keyed by their path
// ("mcp", "daemon run"): package full's Tools. The thin `loop` has none.
type Tools func(a *App) map[string]*cobra.Command

// NewRoot builds the loop command tree for the build bi. With tools nil
// (the thin binary), the commands of handedOff are stubs that hand their
// command line to loopd's binary.
func NewRoot(bi buildinfo.Info, tools Tools) *cobra.Command {
	return newRoot(bi, tools, nil)
}

func newRoot(bi buildinfo.Info, tools Tools, argv []string) *cobra.Command {
	a := &App{Version: bi.String(), Build: bi, Stdout: os.Stdout, Stderr: os.Stderr, full: tools != nil, argv: argv}
	root := &cobra.Command{
		Use:   "loop",
		Short: "loop: the local inner loop — run, watch, hot-reload and check your services",
		Long: `loop runs a project's services and tasks from its Loopfile, watches the
source tree and restarts exactly what a change affects, in milliseconds.

Start with 'loop up' in a directory that has a Loopfile.`,
		Version:       a.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			a.Stdout, a.Stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			a.Color = colorEnabled(a.Stdout)
		},
	}
	root.SetVersionTemplate(bi.Long("loop", "API "+api.Version) + "\n")
	root.PersistentFlags().StringVarP(&a.Project, "project", "p", "", "project name (default: the project of the Loopfile)")
	root.AddCommand(
		a.upCmd(), a.downCmd(), a.statusCmd(), a.logsCmd(), a.waitCmd(), a.ciCmd(), a.errorsCmd(),
		a.actionCmd("trigger", "Run a resource now (manual trigger, or re-run a task)"),
		a.actionCmd("restart", "Restart a resource now"),
		a.actionCmd("enable", "Enable a disabled resource and start it"),
		a.actionCmd("disable", "Stop a resource and keep it stopped"),
		a.versionCmd(), a.daemonCmd(),
		a.openCmd(),
		a.statsCmd(),
	)
	a.addHandedOff(root, tools)
	for _, c := range root.Commands() {
		switch c.Name() {
		case "version", "doctor", "daemon", "help", "completion", "stats", "feedback":
		case "logs": // -f is --follow there, as in docker and kubectl
			c.Flags().StringVar(&a.Loopfile, "file", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
		default:
			c.Flags().StringVarP(&a.Loopfile, "file", "f", "", "path to the Loopfile (default: ./Loopfile, searched upward)")
		}
	}
	return root
}

// FindLoopfile resolves -f, or looks for a Loopfile from the working
// directory upward.
func (a *App) FindLoopfile() (string, error) {
	if a.Loopfile != "" {
		p, err := filepath.Abs(a.Loopfile)
		if err != nil {
			return "", err
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("loopfile %s: %w", a.Loopfile, err)
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

// Client connects to loopd, starting it when it is not running.
func (a *App) Client(ctx context.Context) (*api.Client, error) {
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
	if v.Version != a.Version {
		fmt.Fprintf(a.Stderr, "loop: note: loopd is version %s, loop is %s (run `loop daemon stop` to restart it)\n", v.Version, a.Version)
	}
	return c, nil
}

// ExistingClient connects to a running loopd without starting one.
func (a *App) ExistingClient(ctx context.Context) (*api.Client, error) {
	c := api.NewClient(loophome.Socket(loophome.Dir()))
	if _, err := c.Version(ctx); err != nil {
		return nil, errors.New("loopd is not running: run `loop up` first")
	}
	return c, nil
}

// Running connects to a running loopd and resolves the project that the
// command is about.
func (a *App) Running(ctx context.Context) (*api.Client, string, error) {
	c, err := a.ExistingClient(ctx)
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
func (a *App) startDaemon(ctx context.Context, home string) error {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", home, err)
	}
	bin, err := a.daemonBinary(ctx)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(home, "loopd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open loopd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(bin)
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

// projectName resolves the project a command is about: -p, else the
// project whose Loopfile is found from here.
func (a *App) projectName(ctx context.Context, c *api.Client) (string, error) {
	if a.Project != "" {
		return a.Project, nil
	}
	lf, err := a.FindLoopfile()
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
