package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/buildinfo"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/daemon"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/runtime/docker"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/supervise"
	"github.com/loopdev/loop/internal/telemetry"
	"github.com/loopdev/loop/internal/watch"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the versions of loop and the running loopd",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fmt.Fprintln(a.stdout, a.build.Long("loop", "API "+api.Version))
			c := api.NewClient(loophome.Socket(loophome.Dir()))
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
			defer cancel()
			if v, err := c.Version(ctx); err == nil {
				fmt.Fprintf(a.stdout, "loopd %s (API %s, pid %d)\n", v.Version, v.API, v.Pid)
			} else {
				fmt.Fprintln(a.stdout, "loopd not running")
			}
			return nil
		},
	}
}

// doctorCmd checks what loop depends on and says what to do about each
// problem.
func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the file watcher and its limits, the daemon, Docker and versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := newPrinter(a.stdout, a.color)
			bad := 0
			check := func(ok bool, what, detail string) {
				mark := pr.paint(green, "✓")
				if !ok {
					mark = pr.paint(red, "✗")
					bad++
				}
				fmt.Fprintf(a.stdout, "%s %s: %s\n", mark, what, detail)
			}
			fmt.Fprintf(a.stdout, "loop %s, %s %s/%s\n", a.version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
			wb := watch.SystemBackend()
			check(true, "file watcher", wb.Name+": "+wb.Cost)
			for _, l := range wb.Limits {
				if l.Err != nil {
					check(false, l.Name, l.Err.Error())
					continue
				}
				detail := strconv.Itoa(l.Value)
				if l.Low() {
					detail += fmt.Sprintf(" is low (under %d): %s", l.Min, l.Fix)
				}
				check(!l.Low(), l.Name, detail)
			}
			home := loophome.Dir()
			check(true, "state dir", home)
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Second)
			defer cancel()
			c := api.NewClient(loophome.Socket(home))
			if v, err := c.Version(ctx); err == nil {
				ok := v.API == api.Version
				detail := fmt.Sprintf("running, pid %d, version %s, API %s", v.Pid, v.Version, v.API)
				if !ok {
					detail += ": API mismatch, run `loop daemon stop`"
				}
				check(ok, "loopd", detail)
				if h, err := c.Health(ctx); err == nil {
					for _, p := range h.Problems {
						what := p.Component
						if p.Project != "" {
							what = p.Project + " " + what
						}
						check(false, what, p.Message)
					}
					switch {
					case h.SecretsDir == "":
					case h.SecretsInMemory:
						check(true, "file secrets", "in memory (tmpfs) at "+h.SecretsDir+", removed when loopd stops or dies")
					default:
						fmt.Fprintf(a.stdout, "%s file secrets: on disk at %s (no tmpfs here), removed when loopd stops or dies\n", pr.paint(yellow, "!"), h.SecretsDir)
					}
				}
				if st, err := c.Stats(ctx, "7d", ""); err == nil {
					printSLOs(a.stdout, pr, st.SLOs) // an SLO miss warns; it is not a broken install
					if st.StoreErrors > 0 || st.StoreError != "" {
						fmt.Fprintf(a.stdout, "%s metrics store: %d failed writes (%s): check the free space of %s\n", pr.paint(yellow, "!"), st.StoreErrors, st.StoreError, home)
					}
					printTelemetry(a.stdout, pr, st.Telemetry)
				}
			} else {
				fmt.Fprintf(a.stdout, "- loopd: not running (`loop up` starts it)\n")
			}
			status, arch, warnings := dockerStatus(ctx)
			fmt.Fprintf(a.stdout, "- docker: %s\n", status)
			for _, w := range warnings {
				// "IPv4 forwarding is disabled" means published ports never answer.
				fmt.Fprintf(a.stdout, "%s docker engine warns: %s\n", pr.paint(yellow, "!"), strings.TrimSpace(w))
			}
			if goruntime.GOOS == "linux" {
				// Only dev containers need it: a warning, not a failure.
				// Its own context: a first on-demand build takes seconds.
				exe, _ := daemonCommand()
				f, err := supervise.Find(cmd.Context(), supervise.Lookup{Home: loophome.Dir(), Arch: arch, Exe: exe})
				if err != nil {
					fmt.Fprintf(a.stdout, "%s container supervisor: %v\n", pr.paint(yellow, "!"), err)
				} else {
					fmt.Fprintf(a.stdout, "%s container supervisor: %s\n", pr.paint(green, "✓"), describeSupervisor(f))
				}
			}
			if bad > 0 {
				return &ExitError{Code: ExitFailed, Err: fmt.Errorf("doctor found %d problem(s)", bad)}
			}
			return nil
		},
	}
}

