// Package api holds loopd's public wire types (JSON) and a Go client for
// the daemon's HTTP API, which every client shares: the loop CLI, editors
// (LSP), assistants (MCP) and the portal.
//
// The API is HTTP/1.1 + JSON over a Unix socket. Every change of a
// resource's state is an Event with a sequence number that increases across
// the whole daemon, so a client that lost its stream resumes with ?after=SEQ.
package api

import (
	"slices"
	"strconv"
	"time"
)

// Version is the API version; loop and loopd must agree on it.
const Version = "1"

// Resource states.
const (
	StatePending  = "pending"  // waiting for its dependencies, a slot or a trigger
	StateStarting = "starting" // started; readiness not yet passed (a task: running)
	StateReady    = "ready"    // service answering its probe / task exited 0
	StateCrashed  = "crashed"  // service exited on its own; restarting with backoff
	StateFailed   = "failed"   // task exited non-zero, or the command could not start
	StateStopped  = "stopped"  // stopped by loop down or removed from the Loopfile
	StateDisabled = "disabled" // disabled by the user
	// StateUnresponsive: a ready service that still runs but failed its
	// readiness probe 3 times in a row (engine.UnresponsiveAfter): stopped
	// with SIGSTOP, deadlocked, overloaded. loop leaves it running and
	// keeps probing; it is ready again when the probe passes. For a wait
	// it is settled and failed, like crashed.
	StateUnresponsive = "unresponsive"
)

// States lists every resource state, in the order clients show counts.
var States = []string{StateReady, StateStarting, StatePending, StateUnresponsive, StateCrashed, StateFailed, StateDisabled, StateStopped}

// Error is a problem with a location, when one is known.
type Error struct {
	Resource string   `json:"resource,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Col      int      `json:"col,omitempty"`
	Message  string   `json:"message"`
	Hint     string   `json:"hint,omitempty"`
	Log      []string `json:"log,omitempty"` // the resource's last output lines
}

func (e Error) String() string {
	s := e.Message
	if e.File != "" {
		loc := e.File
		if e.Line > 0 {
			loc += ":" + strconv.Itoa(e.Line)
			if e.Col > 0 {
				loc += ":" + strconv.Itoa(e.Col)
			}
		}
		s = loc + ": " + s
	}
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Diagnostic is a problem found in a resource's output (a compile error,
// a failing test, a traceback), with its host file position when known.
type Diagnostic struct {
	Resource string `json:"resource"`
	File     string `json:"file,omitempty"` // absolute host path (container paths are mapped back through sync rules)
	Line     int    `json:"line,omitempty"` // 1-based
	Col      int    `json:"col,omitempty"`  // 1-based
	Severity string `json:"severity"`       // "error", "warning", "info"
	Message  string `json:"message"`
	Source   string `json:"source,omitempty"` // the tool: "go", "go vet", "go test", "tsc", "eslint", "python", "rustc", "generic"
}

// Link is a URL shown next to a resource.
type Link struct {
	URL  string `json:"url"`
	Name string `json:"name,omitempty"`
}

// Resource is a snapshot of one resource's state.
type Resource struct {
	Name         string    `json:"name"`
	Kind         string    `json:"kind"` // "service", "task" or "container"
	State        string    `json:"state"`
	Reason       string    `json:"reason,omitempty"` // why it is in this state
	Since        time.Time `json:"since"`            // when it entered this state
	Pid          int       `json:"pid,omitempty"`
	Container    string    `json:"container,omitempty"` // container ID (container resources)
	Restarts     int       `json:"restarts"`
	LastExit     string    `json:"last_exit,omitempty"`
	Trigger      string    `json:"trigger"`
	Pending      bool      `json:"pending_changes,omitempty"` // manual trigger: changes wait for `loop trigger`
	ResourceDeps []string  `json:"resource_deps,omitempty"`
	Ports        []int     `json:"ports,omitempty"`
	Links        []Link    `json:"links,omitempty"`
	Labels       []string  `json:"labels,omitempty"`
	Cmd          []string  `json:"cmd"`
	Dir          string    `json:"dir"`
	Declared     string    `json:"declared,omitempty"` // Loopfile position (file:line:col)
	// LastRun is how long the last start took to become ready (task: to finish).
	LastRun time.Duration `json:"last_run_ns,omitempty"`
	// SaveToLive is how long the last change took from the first file
	// event to this resource being ready again (0 when not change-driven).
	SaveToLive time.Duration `json:"save_to_live_ns,omitempty"`
	// Diagnostics found in the output of the resource's last failed run;
	// cleared when it is ready again.
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"`
}

