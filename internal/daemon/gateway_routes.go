package daemon

// loopd's local gateway (docs/gateway.md): route() declarations of every
// project are served at http://HOST.localhost:PORT on 127.0.0.1, by
// internal/gateway, which holds requests while their target restarts.
// gateway() is the only writer of the route table and of the readiness
// states; it re-reads every project's routes on project events (up,
// reload, down) and feeds readiness from resource events.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/gateway"
	"github.com/loopdev/loop/internal/loophome"
	"github.com/loopdev/loop/internal/model"
)

// DefaultGatewayPort is where the gateway listens unless LOOP_GATEWAY_PORT
// says otherwise ("off" disables it; a taken default falls back to a free
// port). LOOP_GATEWAY_TIMEOUT sets the gateway's default response timeout
// (gatewayTimeout).
const DefaultGatewayPort = 7391

// gateway runs loopd's local gateway (route()) until ctx ends.
func (d *Daemon) gateway(ctx context.Context) {
	log := d.Logger.With("component", "gateway")
	ln, err := listenGateway()
	if err != nil {
		log.Warn("no gateway: route() URLs are not served", "err", err)
		return
	}
	if ln == nil {
		return // LOOP_GATEWAY_PORT=off
	}
	port := ln.Addr().(*net.TCPAddr).Port
	states := gateway.NewStates()
	g := gateway.New(states)
	g.Port = port // a Host with another port is not for this gateway
	if g.Timeout, err = gatewayTimeout(); err != nil {
		log.Warn("gateway timeout: using the default", "err", err, "default", gateway.DefaultTimeout.String())
		g.Timeout = gateway.DefaultTimeout
	}
	defer g.Close()
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-served
		os.Remove(loophome.GatewayFile(d.Home))
	}()
	info := loophome.GatewayInfo{URL: "http://127.0.0.1:" + strconv.Itoa(port), Port: port}
	if b, err := json.Marshal(info); err == nil {
		tmp := loophome.GatewayFile(d.Home) + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err == nil {
			os.Rename(tmp, loophome.GatewayFile(d.Home))
		}
	}
	log.Info("gateway listening", "url", info.URL)

	_, events, _ := d.hub.Subscribe(ctx, "", ^uint64(0)>>1)
	d.syncGateway(g, states)
	tick := time.NewTicker(2 * time.Second) // a safety net; events do the work
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			d.syncGateway(g, states)
		case ev, ok := <-events:
			if !ok { // fell behind: resubscribe and read everything again
				_, events, _ = d.hub.Subscribe(ctx, "", ^uint64(0)>>1)
				d.syncGateway(g, states)
				continue
			}
			if ev.Kind == api.EventResource && ev.Resource != nil {
				states.Set(gatewayTarget(ev.Project, ev.Resource.Name), targetStatus(ev.Resource))
				continue
			}
			d.syncGateway(g, states)
		}
	}
}

// listenGateway listens on 127.0.0.1:$LOOP_GATEWAY_PORT; nil when "off".
func listenGateway() (net.Listener, error) {
	v := os.Getenv("LOOP_GATEWAY_PORT")
	if v == "off" {
		return nil, nil
	}
	port := DefaultGatewayPort
	if v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return nil, fmt.Errorf("LOOP_GATEWAY_PORT %q: want a port (0-65535) or \"off\"", v)
		}
		port = p
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil && v == "" {
		ln, err = net.Listen("tcp", "127.0.0.1:0") // the default port is taken
	}
	if err != nil {
		return nil, fmt.Errorf("listen on 127.0.0.1:%d: %w", port, err)
	}
	return ln, nil
}

// gatewayTimeout is $LOOP_GATEWAY_TIMEOUT: how long a target may take to
// start answering a request whose route sets no timeout= (unset:
// gateway.DefaultTimeout).
func gatewayTimeout() (time.Duration, error) {
	v := os.Getenv("LOOP_GATEWAY_TIMEOUT")
	if v == "" {
		return gateway.DefaultTimeout, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > model.MaxRouteTimeout {
		return 0, fmt.Errorf("LOOP_GATEWAY_TIMEOUT %q: want a duration above 0 and at most %s, e.g. \"1m\"", v, model.MaxRouteTimeout)
	}
	return d, nil
}

// gatewayTarget is the readiness key of a project's resource.
func gatewayTarget(project, resource string) string { return project + "/" + resource }

// syncGateway sets the route table from every project's current model and
// the readiness of each target from its project's snapshot.
func (d *Daemon) syncGateway(g *gateway.Gateway, states *gateway.States) {
	ps := d.upProjects()
	var routes []gateway.Route
	targets := map[string]gateway.Status{}
	for _, p := range ps {
		m := p.current()
		if m == nil || len(m.Routes) == 0 {
			continue
		}
		snap := map[string]*api.Resource{}
		for _, r := range p.snapshot().Resources {
			snap[r.Name] = &r
		}
		for _, r := range m.Routes {
			t := gatewayTarget(p.name, r.Resource)
			routes = append(routes, gateway.Route{Host: r.Host, Path: r.Path, Target: t, Port: r.Port, Timeout: r.Timeout})
			if res, ok := snap[r.Resource]; ok {
				targets[t] = targetStatus(res)
			} else {
				targets[t] = gateway.Status{Ready: true}
			}
		}
	}
	for t, st := range targets {
		states.Set(t, st)
	}
	states.Forget(func(t string) bool { _, ok := targets[t]; return ok })
	g.SetRoutes(routes)
}

// targetStatus is what the gateway needs of a resource's state: ready, or
// unresponsive and why (its requests are held, then answered 504).
func targetStatus(r *api.Resource) gateway.Status {
	st := gateway.Status{Ready: r.State == api.StateReady}
	if r.State == api.StateUnresponsive {
		st.Unresponsive, st.Reason = true, r.Reason
	}
	return st
}
