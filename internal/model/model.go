// Package model holds loop's desired state: the Project a Loopfile declares
// and its Resources (services and tasks), probes and watch settings.
//
// Values here are plain data. The loopfile package produces them, the engine
// reconciles them against what is running, and nothing mutates a Project
// once it has been handed to the engine: a re-evaluated Loopfile yields a new
// Project that the engine diffs against the old one with Resource.Equal.
package model

import (
	"fmt"
	"reflect"
	"time"
)

// Kind says how a resource runs.
type Kind string

const (
	// KindService is a long-running process; it is "ready" when its
	// readiness probe passes (or as soon as it started, without one).
	KindService Kind = "service"
	// KindTask runs to completion; it is "ready" when it exits 0.
	KindTask Kind = "task"
)

// Trigger says what starts a resource again after a file change.
type Trigger string

const (
	TriggerAuto   Trigger = "auto"   // file changes re-run or restart it
	TriggerManual Trigger = "manual" // only `loop trigger` does
)

// RestartPolicy says what a change in a service's deps does to it.
type RestartPolicy string

const (
	RestartOnChange RestartPolicy = "on-change" // restart when its deps change (default)
	RestartNever    RestartPolicy = "never"     // the service reloads itself; never restarted for a change
)

// Position is a place in a Loopfile (1-based line and column).
type Position struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Col  int    `json:"col"`
}

func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Project is everything one Loopfile declares.
type Project struct {
	Name      string      // project name: the base name of Dir unless set
	Dir       string      // absolute project root (the Loopfile's directory)
	Loopfile  string      // absolute path of the Loopfile
	Files     []string    // absolute paths of every file evaluation read (Loopfile, load()ed, read_file()d)
	Resources []*Resource // in declaration order
	Images    []*Image    // image() declarations, in order
	Ships     []*Ship     // ship() declarations, in order
	Secrets   []*Secret   // secret() declarations
	Databases []*Database // database() declarations
	Routes    []*Route    // route() declarations
	Cluster   *Cluster    // kubernetes(): nil unless the project uses Kubernetes
	Watch     WatchSettings
	// Overrides are the configuration keys the Loopfile set (Watch holds
	// the watcher's effective settings).
	Overrides        Overrides
	PolicyExceptions []PolicyException // policy_exception() calls, in order
	Warnings         []string          // things evaluation accepted but ignores (e.g. unsupported devcontainer.json properties)

	// Catalog holds the catalog() declarations, in order: service-catalog
	// metadata of the project and its resources.
	Catalog []*CatalogEntry
}

