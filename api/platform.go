package api

import "time"

// CatalogEntry is a project's or resource's catalog() metadata.
type CatalogEntry struct {
	Project     string   `json:"project"`
	Resource    string   `json:"resource,omitempty"` // "" = the project itself
	Owner       string   `json:"owner,omitempty"`
	Team        string   `json:"team,omitempty"`
	Tier        string   `json:"tier,omitempty"`      // e.g. "1", "critical"
	Lifecycle   string   `json:"lifecycle,omitempty"` // "experimental", "production", "deprecated"
	System      string   `json:"system,omitempty"`    // the larger system it belongs to
	Type        string   `json:"type,omitempty"`      // "service", "website", "library", ...
	Description string   `json:"description,omitempty"`
	Repository  string   `json:"repository,omitempty"`
	Docs        string   `json:"docs,omitempty"`     // URL or project-relative path
	Runbook     string   `json:"runbook,omitempty"`  // URL
	APISpec     string   `json:"api_spec,omitempty"` // project-relative path of an OpenAPI file
	SLO         string   `json:"slo,omitempty"`      // free text, e.g. "99.9% availability"
	Tags        []string `json:"tags,omitempty"`
}

// APIOperation is one operation of an OpenAPI file.
type APIOperation struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	OperationID string `json:"operation_id,omitempty"`
	Summary     string `json:"summary,omitempty"`
	Description string `json:"description,omitempty"`
}

// APISpec is a parsed OpenAPI file.
type APISpec struct {
	File       string         `json:"file"`
	Title      string         `json:"title"`
	Version    string         `json:"version"`
	Operations []APIOperation `json:"operations"`
}

// DocPage is a rendered markdown page of a project's docs/.
type DocPage struct {
	Name  string `json:"name"`  // file name, e.g. "runbook.md"
	Title string `json:"title"` // first heading
	HTML  string `json:"html,omitempty"`
}

// Percentiles of a duration distribution.
type Percentiles struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50_ns"`
	P95   time.Duration `json:"p95_ns"`
	Max   time.Duration `json:"max_ns"`
	Sum   time.Duration `json:"sum_ns,omitempty"` // of every sample (Prometheus summaries need it)
}

// ResourceStats are the inner-loop metrics of one resource.
type ResourceStats struct {
	Project     string      `json:"project"`
	Resource    string      `json:"resource"`
	SaveToLive  Percentiles `json:"save_to_live"` // file change -> ready again
	Runs        int         `json:"runs"`         // builds/task runs/starts
	Failures    int         `json:"failures"`
	SuccessRate float64     `json:"success_rate"` // 0..1
	Restarts    int         `json:"restarts"`
	Crashes     int         `json:"crashes"`
}

// SLO is one of loop's own service-level objectives.
type SLO struct {
	Name        string  `json:"name"`   // "save-to-live p95", "build success", "daemon availability"
	Target      float64 `json:"target"` // e.g. 0.99 (ratio) or 0.3 (seconds, for latency)
	Actual      float64 `json:"actual"`
	Unit        string  `json:"unit"`        // "ratio" or "seconds"
	BudgetLeft  float64 `json:"budget_left"` // 1 = untouched, 0 = spent, < 0 = overspent
	Met         bool    `json:"met"`
	Description string  `json:"description"`
}

// Stats are the platform metrics over a window.
type Stats struct {
	Since            time.Time       `json:"since"`
	Until            time.Time       `json:"until"`
	Resources        []ResourceStats `json:"resources"`
	TimeToFirstReady Percentiles     `json:"time_to_first_ready"` // loop up -> everything ready
	Deploys          int             `json:"deploys"`
	DeploysPerWeek   float64         `json:"deploys_per_week"`
	LeadTime         Percentiles     `json:"lead_time"`           // commit -> shipped
	ChangeFailRate   float64         `json:"change_failure_rate"` // failed ships / ships
	SLOs             []SLO           `json:"slos"`
	NPS              *NPS            `json:"nps,omitempty"`
	// FailedShips counts failed `loop ship` attempts in the window (Deploys the shipped ones).
	FailedShips int `json:"failed_ships"`
	// StoreErrors counts failed writes to the metrics store since loopd
	// started (a full disk, a read-only file); StoreError is the last one.
	// The daemon keeps serving; metrics miss what could not be written.
	StoreErrors int64  `json:"store_errors"`
	StoreError  string `json:"store_error,omitempty"`
	// PolicyExceptions are the policy_exception()s of the projects up now.
	PolicyExceptions []PolicyException `json:"policy_exceptions,omitempty"`
	// Telemetry is the OTLP export's state; nil when it is off.
	Telemetry *Telemetry `json:"telemetry,omitempty"`
}

// Telemetry says where loopd exports its metrics (docs/metrics.md, "What
// leaves the machine") and how that goes.
type Telemetry struct {
	Endpoint        string  `json:"endpoint"` // the OTLP/HTTP URL posted to
	IntervalSeconds float64 `json:"interval_seconds"`
	ProjectNames    bool    `json:"project_names"` // names in clear, not hashed
	InstallationID  string  `json:"installation_id"`
	// Errors counts failed exports since loopd started; LastError is the
	// last one. loopd runs on; the data of a failed export is dropped.
	Errors    int64  `json:"errors"`
	LastError string `json:"last_error,omitempty"`
}

// NPS summarises developer feedback (0-10 scores).
type NPS struct {
	Responses  int     `json:"responses"`
	Score      float64 `json:"score"` // -100..100
	Promoters  int     `json:"promoters"`
	Passives   int     `json:"passives"`
	Detractors int     `json:"detractors"`
}

// Feedback is one `loop feedback` answer.
type Feedback struct {
	Score   int       `json:"score"` // 0-10
	Comment string    `json:"comment,omitempty"`
	Time    time.Time `json:"time"`
}

// HistoryEntry is one run of a resource: a build, task run, start or restart.
type HistoryEntry struct {
	Project  string        `json:"project"`
	Resource string        `json:"resource"`
	Kind     string        `json:"kind"` // "start", "restart", "update", "task", "crash"
	Outcome  string        `json:"outcome"`
	Reason   string        `json:"reason,omitempty"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
}

// CatalogQuery filters GET /v1/catalog; empty fields match everything.
type CatalogQuery struct {
	Q         string // every word must occur in the name, description, owner, team or tags (case ignored)
	Team      string // exact team (case ignored)
	Lifecycle string // "experimental", "production" or "deprecated"
}
