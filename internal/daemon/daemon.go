// Package daemon is loopd: one per user, many projects. It serves the
// HTTP+JSON API of package api over a Unix socket (0600 in a 0700
// directory under LOOP_HOME), keeps a registry of running projects — each
// with its engine, watcher and logs — and numbers every state change as an
// event that clients stream and resume by sequence number.
//
// Layout under the state root (Home):
//
//	loopd.sock                 the API socket
//	loopd.pid, loopd.log       the daemon's pid and its own log
//	otlp.json, otlp.port       where loopd receives traces; its port, kept for the next start
//	procs/                     process groups loopd started (reaped after a crash)
//	projects/DIR-HASH/logs/    each project's persisted logs, keyed by its Loopfile path
//
// File secrets live elsewhere, in memory where the OS allows (package
// secret: FilesRoot), under the same DIR-HASH key.
package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	oteltrace "go.opentelemetry.io/otel/trace"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/loophome"
	mcpserver "github.com/loopdev/loop/internal/mcp"
	"github.com/loopdev/loop/internal/runtime"
	"github.com/loopdev/loop/internal/runtime/containerd"
	"github.com/loopdev/loop/internal/runtime/docker"
	"github.com/loopdev/loop/internal/runtime/kube"
	"github.com/loopdev/loop/internal/runtime/process"
	"github.com/loopdev/loop/internal/sandbox"
	"github.com/loopdev/loop/internal/secret"
	"github.com/loopdev/loop/internal/store"
	"github.com/loopdev/loop/internal/telemetry"
	"github.com/loopdev/loop/internal/trace"
)

// logDir is where a project's logs persist: keyed by its Loopfile's path,
// so two projects whose directories share a name never share logs, and a
// project finds its own after a daemon restart whatever name it gets.
func logDir(home, loopfile string) string {
	return filepath.Join(home, "projects", projectKey(loopfile), "logs")
}

// projectKey names a project's directories: its Loopfile's directory
// name and a hash of the Loopfile's path.
func projectKey(loopfile string) string {
	sum := sha256.Sum256([]byte(loopfile))
	return filepath.Base(filepath.Dir(loopfile)) + "-" + hex.EncodeToString(sum[:4])
}

// Daemon is loopd.
type Daemon struct {
	Home    string
	Version string
	Logger  *slog.Logger
	// Telemetry turns on the OTLP export of the platform metrics (off
	// when its Endpoint is empty; package telemetry).
	Telemetry telemetry.Config

	hub     *hub
	store   *store.Store // events, metrics, ship records, feedback ($LOOP_HOME/loop.db); nil if it cannot open
	runtime *process.Runtime
	// containers runs container resources (nil: none available);
	// containerRuntime names it ("docker", "containerd").
	containers       runtime.Runtime
	containerRuntime string
	// kube applies Kubernetes workloads (nil: k8s resources fail).
	kube runtime.Runtime
	// secrets is the root of the projects' file secrets (secret.FilesRoot);
	// secretsInMemory says whether it is memory-backed.
	secrets         string
	secretsInMemory bool

	traces      *trace.Store       // recent traces: what services export, and loopd's own work
	traceExport engine.TraceExport // where services export traces (the receiver's URLs)
	tracer      oteltrace.Tracer   // records loopd's own work on a change into traces

	evals  *sandbox.Pool            // evaluates the projects' Loopfiles, one evaluator started ahead
	logins *loginCodes              // the portal's one-time login codes
	rec    atomic.Pointer[recorder] // set while record runs; read by the stats handlers
	tel    *telemetry.Exporter      // nil: no export; set before the recorder starts, then only read

	mu       sync.Mutex
	projects map[string]*project      // by name
	starting map[string]*starting     // projects being started (first `loop up`), by name
	downs    map[string]chan struct{} // projects being taken down, by name: closed when done
	closing  bool
	shutdown chan struct{} // closed by POST /v1/shutdown
	once     sync.Once
}

// ErrRunning means another loopd already serves this home.
var ErrRunning = errors.New("loopd is already running")