// Project is a snapshot of one project.
type Project struct {
	Name      string       `json:"name"`
	Dir       string       `json:"dir"`
	Loopfile  string       `json:"loopfile"`
	Error     *Error       `json:"loopfile_error,omitempty"` // the Loopfile fails to evaluate; the last good configuration runs
	Warnings  []string     `json:"warnings,omitempty"`       // what evaluation accepted but ignores (unsupported devcontainer.json properties, ...)
	Resources []Resource   `json:"resources"`
	Routes    []Route      `json:"routes,omitempty"` // route(): the project's URLs on loopd's gateway
	Seq       uint64       `json:"seq"`              // event sequence number this snapshot includes
	Watch     *WatchStatus `json:"watch,omitempty"`
	// Problems are what is wrong with loop's own work for the project
	// (its logs cannot be written, ...), as opposed to a resource's state.
	Problems []Problem `json:"problems,omitempty"`
	// PolicyExceptions are the Loopfile's policy_exception()s.
	PolicyExceptions []PolicyException `json:"policy_exceptions,omitempty"`
}

// Problem is something wrong with loop itself, not with a resource: a log
// or store write that fails (a full disk), retried until it works again.
type Problem struct {
	Component string    `json:"component"`         // "logs", "store"
	Project   string    `json:"project,omitempty"` // whose (in Health)
	Message   string    `json:"message"`           // what, where, what happens meanwhile, what to do
	Since     time.Time `json:"since"`
}

// Route is a route() of the project: http://HOST:GATEWAY_PORT/PATH is
// served by loopd's gateway from 127.0.0.1:Port of Resource.
type Route struct {
	Host     string        `json:"host"` // "api.localhost"
	Path     string        `json:"path"` // URL path prefix
	Resource string        `json:"resource"`
	Port     int           `json:"port"`
	Timeout  time.Duration `json:"timeout_ns,omitempty"` // route(timeout=); 0: the gateway's default
	Declared string        `json:"declared,omitempty"`   // Loopfile position
}

// WatchStatus describes the project's file watcher.
type WatchStatus struct {
	Ready      bool          `json:"ready"`           // every initial watch is in place
	Backend    string        `json:"backend"`         // the watcher's backend: inotify, FSEvents, kqueue or ReadDirectoryChangesW
	Watches    int           `json:"watches"`         // directories watched (inotify watches on Linux)
	ReadyAfter time.Duration `json:"ready_after_ns"`  // from watcher start to ready
	Error      string        `json:"error,omitempty"` // why the watcher stopped
}

// Event kinds.
const (
	EventResource = "resource" // Resource changed state
	EventProject  = "project"  // project added, reloaded, its Loopfile broke or recovered
	EventRemoved  = "removed"  // project removed (loop down)
)

