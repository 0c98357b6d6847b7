// What a resource's run takes from the host: its environment and its
// ports, checked free before it starts.

package engine

import (
	"maps"
	"net/url"
	"strings"

	"github.com/loopdev/loop/internal/model"
	"github.com/loopdev/loop/internal/runtime"
)

// env is the environment of r's command: the engine's BaseEnv with
// resEnv (the resource's, secrets resolved) over it, one entry a name.
func (e *Engine) env(r *res, resEnv map[string]string) []string {
	env := make([]string, 0, len(e.cfg.BaseEnv)+len(resEnv))
	idx := map[string]int{}
	add := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			env[i] = kv
			return
		}
		idx[k] = len(env)
		env = append(env, kv)
	}
	for _, kv := range e.cfg.BaseEnv {
		add(kv)
	}
	for k, v := range resEnv {
		add(k + "=" + v)
	}
	return env
}

// portsFree checks that r's ports are free.
func portsFree(r *model.Resource) error {
	ports := make([]model.PortMap, len(r.Ports))
	for i, p := range r.Ports {
		ports[i] = model.PortMap{Container: p, Protocol: "tcp"}
	}
	return runtime.PortsFree("", ports, ": stop what listens there or change the port in the Loopfile (ports=, or port= of a database())")
}

// TraceExport is where a project's resources export OpenTelemetry traces:
// loopd's receiver, as local processes and as containers reach it ("":
// not injected).
type TraceExport struct {
	Process   string // http://127.0.0.1:PORT
	Container string // e.g. http://host.docker.internal:PORT
}

// The OpenTelemetry SDK settings loop injects.
const (
	envOTLPEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPProtocol = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envServiceName  = "OTEL_SERVICE_NAME"
	envResAttrs     = "OTEL_RESOURCE_ATTRIBUTES"
)

// withTraceExport returns resEnv (a resource's own, which wins) with the
// OpenTelemetry SDK pointed at loopd's receiver: endpoint, protocol,
// service name, and the resource attributes that attribute its spans to
// this project's resource (added to a Loopfile's own
// OTEL_RESOURCE_ATTRIBUTES unless it sets those keys). resEnv is not
// modified. endpoint "" leaves resEnv as it is.
func (e *Engine) withTraceExport(r *res, resEnv map[string]string, endpoint string) map[string]string {
	if endpoint == "" {
		return resEnv
	}
	env := make(map[string]string, len(resEnv)+4)
	maps.Copy(env, resEnv)
	setDefault := func(k, v string) {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	setDefault(envOTLPEndpoint, endpoint)
	setDefault(envOTLPProtocol, "http/protobuf")
	setDefault(envServiceName, r.spec.Name)
	attrs := env[envResAttrs]
	for _, kv := range [][2]string{{"loop.project", e.cfg.Project}, {"loop.resource", r.spec.Name}} {
		if strings.Contains(","+attrs, ","+kv[0]+"=") {
			continue
		}
		if attrs != "" {
			attrs += ","
		}
		attrs += kv[0] + "=" + url.PathEscape(kv[1]) // values are percent-encoded (W3C baggage)
	}
	env[envResAttrs] = attrs
	return env
}
