package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/kube"
	"github.com/loopdev/loop/internal/loopfile"
	"github.com/loopdev/loop/internal/model"
	rkube "github.com/loopdev/loop/internal/runtime/kube"
)

func (d *Daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/version", d.handleVersion)
	mux.HandleFunc("GET /v1/health", d.handleHealth)
	mux.HandleFunc("POST /v1/shutdown", d.handleShutdown)
	mux.HandleFunc("GET /v1/projects", d.handleProjects)
	mux.HandleFunc("POST /v1/projects", d.handleUp)
	mux.HandleFunc("GET /v1/projects/{project}", d.withProject(d.handleProject))
	mux.HandleFunc("DELETE /v1/projects/{project}", d.handleDown)
	mux.HandleFunc("POST /v1/projects/{project}/wait", d.withProject(d.handleWait))
	mux.HandleFunc("GET /v1/projects/{project}/errors", d.withProject(d.handleErrors))
	mux.HandleFunc("POST /v1/projects/{project}/resources/{resource}/{action}", d.withProject(d.handleAction))
	mux.HandleFunc("POST /v1/projects/{project}/actions/{action}", d.withProject(d.handleActions))
	mux.HandleFunc("GET /v1/projects/{project}/resources/{resource}/container", d.withProject(d.handleContainer))
	mux.HandleFunc("GET /v1/projects/{project}/logs", d.handleLogs)
	mux.HandleFunc("GET /v1/events", d.handleEvents)
	d.statsRoutes(mux)
	d.catalogRoutes(mux)
	d.portalAPIRoutes(mux)
	d.traceRoutes(mux)
	return mux
}

// httpRoutes is what the 127.0.0.1 listener serves (behind guard): the API
// of the socket, and the MCP endpoint (closed by Run on shutdown).
func (d *Daemon) httpRoutes(mcp http.Handler) http.Handler {
	mux := http.NewServeMux()
	v1 := d.routes()
	mux.Handle("/v1/", v1)
	mux.Handle("GET /metrics", v1) // Prometheus, behind the token
	mux.Handle("/mcp", mcp)
	d.portalRoutes(mux)
	return mux
}

// writeJSON writes a reply with its Content-Length, so a client reads it
// into one buffer of the right size (a 10,000-resource snapshot is 3 MB).
func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		b.Reset()
		code = http.StatusInternalServerError
		json.NewEncoder(&b).Encode(api.ErrorReply{Error: "encode the reply: " + err.Error(), Hint: "a bug in loopd: loopd.log may say more"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, code int, err error, hint string) {
	writeJSON(w, code, api.ErrorReply{Error: err.Error(), Hint: hint})
}

func (d *Daemon) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.VersionInfo{Version: d.Version, API: api.Version, Pid: os.Getpid()})
}

// handleHealth reports what is wrong with loopd's own work: store and log
// writes that fail (they are retried), and where file secrets live.
func (d *Daemon) handleHealth(w http.ResponseWriter, r *http.Request) {
	h := api.Health{Status: api.HealthOK, SecretsDir: d.secrets, SecretsInMemory: d.secretsInMemory}
	if d.store == nil {
		h.Problems = append(h.Problems, api.Problem{Component: "store",
			Message: "no metrics store (" + filepath.Join(d.Home, "loop.db") + " could not be opened): see loopd.log; metrics and history are off until loopd restarts"})
	} else if p, bad := d.recorder().storeProblem(d.Home); bad {
		h.Problems = append(h.Problems, p)
	}
	for _, p := range d.snapshots() {
		for _, pr := range p.Problems {
			pr.Project = p.Name
			h.Problems = append(h.Problems, pr)
		}
	}
	if len(h.Problems) > 0 {
		h.Status = api.HealthDegraded
	}
	writeJSON(w, http.StatusOK, h)
}

func (d *Daemon) handleShutdown(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "shutting down"})
	d.once.Do(func() { close(d.shutdown) })
}

