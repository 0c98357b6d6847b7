package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/engine"
	"github.com/loopdev/loop/internal/logs"
	"github.com/loopdev/loop/internal/loopfile"
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
	mux.HandleFunc("GET /v1/projects/{project}/resources/{resource}/container", d.withProject(d.handleContainer))
	mux.HandleFunc("GET /v1/projects/{project}/logs", d.handleLogs)
	mux.HandleFunc("GET /v1/events", d.handleEvents)
	d.statsRoutes(mux)
	d.catalogRoutes(mux)
	d.portalAPIRoutes(mux)
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

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
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

func (d *Daemon) snapshots() []api.Project {
	d.mu.Lock()
	ps := make([]*project, 0, len(d.projects))
	for _, p := range d.projects {
		ps = append(ps, p)
	}
	d.mu.Unlock()
	out := make([]api.Project, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p.snapshot())
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

func (d *Daemon) handleProjects(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, d.snapshots())
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
		if errors.Is(err, engine.ErrUnknownResource) {
			code = http.StatusNotFound
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

func (d *Daemon) handleProject(w http.ResponseWriter, r *http.Request, p *project) {
	writeJSON(w, http.StatusOK, p.snapshot())
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
	case spec.Container == nil:
		writeError(w, http.StatusBadRequest, fmt.Errorf("%s is a %s, not a container", name, spec.Kind), "loop exec and loop shell enter container resources")
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
	name := r.PathValue("resource")
	var err error
	switch action := r.PathValue("action"); action {
	case "trigger":
		err = p.engine.Trigger(r.Context(), name)
	case "restart":
		err = p.engine.Restart(r.Context(), name)
	case "enable":
		err = p.engine.Enable(r.Context(), name)
	case "disable":
		err = p.engine.Disable(r.Context(), name)
	default:
		writeError(w, http.StatusNotFound, fmt.Errorf("unknown action %q", action), "use trigger, restart, enable or disable")
		return
	}
	if err != nil {
		code := http.StatusConflict
		if errors.Is(err, engine.ErrUnknownResource) {
			code = http.StatusNotFound
		}
		writeError(w, code, err, "")
		return
	}
	writeJSON(w, http.StatusOK, p.snapshot())
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

// handleLogs serves a project's logs as newline-delimited JSON. With
// follow=1 it keeps streaming new lines. A project that is not up is read
// from its persisted logs.
func (d *Daemon) handleLogs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	q := r.URL.Query()
	query := logs.Query{Resources: q["resource"]}
	if s := q.Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Errorf("tail %q: want a number of lines", s), "")
			return
		}
		query.Tail = n
	}
	if s := q.Get("since"); s != "" {
		t, err := parseSince(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, err, "")
			return
		}
		query.Since = t
	}
	if s := q.Get("grep"); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("grep %q: %w", s, err), "")
			return
		}
		query.Grep = re
	}
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("after %q: want a sequence number", s), "")
			return
		}
		query.AfterSeq = n
	}
	follow := q.Get("follow") == "1" || q.Get("follow") == "true"

	var store *logs.Store
	if p, ok := d.project(name); ok {
		store = p.logs
	} else {
		lf := q.Get("loopfile")
		if lf == "" {
			writeError(w, http.StatusNotFound, fmt.Errorf("project %q is not up", name), "pass loopfile= to read its persisted logs")
			return
		}
		dir := logDir(d.Home, lf)
		if _, err := os.Stat(dir); err != nil {
			writeError(w, http.StatusNotFound, fmt.Errorf("no logs for %s", lf), "run `loop up` in its directory")
			return
		}
		s, err := logs.Open(dir, 0)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err, "")
			return
		}
		defer s.Close()
		store, follow = s, false
	}
	var sub <-chan logs.Line
	ctx := r.Context()
	if follow {
		sub = store.Subscribe(ctx)
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	var last uint64
	for _, l := range store.Query(query) {
		enc.Encode(toWire(l))
		last = l.Seq
	}
	flush(w)
	if !follow {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case l, ok := <-sub:
			if !ok {
				return
			}
			if l.Seq <= last || !matches(query, l) {
				continue
			}
			enc.Encode(toWire(l))
			flush(w)
		}
	}
}

func matches(q logs.Query, l logs.Line) bool {
	if len(q.Resources) > 0 && !slices.Contains(q.Resources, l.Resource) {
		return false
	}
	return q.Grep == nil || q.Grep.MatchString(l.Text)
}

func toWire(l logs.Line) api.LogLine {
	return api.LogLine{Seq: l.Seq, Time: l.Time, Resource: l.Resource, Stream: l.Stream, Text: l.Text}
}

// parseSince takes a duration ("5m": that long ago) or an RFC 3339 time.
func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("since %q: want a duration (5m) or an RFC 3339 time", s)
}

func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

// handleEvents streams events as Server-Sent Events; `after` (or the
// Last-Event-ID header) resumes after a sequence number.
func (d *Daemon) handleEvents(w http.ResponseWriter, r *http.Request) {
	after := uint64(0)
	s := r.URL.Query().Get("after")
	if s == "" {
		s = r.Header.Get("Last-Event-ID")
	}
	if s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("after %q: want a sequence number", s), "")
			return
		}
		after = n
	}
	ctx := r.Context()
	past, ch, gap := d.hub.Subscribe(ctx, r.URL.Query().Get("project"), after)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if gap {
		fmt.Fprintf(w, "event: gap\ndata: {}\n\n")
	}
	write := func(ev api.Event) {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(w, "id: %d\ndata: %s\n\n", ev.Seq, b)
	}
	for _, ev := range past {
		write(ev)
	}
	flush(w)
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-ch:
			if !ok {
				return // fell behind: the client resumes with Last-Event-ID
			}
			write(ev)
			flush(w)
		}
	}
}