// Run serves until ctx ends or a client asks for shutdown, then stops every
// project's services and returns.
func (d *Daemon) Run(ctx context.Context) error {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.hub = newHub()
	d.logins = newLoginCodes()
	d.projects = map[string]*project{}
	d.starting = map[string]*starting{}
	d.downs = map[string]chan struct{}{}
	d.shutdown = make(chan struct{})
	if err := os.MkdirAll(d.Home, 0o700); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if err := os.Chmod(d.Home, 0o700); err != nil {
		return fmt.Errorf("secure state dir: %w", err)
	}
	release, err := lockHome(d.Home)
	if err != nil {
		return err
	}
	defer release()
	st, err := store.Open(filepath.Join(d.Home, "loop.db"))
	if err != nil {
		d.Logger.Warn("no metrics store: loopd runs without it", "err", err)
	} else {
		d.store = st
		defer st.Close()
	}
	// Stopped after the recorder (defers run last first): the events it
	// takes from the ring on the way out are exported too.
	telCtx, stopTel := context.WithCancel(context.Background())
	telDone := make(chan struct{})
	d.tel = d.startTelemetry()
	go func() { defer close(telDone); d.tel.Run(telCtx) }()
	defer func() { stopTel(); <-telDone }()
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone := make(chan struct{})
	go func() { defer close(recDone); d.record(recCtx) }()
	defer func() { stopRec(); <-recDone }()
	gwCtx, stopGw := context.WithCancel(context.Background())
	gwDone := make(chan struct{})
	go func() { defer close(gwDone); d.gateway(gwCtx) }()
	defer func() { stopGw(); <-gwDone }()

	// Closed on the way out, after stopAll: no evaluation runs then, and
	// the idle evaluator is gone before Run returns.
	d.evals = sandbox.NewPool()
	defer d.evals.Close()

	procs := filepath.Join(d.Home, "procs")
	if err := process.ReapOrphans(procs, d.Logger); err != nil {
		d.Logger.Warn("reap orphans", "err", err)
	}
	// The reaper sidecar (this same binary) kills every process group
	// the moment loopd dies, however it dies.
	reaper, err := process.StartReaper([]string{selfExe(), process.ReaperArg})
	if err != nil {
		d.Logger.Warn("no reaper: grandchildren of services may outlive a killed loopd until it restarts", "err", err)
	}
	defer reaper.Close()
	d.resetSecrets(reaper)
	defer os.RemoveAll(d.secrets) // after stopAll: every project is down
	d.runtime = &process.Runtime{Logger: d.Logger, StateDir: procs, Reaper: reaper}
	d.containers, d.containerRuntime = containerRuntime(d.Logger, d.Home)
	d.kube = kubeRuntime(d.Logger, d.Home, d.containers)

	d.traces = trace.NewStore(trace.DefaultLimits)
	tp := trace.NewProvider(d.traces)
	defer tp.Shutdown(context.Background())
	d.tracer = tp.Tracer("github.com/loopdev/loop/internal/engine")
	olns, oinfo, oerr := listenOTLP(d.Home, d.Logger)
	if oerr != nil {
		d.Logger.Warn("no trace receiver: services' spans are not collected", "err", oerr)
	}
	if olns != nil {
		defer d.serveOTLP(olns)()
		d.traceExport = engine.TraceExport{Process: oinfo.URL, Container: d.containerOTLP(oinfo)}
		d.Logger.Info("loopd receiving traces", "otlp", oinfo.URL, "containers", d.traceExport.Container)
	}

	sock := loophome.Socket(d.Home)
	ln, err := listenUnix(sock)
	if err != nil {
		return err
	}
	os.WriteFile(filepath.Join(d.Home, "loopd.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)

	serveErr := make(chan error, 2)
	hln, hinfo, herr := listenHTTP(d.Home)
	if herr != nil {
		d.Logger.Warn("no HTTP listener", "err", herr)
	}
	var hsrv *http.Server
	if hln != nil {
		// The MCP endpoint talks to this daemon through its own socket.
		mcp := mcpserver.NewHandler(api.NewClient(sock), mcpserver.Options{Version: d.Version})
		defer mcp.Close()
		hsrv = &http.Server{Handler: guard(d.httpRoutes(mcp), hinfo), ReadHeaderTimeout: 10 * time.Second}
		go func() { serveErr <- hsrv.Serve(hln) }()
		d.Logger.Info("loopd listening", "http", hinfo.URL)
	}

	// The socket last: once a client can connect, http.json is in place.
	srv := &http.Server{Handler: d.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() { serveErr <- srv.Serve(ln) }()
	d.Logger.Info("loopd listening", "socket", sock, "version", d.Version)

	select {
	case <-ctx.Done():
	case <-d.shutdown:
	case err = <-serveErr:
	}
	d.stopAll()
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	if hsrv != nil {
		hsrv.Shutdown(sctx)
		os.Remove(loophome.HTTPFile(d.Home))
	}
	os.Remove(sock)
	os.Remove(filepath.Join(d.Home, "loopd.pid"))
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// startTelemetry starts the OTLP export when it is configured; a bad
// configuration is logged and leaves it off (nil).
func (d *Daemon) startTelemetry() *telemetry.Exporter {
	if !d.Telemetry.Enabled() {
		return nil
	}
	opts := telemetry.Options{Home: d.Home, Version: d.Version, Logger: d.Logger, PolicyExceptions: d.exceptionCounts}
	if d.store != nil {
		opts.Ships = d.store
	}
	x, err := telemetry.New(d.Telemetry, opts)
	if err != nil {
		d.Logger.Error("telemetry export off", "err", err)
		return nil
	}
	return x
}

// resetSecrets empties the file-secrets root (no project is up when loopd
// starts, so whatever is there was left by a loopd that was killed) and
// has the reaper remove it when loopd dies. Where memory-backed storage is
// unusable, the root falls back to the state dir.
func (d *Daemon) resetSecrets(reaper *process.Reaper) {
	// Versions before the memory-backed root kept them under projects/.
	if old, err := filepath.Glob(filepath.Join(d.Home, "projects", "*", "secrets")); err == nil {
		for _, dir := range old {
			os.RemoveAll(dir)
		}
	}
	d.secrets, d.secretsInMemory = secret.FilesRoot(d.Home)
	if err := secret.ResetRoot(d.secrets); err != nil {
		d.Logger.Warn("file secrets: memory-backed dir unusable, using the state dir", "err", err)
		d.secrets, d.secretsInMemory = filepath.Join(d.Home, "secrets"), false
		if err := secret.ResetRoot(d.secrets); err != nil {
			d.Logger.Error("file secrets: no usable dir: secret(file=) fails", "err", err)
		}
	}
	if err := reaper.RemoveOnExit(d.secrets); err != nil {
		d.Logger.Warn("file secrets outlive a killed loopd until it restarts", "err", err)
	}
}

// containerRuntime picks the runtime for container resources:
// LOOP_CONTAINER_RUNTIME=containerd selects containerd (images already
// present there); the default is Docker (any engine the client reaches:
// DOCKER_HOST, Docker contexts). Neither connects before first use, so a
// missing engine only fails the container resources, with a clear error.
func containerRuntime(logger *slog.Logger, home string) (runtime.Runtime, string) {
	if os.Getenv("LOOP_CONTAINER_RUNTIME") == "containerd" {
		return &containerd.Runtime{Logger: logger}, "containerd"
	}
	return docker.New(logger, home), "docker"
}

// kubeRuntime is the runtime of Kubernetes workloads. Their images are
// built with Docker (the container runtime's engine when that is Docker)
// and imported into the cluster. Nothing connects before first use.
func kubeRuntime(logger *slog.Logger, home string, containers runtime.Runtime) runtime.Runtime {
	d, ok := containers.(*docker.Runtime)
	if !ok {
		d = docker.New(logger, home)
	}
	return &kube.Runtime{Logger: logger, Home: home, Images: d.Images()}
}

// selfExe names this binary for re-execution: /proc/self/exe on Linux, so
// that a `go run` binary deleted after the daemon started still works.
func selfExe() string {
	if goruntime.GOOS == "linux" {
		return "/proc/self/exe"
	}
	exe, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return exe
}

// listenUnix takes the socket, refusing when a live daemon holds it and
// replacing a stale socket file left by a crash.
func listenUnix(sock string) (net.Listener, error) {
	if max := loophome.MaxSocketPath(goruntime.GOOS); len(sock) > max {
		return nil, fmt.Errorf("socket path %s is %d bytes, too long for a Unix socket (at most %d): set LOOP_HOME to a shorter directory", sock, len(sock), max)
	}
	if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w on %s", ErrRunning, sock)
	}
	os.Remove(sock)
	old := syscallUmask(0o177)
	ln, err := net.Listen("unix", sock)
	syscallUmask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", sock, err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("secure %s: %w", sock, err)
	}
	return ln, nil
}

// stopAll stops every project, sweeps what each left, and waits for the
// `loop down`s in flight to finish theirs.
func (d *Daemon) stopAll() {
	d.mu.Lock()
	d.closing = true
	ps := d.projects
	d.projects = map[string]*project{}
	var waits []chan struct{}
	for _, s := range d.starting {
		waits = append(waits, s.done) // their starters see closing, stop and sweep them
		s.cancel()
	}
	for _, done := range d.downs {
		waits = append(waits, done)
	}
	d.mu.Unlock()
	defer func() {
		for _, done := range waits {
			<-done
		}
	}()
	var wg sync.WaitGroup
	for name, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.stop()
			d.sweep(name) // logged: nobody waits for a reply
		}()
	}
	wg.Wait()
}

// sweepTimeout bounds the sweep that ends `loop down` and daemon stop
// (retries while containers are being removed or the network still has
// endpoints).
const sweepTimeout = 30 * time.Second

func (d *Daemon) project(name string) (*project, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.projects[name]
	return p, ok
}

// errDownWhileStarting is what `loop up` gets when a `loop down` of the
// same project came while it was starting.
var errDownWhileStarting = errors.New("project brought down (`loop down`) while it was starting")