// printTelemetry says where the metrics export goes and whether it
// fails: a warning, since loopd runs on without it.
func printTelemetry(w io.Writer, pr *printer, t *api.Telemetry) {
	if t == nil {
		fmt.Fprintln(w, "- telemetry: off (nothing leaves this machine; docs/metrics.md)")
		return
	}
	names := "hashed"
	if t.ProjectNames {
		names = "in clear"
	}
	detail := fmt.Sprintf("OTLP to %s every %gs, project names %s, installation %s", t.Endpoint, t.IntervalSeconds, names, t.InstallationID)
	if t.Errors > 0 {
		fmt.Fprintf(w, "%s telemetry: %s: %d failed exports (last: %s): check that the endpoint is up\n", pr.paint(yellow, "!"), detail, t.Errors, t.LastError)
		return
	}
	fmt.Fprintf(w, "%s telemetry: %s\n", pr.paint(green, "✓"), detail)
}

// dockerStatus asks the Docker engine (the one the docker CLI would use)
// who it is and what it warns about itself; loop runs without it (local
// processes are the default runtime). arch is the engine's GOARCH (for the
// supervisor), "" when the engine did not answer.
func dockerStatus(ctx context.Context) (status, arch string, warnings []string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cli, host, err := docker.Connect()
	if err != nil {
		return fmt.Sprintf("not usable (%v; only needed for containers)", err), "", nil
	}
	defer cli.Close()
	ping, err := cli.Ping(ctx)
	if err != nil {
		return "not reachable at " + host + " (only needed for containers)", "", nil
	}
	if v, err := cli.ServerVersion(ctx); err == nil {
		arch = v.Arch
	}
	info, err := cli.Info(ctx)
	if err != nil {
		return fmt.Sprintf("reachable at %s, API %s; its info failed: %v", host, ping.APIVersion, err), arch, nil
	}
	return fmt.Sprintf("reachable at %s, API %s (engine %s, %s/%s)", host, ping.APIVersion, info.ServerVersion, info.OSType, info.Architecture), arch, info.Warnings
}

// describeSupervisor says which supervisor doctor found and how.
func describeSupervisor(f supervise.Found) string {
	static := "no"
	if f.Static {
		static = "yes"
	}
	s := fmt.Sprintf("%s (%s: %s), static: %s, arch: linux/%s", f.Path, f.From, f.Origin, static, f.Arch)
	if f.From == supervise.FromBuild {
		s += fmt.Sprintf(", built in %s", f.Took.Round(time.Millisecond))
	}
	return s
}

func (a *app) daemonCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run, stop or inspect loopd",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "run",
		Short: "Run loopd in the foreground (what `loop up` starts in the background)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunDaemon(cmd.Context(), a.build)
		},
	}, &cobra.Command{
		Use:   "stop",
		Short: "Stop loopd and every service it runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			sock := loophome.Socket(loophome.Dir())
			c := api.NewClient(sock)
			v, _ := c.Version(cmd.Context())
			if err := c.Shutdown(cmd.Context()); err != nil {
				fmt.Fprintln(a.stdout, "loopd is not running")
				return nil
			}
			// Return once loopd has exited (its services are stopped by
			// then), not merely once its socket is gone: a binary upgrade or
			// a test may check for the process next.
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				_, err := os.Stat(sock)
				if os.IsNotExist(err) && (v.Pid == 0 || !process.Running(v.Pid)) {
					fmt.Fprintln(a.stdout, "loopd stopped")
					return nil
				}
				time.Sleep(20 * time.Millisecond)
			}
			return fmt.Errorf("loopd (pid %d) still runs 30s after it was asked to stop: see %s, or kill it", v.Pid, filepath.Join(loophome.Dir(), "loopd.log"))
		},
	})
	return cmd
}

// daemonMemoryLimit is loopd's soft limit on the Go runtime's memory
// (GOMEMLIMIT overrides it): the collector works harder near it instead of
// letting the heap grow to twice what is live (GOGC=100) during a log
// flood, which took loopd past 300 MiB. It is soft: loopd never fails for
// it, it only collects more often.
const daemonMemoryLimit = 200 << 20

// RunDaemon runs loopd in the foreground until SIGINT or SIGTERM, logging
// to stderr. cmd/loopd and `loop daemon run` both call it; bi is the
// build it logs and reports.
func RunDaemon(ctx context.Context, bi buildinfo.Info) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(daemonMemoryLimit)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	logger.Info("loopd build", "version", bi.String(), "build", bi.Long("loopd", "API "+api.Version))
	// The telemetry export is configured once, at start (the config
	// files' telemetry section under LOOP_TELEMETRY_*; docs/config.md).
	var tel telemetry.Config
	if cfg, err := config.Load(os.Getenv); err != nil {
		logger.Error("config: telemetry export off", "err", err)
	} else {
		for _, w := range cfg.Warnings {
			logger.Warn("config", "warning", w)
		}
		tel = cfg.Telemetry.Export()
	}
	d := &daemon.Daemon{Home: loophome.Dir(), Version: bi.String(), Logger: logger, Telemetry: tel}
	if err := os.MkdirAll(filepath.Dir(d.Home), 0o755); err != nil {
		return err
	}
	return d.Run(ctx)
}
