package daemon

// Traces: loopd receives the OpenTelemetry spans of the services it runs
// on an ingest-only listener of its own, never on the API listener (whose
// token no service may hold): POST /v1/traces and nothing else, bodies
// size-limited, a few decoded at once, spans kept in a bounded memory
// store (package trace). It listens on 127.0.0.1 and, for containers, on
// the Docker bridge's gateway address (docker0, where Docker's
// host-gateway, host.docker.internal, points): an address only this host
// and its containers reach. The API reads the store.

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/trace"
)

// DefaultOTLPAddr is where loopd receives traces unless LOOP_OTLP_ADDR
// says otherwise ("off" disables the receiver). When the port is taken,
// loopd takes a free one. A stable port keeps containers' environment,
// and so the containers, the same across daemon restarts.
const DefaultOTLPAddr = "127.0.0.1:7392"

// bridgeInterface is Docker's default bridge: its address is where
// host.docker.internal (host-gateway) points from containers.
const bridgeInterface = "docker0"

// OTLPInfo is written to $LOOP_HOME/otlp.json while loopd receives traces.
type OTLPInfo struct {
	URL          string `json:"url"`                     // http://127.0.0.1:PORT, for local processes
	ContainerURL string `json:"container_url,omitempty"` // as containers reach it; "" when they cannot
	BridgeIP     string `json:"bridge_ip,omitempty"`     // the Docker bridge address it listens on
}

// ReadOTLPInfo reads where loopd receives traces.
func ReadOTLPInfo(home string) (OTLPInfo, error) {
	var oi OTLPInfo
	b, err := os.ReadFile(filepath.Join(home, "otlp.json"))
	if err != nil {
		return oi, fmt.Errorf("loopd's trace receiver: %w (is loopd running? LOOP_OTLP_ADDR=off disables it)", err)
	}
	return oi, json.Unmarshal(b, &oi)
}

// listenOTLP opens the receiver's listeners: 127.0.0.1, and the Docker
// bridge's address when this host has one. nil when disabled.
func listenOTLP(home string, logger *slog.Logger) ([]net.Listener, *OTLPInfo, error) {
	addr := os.Getenv("LOOP_OTLP_ADDR")
	if addr == "off" {
		return nil, nil, nil
	}
	if addr == "" {
		addr = DefaultOTLPAddr
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("LOOP_OTLP_ADDR %q: want 127.0.0.1:PORT or \"off\": %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("LOOP_OTLP_ADDR %q: loopd receives traces on a loopback address only (127.0.0.1:PORT)", addr)
	}
	portFile := filepath.Join(home, "otlp.port")
	var ln net.Listener
	if os.Getenv("LOOP_OTLP_ADDR") == "" {
		// The port this home had before (a free one, when the default
		// was taken), so that containers keep their environment and are
		// adopted after a restart.
		if b, err := os.ReadFile(portFile); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p > 0 && p < 65536 {
				ln, _ = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			}
		}
	}
	if ln == nil {
		ln, err = net.Listen("tcp", addr)
		if err != nil && os.Getenv("LOOP_OTLP_ADDR") == "" {
			ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")) // the default port is taken
		}
		if err != nil {
			return nil, nil, fmt.Errorf("listen on %s: %w", addr, err)
		}
	}
	lns := []net.Listener{ln}
	port := ln.Addr().(*net.TCPAddr).Port
	if os.Getenv("LOOP_OTLP_ADDR") == "" {
		os.WriteFile(portFile, []byte(strconv.Itoa(port)+"\n"), 0o600)
	}
	info := &OTLPInfo{URL: "http://" + ln.Addr().String()}
	if ip := bridgeIP(); ip != "" {
		// The same port when free, so the URL reads the same either way.
		bln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
		if err != nil {
			bln, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
		}
		if err != nil {
			logger.Warn("traces: containers cannot export spans to loopd", "bridge", ip, "err", err)
		} else {
			lns = append(lns, bln)
			info.BridgeIP = ip
			info.ContainerURL = "http://" + bln.Addr().String()
		}
	}
	b, _ := json.Marshal(info)
	if err := writeFileAtomic(filepath.Join(home, "otlp.json"), b); err != nil {
		for _, l := range lns {
			l.Close()
		}
		return nil, nil, err
	}
	return lns, info, nil
}

// bridgeIP is the IPv4 address of Docker's default bridge on this host,
// "" without one.
func bridgeIP() string {
	ifc, err := net.InterfaceByName(bridgeInterface)
	if err != nil {
		return ""
	}
	addrs, err := ifc.Addrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}

// writeFileAtomic writes b to path (0600) through a temporary file and a
// rename: readers never see half a file.
func writeFileAtomic(path string, b []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}

// serveOTLP serves the receiver on lns until the returned stop is called.
func (d *Daemon) serveOTLP(lns []net.Listener) (stop func()) {
	srv := &http.Server{
		Handler:           trace.NewReceiver(d.traces, d.projectOfService, d.Logger.With("component", "otlp")),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	return func() {
		srv.Close()
		os.Remove(filepath.Join(d.Home, "otlp.json"))
	}
}

// projectOfService attributes spans that carry no loop.project: the one
// project up with a resource of that name, else none.
func (d *Daemon) projectOfService(service string) string {
	ps := d.upProjects()
	found := ""
	for _, p := range ps {
		if m := p.current(); m != nil && m.Resource(service) != nil {
			if found != "" {
				return "" // ambiguous
			}
			found = p.name
		}
	}
	return found
}

func (d *Daemon) traceRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/projects/{project}/traces", d.withProject(d.handleTraces))
	mux.HandleFunc("GET /v1/traces/{trace}", d.handleTrace)
}

// defaultTraceLimit is how many traces a list returns unless asked.
const defaultTraceLimit = 50

func (d *Daemon) handleTraces(w http.ResponseWriter, r *http.Request, p *project) {
	limit := defaultTraceLimit
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("limit %q: want a positive number", s), "")
			return
		}
		limit = n
	}
	res := r.URL.Query().Get("resource")
	if m := p.current(); res != "" && (m == nil || m.Resource(res) == nil) {
		writeError(w, http.StatusNotFound, fmt.Errorf("no resource %q in project %s", res, p.name), "loop status lists them")
		return
	}
	writeJSON(w, http.StatusOK, d.traces.List(p.name, res, limit))
}

func (d *Daemon) handleTrace(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("trace")
	t, ok := d.traces.Get(id)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("no trace %q", id),
			"loopd keeps the recent traces of each resource in memory: `loop traces` lists them")
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// containerOTLP is the receiver's URL as containers reach it: through
// host.docker.internal, which the Docker runtime maps to the bridge's
// gateway on every container (containerd's maps it to the project
// network's own gateway, so there the bridge address itself). "" when
// loopd does not listen there.
func (d *Daemon) containerOTLP(info *OTLPInfo) string {
	if info.ContainerURL == "" {
		if d.containerRuntime == "docker" && goruntime.GOOS != "linux" {
			// Docker Desktop: host.docker.internal reaches the host's loopback.
			u, _ := url.Parse(info.URL)
			return "http://host.docker.internal:" + u.Port()
		}
		return ""
	}
	if d.containerRuntime == "docker" {
		u, err := url.Parse(info.ContainerURL)
		if err == nil {
			return "http://host.docker.internal:" + u.Port()
		}
	}
	return info.ContainerURL
}
