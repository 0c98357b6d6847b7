// Package probe checks whether a service is ready: an HTTP GET that answers
// 2xx or 3xx, a TCP port that accepts a connection, or a command that exits
// 0. New turns a model.Probe into a Checker; Wait polls one until it passes.
//
// An HTTP probe made within a traced change passes the trace on as a W3C
// traceparent header.
//
// Every check is bounded by the probe's timeout and starts from scratch:
// HTTP keep-alives are off, so a restarted server is never probed over a
// connection to its previous incarnation, and an exec probe runs in its own
// process group that is killed as a whole when it times out.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/propagation"

	"github.com/loopdev/loop/internal/model"
)

// Checker runs one readiness check; nil means ready.
type Checker interface {
	Check(ctx context.Context) error
}

// New returns the Checker for p. dir and env are the resource's working
// directory and complete environment, used by exec probes.
func New(p *model.Probe, dir string, env []string) Checker {
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = model.DefaultProbeTimeout
	}
	switch p.Kind {
	case model.ProbeHTTP:
		return &httpChecker{url: p.URL, timeout: timeout}
	case model.ProbeTCP:
		return &tcpChecker{addr: p.Addr, timeout: timeout}
	case model.ProbeExec:
		return &execChecker{argv: p.Cmd, dir: dir, env: env, timeout: timeout}
	default:
		return errChecker{fmt.Errorf("probe: unknown kind %q (want http, tcp or exec)", p.Kind)}
	}
}

type errChecker struct{ err error }

func (c errChecker) Check(context.Context) error { return c.err }

// transport is shared by all HTTP probes. Keep-alives are off so each check
// dials anew; proxies from the environment are ignored (probes target the
// developer's machine).
var transport = &http.Transport{
	Proxy:             nil,
	DialContext:       (&net.Dialer{}).DialContext,
	DisableKeepAlives: true,
}

var client = &http.Client{
	Transport: transport,
	// A redirect already proves the server is up; never follow it (it
	// might point at another host).
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type httpChecker struct {
	url     string
	timeout time.Duration
}

func (c *httpChecker) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("http probe %s: %w", c.url, err)
	}
	req.Header.Set("User-Agent", "loop-probe")
	// Within loopd's trace of a change (the "ready" step), the request
	// carries it: a traced service's span of the probe nests under it.
	propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("http probe %s: %w", c.url, timeoutErr(err, c.timeout))
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return &StatusError{URL: c.url, Code: resp.StatusCode, Status: resp.Status}
	}
	return nil
}

// StatusError is an HTTP probe's answer outside 2xx and 3xx.
type StatusError struct {
	URL    string
	Code   int
	Status string // "503 Service Unavailable"
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("http probe %s: status %s", e.URL, e.Status)
}

type tcpChecker struct {
	addr    string
	timeout time.Duration
}

func (c *tcpChecker) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return fmt.Errorf("tcp probe %s: %w", c.addr, timeoutErr(err, c.timeout))
	}
	conn.Close()
	return nil
}

// ErrTimeout marks a check that did not finish within the probe timeout.
var ErrTimeout = errors.New("probe timed out")

func timeoutErr(err error, d time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s", ErrTimeout, d)
	}
	return err
}
