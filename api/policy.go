package api

// PolicyException is a policy_exception() of a project's Loopfile: the
// organisation's policy rule it waives for the project, and why
// (docs/config.md). Project snapshots and Stats list the active ones.
type PolicyException struct {
	Project  string   `json:"project,omitempty"` // in Stats
	Rule     string   `json:"rule"`              // catalog_fields, ship_registries, base_images or test_tasks
	Reason   string   `json:"reason"`
	Declared string   `json:"declared"`         // Loopfile position (file:line:col)
	Waives   []string `json:"waives,omitempty"` // the deny findings it turns into warnings now; empty: none
}
