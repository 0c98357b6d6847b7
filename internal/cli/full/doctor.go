package full

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
	"github.com/loopdev/loop/internal/cli"
	"github.com/loopdev/loop/internal/config"
	"github.com/loopdev/loop/internal/daemon"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/runtime/docker"
	"github.com/loopdev/loop/internal/supervise"
	"github.com/loopdev/loop/internal/telemetry"
	"github.com/loopdev/loop/internal/watch"
)

// doctorCmd checks what loop depends on and says what to do about each
// problem.
func (a *app) doctorCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Check the file watcher and its limits, the daemon, Docker and versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pr := cli.NewPrinter(a.Stdout, a.Color)
			bad := 0
			check := func(ok bool, what, detail string) {
				mark := pr.Paint(cli.Green, "✓")
				if !ok {
					mark = pr.Paint(cli.Red, "✗")
					bad++
				}
				fmt.Fprintf(a.Stdout, "%s %s: %s\n", mark, what, detail)
			}
			fmt.Fprintf(a.Stdout, "loop %s, %s %s/%s\n", a.Version, goruntime.Version(), goruntime.GOOS, goruntime.GOARCH)
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
						fmt.Fprintf(a.Stdout, "%s file secrets: on disk at %s (no tmpfs here), removed when loopd stops or dies\n", pr.Paint(cli.Yellow, "!"), h.SecretsDir)
					}
				}
				if st, err := c.Stats(ctx, "7d", ""); err == nil {
					cli.PrintSLOs(a.Stdout, pr, st.SLOs) // an SLO miss warns; it is not a broken install
					if st.StoreErrors > 0 || st.StoreError != "" {
						fmt.Fprintf(a.Stdout, "%s metrics store: %d failed writes (%s): check the free space of %s\n", pr.Paint(cli.Yellow, "!"), st.StoreErrors, st.StoreError, home)
					}
					printTelemetry(a.Stdout, pr, st.Telemetry)
				}
			} else {
				fmt.Fprintf(a.Stdout, "- loopd: not running (`loop up` starts it)\n")
			}
			status, arch, warnings := dockerStatus(ctx)
			fmt.Fprintf(a.Stdout, "- docker: %s\n", status)
			for _, w := range warnings {
				// "IPv4 forwarding is disabled" means published ports never answer.
				fmt.Fprintf(a.Stdout, "%s docker engine warns: %s\n", pr.Paint(cli.Yellow, "!"), strings.TrimSpace(w))
			}
			if goruntime.GOOS == "linux" {
				// Only dev containers need it: a warning, not a failure.
				// Its own context: a first on-demand build takes seconds.
				exe, _ := os.Executable()
				f, err := supervise.Find(cmd.Context(), supervise.Lookup{Home: loophome.Dir(), Arch: arch, Exe: exe})
				if err != nil {
					fmt.Fprintf(a.Stdout, "%s container supervisor: %v\n", pr.Paint(cli.Yellow, "!"), err)
				} else {
					fmt.Fprintf(a.Stdout, "%s container supervisor: %s\n", pr.Paint(cli.Green, "✓"), describeSupervisor(f))
				}
			}
			if bad > 0 {
				return &cli.ExitError{Code: cli.ExitFailed, Err: fmt.Errorf("doctor found %d problem(s)", bad)}
			}
			return nil
		},
	}
}

// printTelemetry says where the metrics export goes and whether it
// fails: a warning, since loopd runs on without it.
func printTelemetry(w io.Writer, pr *cli.Printer, t *api.Telemetry) {
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
		fmt.Fprintf(w, "%s telemetry: %s: %d failed exports (last: %s): check that the endpoint is up\n", pr.Paint(cli.Yellow, "!"), detail, t.Errors, t.LastError)
		return
	}
	fmt.Fprintf(w, "%s telemetry: %s\n", pr.Paint(cli.Green, "✓"), detail)
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

func (a *app) daemonRunCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run loopd in the foreground (what `loop up` starts in the background)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunDaemon(cmd.Context(), a.Build)
		},
	}
}
