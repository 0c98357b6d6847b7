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
	Watch     WatchSettings
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
	Pos          Position // where the resource was declared
}

// Equal reports whether two resources declare the same thing; their
// declaration positions do not count (moving a line restarts nothing).
func (r *Resource) Equal(o *Resource) bool {
	if r == nil || o == nil {
		return r == o
	}
	a, b := *r, *o
	a.Pos, b.Pos = Position{}, Position{}
	return reflect.DeepEqual(a, b)
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
	Cmd     []string // exec: exit 0 is ready (run in the resource's Dir and Env)
	Period  time.Duration
	Timeout time.Duration
}

// Default probe timings.
const (
	DefaultProbePeriod  = 100 * time.Millisecond
	DefaultProbeTimeout = time.Second
)