// upProjects are the projects up now (copied under the lock, in no
// particular order).
func (d *Daemon) upProjects() []*project {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := make([]*project, 0, len(d.projects))
	for _, p := range d.projects {
		ps = append(ps, p)
	}
	return ps
}

func (d *Daemon) snapshots() []api.Project { return d.snapshotsOf(false) }

// snapshotsOf is snapshots, without their resources when brief.
func (d *Daemon) snapshotsOf(brief bool) []api.Project {
	ps := d.upProjects()
	out := make([]api.Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p.snapshotOf(brief))
	}
	slices.SortFunc(out, func(a, b api.Project) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}

// handleProjects lists the projects' snapshots; ?brief=1 leaves their
// resources out.
func (d *Daemon) handleProjects(w http.ResponseWriter, r *http.Request) {
	b := r.URL.Query().Get("brief")
	writeJSON(w, http.StatusOK, d.snapshotsOf(b == "1" || b == "true"))
}

func (d *Daemon) handleUp(w http.ResponseWriter, r *http.Request) {
	var req api.UpRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode up request: %w", err), "")
		return
	}
	p, err := d.up(r.Context(), req)
	if err != nil {
		var lerr *loopfile.Error
		if errors.As(err, &lerr) {
			le := loopfileError(err)
			writeJSON(w, http.StatusUnprocessableEntity, struct {
				api.ErrorReply
				Loopfile *api.Error `json:"loopfile_error"`
			}{api.ErrorReply{Error: err.Error(), Hint: lerr.Hint}, le})
			return
		}
		code := http.StatusInternalServerError
		if errors.Is(err, engine.ErrUnknownResource) || errors.Is(err, errUnknownLabel) || errors.Is(err, errBadSelector) {
			code = selectionCode(err)
		}
		writeError(w, code, err, "")
		return
	}
	writeJSON(w, http.StatusOK, p.snapshot())
}

type projectHandler func(w http.ResponseWriter, r *http.Request, p *project)

func (d *Daemon) withProject(h projectHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("project")
		p, ok := d.project(name)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Errorf("project %q is not up", name), "run `loop up` in its directory")
			return
		}
		h(w, r, p)
	}
}

// handleProject answers a project's snapshot; ?resource=NAME and
// ?label=LABEL (repeatable) keep only the resources they select.
func (d *Daemon) handleProject(w http.ResponseWriter, r *http.Request, p *project) {
	snap, err := p.selected(selectorOf(r))
	if err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	w.Header().Set(api.ResourcesHeader, strconv.Itoa(len(snap.Resources)))
	writeJSON(w, http.StatusOK, snap)
}

// handleErrors lists the diagnostics of every resource of a project.
func (d *Daemon) handleErrors(w http.ResponseWriter, r *http.Request, p *project) {
	ds := []api.Diagnostic{}
	for _, res := range p.snapshot().Resources {
		ds = append(ds, res.Diagnostics...)
	}
	writeJSON(w, http.StatusOK, ds)
}

