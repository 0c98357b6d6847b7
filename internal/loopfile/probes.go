package loopfile

// The probes plugin: http_probe(), tcp_probe() and exec_probe() build
// readiness probes for service(readiness=...).

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/loopdev/loop/internal/model"
)

var probesPlugin = &plugin{builtins: []*builtin{httpProbeBuiltin, tcpProbeBuiltin, execProbeBuiltin}}

// probeValue is the Starlark value of a readiness probe. It is immutable:
// each resource that uses it gets its own copy of the *model.Probe.
type probeValue struct{ probe model.Probe }

var _ starlark.Value = (*probeValue)(nil)

func (p *probeValue) String() string {
	switch p.probe.Kind {
	case model.ProbeHTTP:
		return fmt.Sprintf("http_probe(%q)", p.probe.URL)
	case model.ProbeTCP:
		return fmt.Sprintf("tcp_probe(%q)", p.probe.Addr)
	}
	return fmt.Sprintf("exec_probe(%q)", strings.Join(p.probe.Cmd, " "))
}
func (p *probeValue) Type() string         { return "probe" }
func (p *probeValue) Freeze()              {}
func (p *probeValue) Truth() starlark.Bool { return true }
func (p *probeValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: probe")
}

// probe reads a readiness= argument: None or a *_probe() value.
func (a *args) probe(name string) *model.Probe {
	v, ok := a.get(name)
	if !ok || a.err != nil {
		return nil
	}
	p, ok := v.(*probeValue)
	if !ok {
		a.fail(name, `use http_probe("http://localhost:8080/healthz"), tcp_probe("localhost:5432") or exec_probe("...")`,
			"got %s, want a probe", v.Type())
		return nil
	}
	c := p.probe
	c.Cmd = append([]string(nil), c.Cmd...)
	return &c
}

// readProbe reads the period= and timeout= arguments every probe shares.
func readProbe(a *args, kind model.ProbeKind) (*probeValue, error) {
	p := model.Probe{
		Kind:    kind,
		Period:  a.duration("period", model.DefaultProbePeriod),
		Timeout: a.duration("timeout", model.DefaultProbeTimeout),
	}
	if a.err == nil && p.Period == 0 {
		a.fail("period", `use e.g. "100ms"`, "must be positive")
	}
	if a.err == nil && p.Timeout == 0 {
		a.fail("timeout", `use e.g. "1s"`, "must be positive")
	}
	return &probeValue{probe: p}, a.err
}

var httpProbeBuiltin = &builtin{
	Name: "http_probe", Returns: "probe", fn: builtinHTTPProbe,
	Doc: "A readiness probe for `readiness=`: ready on a 2xx or 3xx answer.",
	Params: []Param{
		{"url", "", "the URL to GET"},
		pPeriod, pTimeout,
	},
}

// http_probe(url, period="100ms", timeout="1s"): ready on a 2xx or 3xx answer.
func builtinHTTPProbe(_ *starlark.Thread, a *args) (starlark.Value, error) {
	raw := a.str("url", "")
	if a.err == nil {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			a.fail("url", `use e.g. "http://localhost:8080/healthz"`, "invalid http URL %q", raw)
		}
	}
	p, err := readProbe(a, model.ProbeHTTP)
	if err != nil {
		return nil, err
	}
	p.probe.URL = raw
	return p, nil
}

var tcpProbeBuiltin = &builtin{
	Name: "tcp_probe", Returns: "probe", fn: builtinTCPProbe,
	Doc: "A readiness probe for `readiness=`: ready when `addr` accepts a connection.",
	Params: []Param{
		{"addr", "", "`host:port`"},
		pPeriod, pTimeout,
	},
}

// tcp_probe(addr, period="100ms", timeout="1s"): ready when addr accepts.
func builtinTCPProbe(_ *starlark.Thread, a *args) (starlark.Value, error) {
	addr := a.str("addr", "")
	if a.err == nil {
		_, port, err := net.SplitHostPort(addr)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65535 {
			a.fail("addr", `use host:port, e.g. "localhost:5432"`, "invalid address %q", addr)
		}
	}
	p, err := readProbe(a, model.ProbeTCP)
	if err != nil {
		return nil, err
	}
	p.probe.Addr = addr
	return p, nil
}

var execProbeBuiltin = &builtin{
	Name: "exec_probe", Returns: "probe", fn: builtinExecProbe,
	Doc: "A readiness probe for `readiness=`: ready when `cmd` exits 0 (inside the container for container resources).",
	Params: []Param{
		{"cmd", "", "a string (`sh -c`) or an argv list, run in the resource's dir and env"},
		pPeriod, pTimeout,
	},
}

// exec_probe(cmd, period="100ms", timeout="1s"): ready when cmd exits 0.
func builtinExecProbe(_ *starlark.Thread, a *args) (starlark.Value, error) {
	cmd := a.cmd("cmd")
	p, err := readProbe(a, model.ProbeExec)
	if err != nil {
		return nil, err
	}
	p.probe.Cmd = cmd
	return p, nil
}