// Resource returns the resource called name, or nil.
func (p *Project) Resource(name string) *Resource {
	for _, r := range p.Resources {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// WatchSettings tune the file watcher for the whole project.
type WatchSettings struct {
	Ignore   []string      // gitignore-style patterns, relative to Dir
	Debounce time.Duration // quiet period that ends a batch
	MaxWait  time.Duration // a batch is delivered at most this long after its first change
}

// Default watch timings: short enough that loop adds less than entr.
const (
	DefaultDebounce = 15 * time.Millisecond
	DefaultMaxWait  = 2 * time.Second
)

// Link is a URL shown next to a resource.
type Link struct {
	URL  string `json:"url"`
	Name string `json:"name,omitempty"`
}

// Resource is one service or task.
type Resource struct {
	Name         string
	Kind         Kind
	Cmd          []string          // argv; a string command becomes ["sh", "-c", cmd]
	Dir          string            // absolute working directory
	Env          map[string]string // added to the environment loop up was run with
	Deps         []string          // absolute paths (files or directories) watched for this resource
	Ignore       []string          // gitignore-style patterns, relative to the project Dir
	ResourceDeps []string          // names of resources that must be ready first
	Readiness    *Probe            // nil: a service is ready once started
	Ports        []int             // ports the service listens on (checked free before start)
	Links        []Link
	Labels       []string
	Trigger      Trigger
	AutoStart    bool
	StopSignal   string // "SIGTERM", "SIGINT", ...
	StopTimeout  time.Duration
	Restart      RestartPolicy
	Container    *Container // KindContainer only
	Workload     *Workload  // KindKube only
	Pos          Position   // where the resource was declared
}

// Equal reports whether two resources declare the same thing; their
// declaration positions do not count (moving a line restarts nothing).
// RunsToCompletion reports whether r is done when its command exits 0 (a
// task, or a run-once container) rather than crashed.
func (r *Resource) RunsToCompletion() bool {
	return r.Kind == KindTask || (r.Container != nil && r.Container.RunOnce) || (r.Workload != nil && r.Workload.Kind == "Job")
}

// Launched reports whether r starts asynchronously through a container
// or Kubernetes runtime, and applies file changes in place (Updater).
func (r *Resource) Launched() bool {
	return r.Kind == KindContainer || r.Kind == KindKube
}

// OnChange is r's live-update steps (a container's or a workload's).
func (r *Resource) OnChange() []Step {
	switch {
	case r.Container != nil:
		return r.Container.OnChange
	case r.Workload != nil:
		return r.Workload.OnChange
	}
	return nil
}

func (r *Resource) Equal(o *Resource) bool {
	if r == nil || o == nil {
		return r == o
	}
	a, b := *r, *o
	a.Pos, b.Pos = Position{}, Position{}
	a.Container, b.Container = a.Container.withoutPos(), b.Container.withoutPos()
	a.Workload, b.Workload = a.Workload.withoutPos(), b.Workload.withoutPos()
	return reflect.DeepEqual(a, b)
}

// withoutPos returns a copy of c whose image has no position, for Equal.
func (c *Container) withoutPos() *Container {
	if c == nil || c.Build == nil {
		return c
	}
	cc := *c
	cc.Build = c.Build.withoutPos()
	return &cc
}

func (img *Image) withoutPos() *Image {
	if img == nil {
		return nil
	}
	cp := *img
	cp.Pos = Position{}
	cp.Base = img.Base.withoutPos()
	return &cp
}

// ProbeKind names a readiness probe type.
type ProbeKind string

const (
	ProbeHTTP ProbeKind = "http"
	ProbeTCP  ProbeKind = "tcp"
	ProbeExec ProbeKind = "exec"
)

// Probe decides when a service is ready.
type Probe struct {
	Kind    ProbeKind
	URL     string   // http: a 2xx or 3xx answer is ready
	Addr    string   // tcp: host:port that accepts a connection
	Cmd     []string // exec: exit 0 is ready (run in the resource's Dir and Env; inside the container for a container resource)
	Period  time.Duration
	Timeout time.Duration
}

// Default probe timings.
const (
	DefaultProbePeriod  = 100 * time.Millisecond
	DefaultProbeTimeout = time.Second
)

// KindContainer is a service that runs in a container (dev container).
const KindContainer Kind = "container"

// Image is an image built from the project (image(), a devcontainer's
// build section, or the image that installs a devcontainer's Features).
type Image struct {
	Name       string            // the image() name resources refer to
	Context    string            // absolute build context directory ("" when Generated)
	Dockerfile string            // absolute path of the Dockerfile ("" when Generated)
	Target     string            // multi-stage target ("" = last stage)
	BuildArgs  map[string]string //
	Ignore     []string          // extra .dockerignore-style patterns, relative to Context
	// Generated, when set, is the build context in place of Context and
	// Dockerfile: the runtime assembles it when it builds, so declaring
	// the image writes nothing.
	Generated *GeneratedContext
	// Base, when set, is built first and its tag passed as the build arg
	// LOOP_BASE_IMAGE (devcontainer Features extend a built image).
	Base *Image
	Pos  Position
}

// GeneratedContext is a build context that exists only as a description
// (a devcontainer's Features image): a Dockerfile's text, named
// "Dockerfile" in the context, and host directories copied into it.
type GeneratedContext struct {
	Dockerfile string        // the Dockerfile's content
	Copies     []ContextCopy // in order; each To is distinct
}

// ContextCopy places the tree of the host directory From (absolute: its
// files, directories and symbolic links) at To in a generated context (a
// slash-separated relative path such as "features/0-go").
type ContextCopy struct {
	From string
	To   string
}

// PortMap publishes a container port on the host.
type PortMap struct {
	Host      int    `json:"host"`      // 0: same as Container
	Container int    `json:"container"` //
	Protocol  string `json:"protocol"`  // "tcp" (default) or "udp"
}

// Volume mounts a host directory (bind) or a named volume into a container.
type Volume struct {
	Source   string // absolute host path (bind), or a volume name (Named)
	Target   string // absolute path in the container
	ReadOnly bool
	Named    bool // a named volume: kept by `loop down` unless --volumes
}

// SyncRule copies changes under Local (absolute host path, file or
// directory) to Remote (absolute path in the container).
type SyncRule struct {
	Local  string
	Remote string
}

// Step is one live-update step of a container: run a command in it (when
// one of Trigger changed, or on every change when Trigger is empty), or
// restart its service in place.
type Step struct {
	Restart bool
	Cmd     []string // run: argv; a string command becomes ["/bin/sh", "-c", cmd]
	Trigger []string // run: absolute host paths (files or directories)
}

// Lifecycle holds devcontainer.json lifecycle commands, in spec order.
// Each is nil when absent; Parallel commands (an object in
// devcontainer.json) run at the same time.
type Lifecycle struct {
	Initialize    *Command // on the host, before the container is created
	OnCreate      *Command // once per container
	UpdateContent *Command // once per container
	PostCreate    *Command // once per container
	PostStart     *Command // on every start
	PostAttach    *Command // on every `loop shell`/`loop exec` attach (not run by loop up)
}

// Command is one lifecycle command: a single argv, or named argvs run in
// parallel.
type Command struct {
	Argv     []string            // a string command is ["/bin/sh", "-c", cmd]
	Parallel map[string][]string // object form
}

// Container is what a container resource runs.
type Container struct {
	Image      string   // an image() name or a reference to an image present locally
	Build      *Image   // the image() Image refers to; nil for a plain reference
	Cmd        []string // nil: the image's entrypoint and command
	Entrypoint []string // nil: the image's
	Ports      []PortMap
	Volumes    []Volume
	Sync       []SyncRule
	OnChange   []Step
	RebuildOn  []string // absolute host paths whose changes rebuild and recreate
	User       string   // container user ("" = the image's)
	Workdir    string   // working directory in the container ("" = the image's)
	// Aliases are other names the container answers to on the project's
	// network besides the resource name (a Compose service's name or
	// network aliases).
	Aliases []string
	// RunOnce: the container runs to completion, like a task (exit 0 is
	// success and is not restarted): a Compose service another waits for
	// with condition service_completed_successfully (a migration, a seed).
	RunOnce bool
	// Dev container settings (devcontainer.json).
	RemoteUser string            // user for loop exec/shell and lifecycle commands
	RemoteEnv  map[string]string // env for loop exec/shell and lifecycle commands
	// UserEnvProbe is how the remote user's shell environment is found for
	// exec/shell and lifecycle commands (userenv.LoginInteractiveShell, …);
	// "" or "none": not probed.
	UserEnvProbe string
	Lifecycle    *Lifecycle
	KeepAlive    bool // overrideCommand: run a sleep loop instead of the image's command
	Privileged   bool
	CapAdd       []string
	Init         bool   // --init: the supervisor is PID 1 anyway; recorded for fidelity
	ConfigFile   string // devcontainer.json this came from ("" for container())
}

// Ship is how a resource leaves the laptop (`loop ship`): the production
// image pushed to Repository, then handed to the outer loop through a
// deploy API, a GitOps repository, or both.
type Ship struct {
	Resource   string // the resource shipped (the deploy API's "service")
	Image      *Image // the production image (Name = Resource + "-ship")
	Repository string // registry repository, e.g. "registry.example.com/team/api" (no tag)
	DeployAPI  *DeployAPI
	GitOps     *GitOps
	Pos        Position
}

// DeployAPI is the team's deploy endpoint (docs/deploy-api.md).
type DeployAPI struct {
	URL     string
	Token   string // bearer token ("" = none); from env() in the Loopfile
	Secret  string // HMAC-SHA256 signing key for the X-Loop-Signature header ("" = unsigned)
	Timeout time.Duration
}

// GitOps is a config repository that Argo CD or Flux reconciles: loop
// sets the image to the pushed digest, commits and pushes.
type GitOps struct {
	Repo    string // URL or local path of the config repository
	Branch  string // default "main"
	Path    string // file in the repo: a kustomization.yaml, or any YAML file with Field
	Image   string // kustomize: the images[].name entry to update ("" = Ship.Repository)
	Field   string // plain YAML: dotted path of the field to set, e.g. "image.repository" or "spec.template.spec.containers[0].image"
	Message string // commit message template: {service}, {digest}, {commit}, {short}
}

// Lifecycle stages a catalog entry may be in.
const (
	LifecycleExperimental = "experimental"
	LifecycleProduction   = "production"
	LifecycleDeprecated   = "deprecated"
)

// CatalogEntry is a catalog() declaration: service-catalog metadata of the
// project (Resource "") or of one of its resources.
type CatalogEntry struct {
	Resource    string // "" = the project itself
	Owner       string
	Team        string
	Tier        string // free form, e.g. "1" or "critical"
	Lifecycle   string // "", or one of the Lifecycle* constants
	Description string
	Repository  string // URL
	Docs        string // URL, or a path relative to the project directory
	Runbook     string // URL
	APISpec     string // absolute path of an OpenAPI file ("" = none); it existed at evaluation
	SLO         string // free text, e.g. "99.9% availability"
	Tags        []string
	System      string   // the larger system it belongs to ("" = none); a resource's entry may leave it to the project's
	Type        string   // what kind of software: "service", "website", "library" or another word ("" = derived)
	Pos         Position // where catalog() was called
}

// CatalogFor returns the catalog entry of resource ("" = the project), or nil.
func (p *Project) CatalogFor(resource string) *CatalogEntry {
	for _, c := range p.Catalog {
		if c.Resource == resource {
			return c
		}
	}
	return nil
}