func (d *Daemon) handleDown(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	found, err := d.down(name)
	if !found {
		writeError(w, http.StatusNotFound, fmt.Errorf("project %q is not up", name), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, fmt.Errorf("project %s is down, but not everything it ran could be removed: %w", name, err),
			"loopd.log has the details")
		return
	}
	if v := r.URL.Query().Get("volumes"); v == "1" || v == "true" {
		if vr, ok := d.containers.(volumeRemover); ok {
			if err := vr.RemoveVolumes(r.Context(), name); err != nil {
				writeError(w, http.StatusInternalServerError, fmt.Errorf("remove volumes of %s: %w", name, err), "")
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "down"})
}

// volumeRemover is a container runtime that can remove a project's named
// volumes (loop down --volumes).
type volumeRemover interface {
	RemoveVolumes(ctx context.Context, project string) error
}

// handleContainer tells `loop exec`/`loop shell` (and `loop db` for a
// container-mode database) how to enter a container.
func (d *Daemon) handleContainer(w http.ResponseWriter, r *http.Request, p *project) {
	name := r.PathValue("resource")
	var res *api.Resource
	for _, v := range p.snapshot().Resources {
		if v.Name == name {
			res = &v
		}
	}
	spec := p.current().Resource(name)
	switch {
	case res == nil || spec == nil:
		writeError(w, http.StatusNotFound, fmt.Errorf("no resource %q in project %s", name, p.name), "")
		return
	case spec.Workload != nil:
		d.handlePods(w, p, spec, res)
		return
	case spec.Container == nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s is a %s, not a container", name, spec.Kind), "loop exec and loop shell enter container resources and Kubernetes workloads")
		return
	case res.Container == "":
		writeError(w, http.StatusConflict, fmt.Errorf("%s has no running container (%s: %s)", name, res.State, res.Reason), "wait for it: loop wait")
		return
	}
	c := spec.Container
	ci := api.ContainerInfo{ID: res.Container, Runtime: d.containerRuntime, User: c.RemoteUser, Workdir: c.Workdir, StateDir: p.stateDir}
	if ci.User == "" {
		ci.User = c.User
	}
	for k, v := range c.RemoteEnv {
		ci.Env = append(ci.Env, k+"="+v)
	}
	slices.Sort(ci.Env)
	if c.Lifecycle != nil && c.Lifecycle.PostAttach != nil {
		ci.PostAttach = c.Lifecycle.PostAttach.Argv
	}
	writeJSON(w, http.StatusOK, ci)
}

func (d *Daemon) handleAction(w http.ResponseWriter, r *http.Request, p *project) {
	action := r.PathValue("action")
	if !slices.Contains(actions, action) {
		writeError(w, http.StatusNotFound, fmt.Errorf("%w %q", errUnknownAction, action), actionsHint)
		return
	}
	name := r.PathValue("resource")
	if err := p.act(r.Context(), action, name); err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	// The snapshot after, with the resource acted on only: an action on
	// one resource answers O(1), whatever the size of the project.
	snap, err := p.selected(api.Selector{Resources: []string{name}})
	if err != nil {
		writeError(w, selectionCode(err), err, "")
		return
	}
	w.Header().Set(api.ResourcesHeader, strconv.Itoa(len(snap.Resources)))
	writeJSON(w, http.StatusOK, snap)
}

// handleWait answers "has everything settled after my edit?": it first
// makes the watcher hand over every change made before the call, then
// waits for the engine to settle.
func (d *Daemon) handleWait(w http.ResponseWriter, r *http.Request, p *project) {
	timeout := 5 * time.Minute
	if s := r.URL.Query().Get("timeout"); s != "" {
		t, err := time.ParseDuration(s)
		if err != nil || t <= 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("timeout %q: want a duration like 30s", s), "")
			return
		}
		timeout = t
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	if err := p.flush(ctx); err != nil && ctx.Err() == nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	res, err := p.engine.Wait(ctx)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err, "")
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// handlePods tells `loop exec`/`loop shell` where a Kubernetes workload's
// pods are: the CLI connects to the cluster itself, with the kubeconfig of
// the project's `loop up`, and enters the newest running pod.
func (d *Daemon) handlePods(w http.ResponseWriter, p *project, spec *model.Resource, res *api.Resource) {
	wl := spec.Workload
	if wl.Kind == "" {
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s holds the objects no workload claims; it has no pods", spec.Name), "loop exec enters a workload's resource: loop status lists them")
		return
	}
	env := p.environ()
	c, err := kube.Connect(p.current().Cluster, env)
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("exec in %s: %w", spec.Name, err), "")
		return
	}
	info := api.PodsInfo{Context: c.Context, Namespace: c.Namespace, Selector: rkube.Selector(p.name, spec.Name), Container: wl.Container}
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "KUBECONFIG="); ok {
			info.Kubeconfig = filepath.SplitList(v)
		}
	}
	writeJSON(w, http.StatusOK, api.ContainerInfo{ID: res.Container, Runtime: "kubernetes", Workdir: wl.Workdir, StateDir: p.stateDir, Pods: &info})
}
