// What a resource's run takes from the host: its environment and its
// ports, checked free before it starts.

package engine

import (
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