// Event is one change, streamed to clients in sequence order.
type Event struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Project  string    `json:"project"`
	Resource *Resource `json:"resource,omitempty"`
	Error    *Error    `json:"error,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// LogLine is one line of a resource's output (stream "stdout", "stderr",
// or "loop" for what loop itself says about the resource).
type LogLine struct {
	Seq      uint64    `json:"seq"`
	Time     time.Time `json:"time"`
	Resource string    `json:"resource"`
	Stream   string    `json:"stream"`
	Text     string    `json:"text"`
	TraceID  string    `json:"trace_id,omitempty"` // a W3C trace ID the line carries (GET /v1/traces/{id})
}

// UpRequest starts (or reconfigures) a project.
type UpRequest struct {
	Loopfile  string   `json:"loopfile"`            // absolute path
	Env       []string `json:"env"`                 // the caller's environment: the base for env() and for processes
	Resources []string `json:"resources,omitempty"` // only these (and what they depend on); empty (and no Labels) = all
	// Labels adds every resource that has any of these labels (and what
	// it depends on) to Resources.
	Labels []string `json:"labels,omitempty"`
}

// Selector picks resources of a project: those named in Resources and
// those that have any of Labels (a resource's labels=[...] in the
// Loopfile). A name the project lacks, or a label no resource has, is an
// error (404) that lists what the project has.
type Selector struct {
	Resources []string `json:"resources,omitempty"`
	Labels    []string `json:"labels,omitempty"`
}

// Empty reports whether s names nothing (which means every resource where
// a selection is optional).
func (s Selector) Empty() bool { return len(s.Resources) == 0 && len(s.Labels) == 0 }

// Actions on resources (POST .../resources/NAME/ACTION and .../actions/ACTION).
const (
	ActionTrigger = "trigger"
	ActionRestart = "restart"
	ActionEnable  = "enable"
	ActionDisable = "disable"
	ActionStop    = "stop" // `loop down NAME`: stopped until a `loop up` that selects it, or enable
)

// ActionReply answers an action on a selection: the resources it was
// applied to, in Loopfile order, and the project afterwards.
type ActionReply struct {
	Resources []string `json:"resources"`
	Project   *Project `json:"project"`
}

// Outcomes of a wait.
const (
	OutcomeReady   = "ready"   // every affected resource is ready
	OutcomeFailed  = "failed"  // something failed; see Errors
	OutcomeTimeout = "timeout" // not settled within the timeout
)

// WaitResult answers "has everything settled after my edit?".
type WaitResult struct {
	Outcome     string       `json:"outcome"`
	Errors      []Error      `json:"errors,omitempty"`
	Diagnostics []Diagnostic `json:"diagnostics,omitempty"` // every failing resource's, file:line first
	Resources   []Resource   `json:"resources"`
	Waited      string       `json:"waited"`
}

// ContainerInfo is what `loop exec` and `loop shell` need to enter a
// container resource.
type ContainerInfo struct {
	ID         string   `json:"id"`
	Runtime    string   `json:"runtime"` // "docker"
	User       string   `json:"user,omitempty"`
	Workdir    string   `json:"workdir,omitempty"`
	Env        []string `json:"env,omitempty"`         // remoteEnv
	PostAttach []string `json:"post_attach,omitempty"` // devcontainer postAttachCommand (argv)
	// StateDir is the project's state directory under LOOP_HOME, where loop
	// keeps files for the resource on the host (a database()'s db.json and
	// snapshots: `loop db`).
	StateDir string `json:"state_dir,omitempty"`
	// Pods, for a Kubernetes workload (Runtime "kubernetes"): where its
	// pods are; the CLI enters the newest running one.
	Pods *PodsInfo `json:"pods,omitempty"`
}

// PodsInfo locates a Kubernetes workload's pods for `loop exec`.
type PodsInfo struct {
	Kubeconfig []string `json:"kubeconfig,omitempty"` // KUBECONFIG of the project's `loop up` ("": the default)
	Context    string   `json:"context"`
	Namespace  string   `json:"namespace"`
	Selector   string   `json:"selector"`            // label selector of the workload's pods
	Container  string   `json:"container,omitempty"` // "" = the pod's first
}

// VersionInfo is the handshake.
type VersionInfo struct {
	Version string `json:"version"` // build version
	API     string `json:"api"`
	Pid     int    `json:"pid"`
}

// Health is loopd's own state (GET /v1/health): what fails in its work
// (store and log writes, retried until they work again) and where file
// secrets live.
type Health struct {
	Status          string    `json:"status"` // HealthOK or HealthDegraded
	Problems        []Problem `json:"problems,omitempty"`
	SecretsDir      string    `json:"secrets_dir,omitempty"` // where secret(file=) files are written
	SecretsInMemory bool      `json:"secrets_in_memory"`     // on memory-backed storage (tmpfs)
}

// Health statuses.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded" // loopd serves, but some of its writes fail
)

// ErrorReply is the body of every non-2xx reply.
type ErrorReply struct {
	Error string `json:"error"`
	Hint  string `json:"hint,omitempty"`
}

// PortalLogin is the reply to POST /v1/portal/codes: a one-time URL that
// logs a browser in to the portal.
type PortalLogin struct {
	URL     string    `json:"url"` // http://127.0.0.1:PORT/login?code=...
	Expires time.Time `json:"expires"`
}

// TestLabel marks the tasks that are a project's tests: `loop ship`
// requires them to have passed, and `loop ci --junit` reports them.
const TestLabel = "test"

// TestTasks returns the project's tasks labelled TestLabel.
func (p *Project) TestTasks() []Resource {
	var out []Resource
	for _, r := range p.Resources {
		if r.Kind == "task" && slices.Contains(r.Labels, TestLabel) {
			out = append(out, r)
		}
	}
	return out
}
