package model

import "time"

// Overrides are the keys of loop's configuration (docs/config.md) that a
// Loopfile sets with watch_settings() and slo_targets(): each only when
// the call passed it, with where. loopd layers them over the config files
// (package config): they win over the organisation's and the user's files
// and lose to environment variables.
type Overrides struct {
	Debounce      *Override[time.Duration]
	MaxWait       *Override[time.Duration]
	Ignore        *Override[[]string]
	SaveToLiveP95 *Override[time.Duration]
	BuildSuccess  *Override[float64]
}

// Override is one value a Loopfile set, and the call that set it.
type Override[T any] struct {
	Value T
	Pos   Position
}

// PolicyException is a policy_exception() of the Loopfile: it waives the
// organisation's deny rule Rule (package policy) for the project, which
// loop then reports as a warning, and records.
type PolicyException struct {
	Rule   string
	Reason string
	Pos    Position
	// Waives are the deny findings it waives (filled by loopd from the
	// policy's findings; evaluation leaves it empty).
	Waives []string
}
