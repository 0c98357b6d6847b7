package gateway

// Sending one attempt of a request with its response deadline, and the
// answers for a request that could not be proxied.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"time"
)

// NoResponseError is a target that had the whole request and sent no
// response within the route's timeout.
type NoResponseError struct {
	After time.Duration
}

func (e *NoResponseError) Error() string {
	return fmt.Sprintf("no response within %s", e.After)
}

// timeout is the time route's target has to answer.
func (g *Gateway) timeout(route Route) time.Duration {
	if route.Timeout > 0 {
		return route.Timeout
	}
	if g.Timeout > 0 {
		return g.Timeout
	}
	return DefaultTimeout
}

// send makes one attempt at req through tr. Its clock starts once the
// request is written (so a slow upload is not cut short) and stops at the
// response's headers (so a stream may run for ever); when it runs out the
// attempt is cancelled and the error is a *NoResponseError.
func (g *Gateway) send(tr http.RoundTripper, req *http.Request, route Route) (*http.Response, error) {
	after := g.timeout(route)
	ctx, cancel := context.WithCancel(req.Context())
	d := &deadline{}
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				d.arm(after, cancel)
			}
		},
	})
	resp, err := tr.RoundTrip(req.WithContext(ctx))
	if d.disarm() {
		if resp != nil {
			resp.Body.Close()
		}
		cancel()
		return nil, &NoResponseError{After: after}
	}
	if err != nil {
		cancel()
	}
	// On success ctx lives on with the response body; it ends with the
	// incoming request's context.
	return resp, err
}

// deadline cancels an attempt that has no response in time. arm runs on
// the transport's goroutine, disarm on the caller's.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	over  bool // disarmed: the attempt returned
	fired bool
}

func (d *deadline) arm(after time.Duration, cancel context.CancelFunc) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.over || d.timer != nil {
		return
	}
	d.timer = time.AfterFunc(after, func() {
		d.mu.Lock()
		fire := !d.over
		d.fired = d.fired || fire
		d.mu.Unlock()
		if fire {
			cancel()
		}
	})
}

// disarm stops the clock and reports whether it had run out.
func (d *deadline) disarm() (fired bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.over = true
	if d.timer != nil {
		d.timer.Stop()
	}
	return d.fired
}

// proxyError answers a request that could not be proxied.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	st := r.Context().Value(ctxKey{}).(*reqState)
	rt := st.route
	name := resourceName(rt.Target)
	target := fmt.Sprintf("%s (127.0.0.1:%d)", name, rt.Port)
	var noResp *NoResponseError
	switch {
	case errors.As(err, &noResp):
		answer(w, http.StatusGatewayTimeout, "", fmt.Sprintf(
			"%s: no response from %s within %s; the service may be stuck: `loop logs %s` (if it is slow on purpose, raise route(..., timeout=...))",
			rt.Host, target, noResp.After, name))
	case errors.Is(err, ErrHoldTimeout) && st.status.Unresponsive:
		answer(w, http.StatusGatewayTimeout, "1", fmt.Sprintf(
			"%s: %s is unresponsive (waited %s for it): %s", rt.Host, target, g.HoldTimeout, unresponsiveReason(st.status.Reason, name)))
	case errors.Is(err, ErrHoldTimeout):
		answer(w, http.StatusServiceUnavailable, "1", fmt.Sprintf(
			"%s: %s is not ready after %s; see `loop status` and `loop logs %s`", rt.Host, target, g.HoldTimeout, name))
	case errors.Is(err, ErrTooManyHeld):
		answer(w, http.StatusServiceUnavailable, "1", fmt.Sprintf(
			"%d requests are already waiting for their targets; retry shortly", g.MaxHeld))
	case errors.Is(err, context.Canceled):
		w.WriteHeader(499) // the client went away; nobody reads this
	default:
		answer(w, http.StatusBadGateway, "", fmt.Sprintf("%s: %s failed: %v", rt.Host, target, err))
	}
}

func unresponsiveReason(reason, name string) string {
	if reason == "" {
		return fmt.Sprintf("it stopped answering its readiness probe; loop leaves it running: `loop restart %s` restarts it, `loop logs %s` shows its output", name, name)
	}
	return reason
}

// answer writes the gateway's own error page: one line, plain text.
func answer(w http.ResponseWriter, code int, retryAfter, msg string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	refuse(w, code, "loop gateway: "+msg+"\n")
}

func resourceName(target string) string {
	if i := strings.LastIndexByte(target, '/'); i >= 0 {
		return target[i+1:]
	}
	return target
}
