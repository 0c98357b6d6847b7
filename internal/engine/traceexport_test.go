package engine

import (
	"slices"
	"strings"
	"testing"

	"github.com/loopdev/loop/internal/model"
)

func TestEngine_spec_telemetry(t *testing.T) {
	e := &Engine{cfg: Config{Project: "shop a", BaseEnv: []string{"OTEL_SERVICE_NAME=from-shell", "HOME=/h"},
		TraceExport: TraceExport{Process: "http://127.0.0.1:7392", Container: "http://host.docker.internal:7392"}}}
	for _, tc := range []struct {
		name string
		spec *model.Resource
		want []string
	}{
		{"process", &model.Resource{Name: "api", Kind: model.KindService}, []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:7392", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
			"OTEL_SERVICE_NAME=api", "OTEL_RESOURCE_ATTRIBUTES=loop.project=shop%20a,loop.resource=api", "HOME=/h"}},
		{"container", &model.Resource{Name: "web", Kind: model.KindContainer, Container: &model.Container{}}, []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://host.docker.internal:7392", "OTEL_SERVICE_NAME=web",
			"OTEL_RESOURCE_ATTRIBUTES=loop.project=shop%20a,loop.resource=web"}},
		{"the Loopfile wins", &model.Resource{Name: "api", Kind: model.KindTask, Env: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SERVICE_NAME": "mine",
			"OTEL_RESOURCE_ATTRIBUTES": "team=x,loop.resource=other"}}, []string{
			"OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318", "OTEL_SERVICE_NAME=mine",
			"OTEL_RESOURCE_ATTRIBUTES=team=x,loop.resource=other,loop.project=shop%20a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &res{spec: tc.spec}
			spec, err := e.spec(r)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !slices.Contains(spec.Env, w) {
					t.Errorf("env lacks %s:\n%s", w, strings.Join(spec.Env, "\n"))
				}
			}
			if tc.spec.Env != nil && len(tc.spec.Env) != 3 {
				t.Errorf("the model's env was changed: %v", tc.spec.Env)
			}
		})
	}
	e.cfg.TraceExport = TraceExport{}
	spec, _ := e.spec(&res{spec: &model.Resource{Name: "api", Kind: model.KindService}})
	if slices.ContainsFunc(spec.Env, func(kv string) bool { return strings.HasPrefix(kv, "OTEL_EXPORTER") }) {
		t.Errorf("no receiver, yet an endpoint was injected: %v", spec.Env)
	}
}
