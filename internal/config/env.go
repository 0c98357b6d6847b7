package config

// The environment variables: the last layer, over the files and the
// Loopfile. Each is read with the syntax of its config key.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/telemetry"
)

// Environment variables that set configuration keys.
const (
	EnvSaveToLiveP95 = "LOOP_SLO_SAVE_TO_LIVE_P95"
	EnvBuildSuccess  = "LOOP_SLO_BUILD_SUCCESS"
	EnvAvailability  = "LOOP_SLO_AVAILABILITY"
	EnvFeedbackEvery = "LOOP_FEEDBACK_EVERY"
	EnvTemplates     = "LOOP_TEMPLATES" // comma-separated, after the files' templates
	EnvTelemetry     = "LOOP_TELEMETRY_ENDPOINT"
	EnvTelemetryName = "LOOP_TELEMETRY_PROJECT_NAMES"
	EnvTelemetryTick = "LOOP_TELEMETRY_INTERVAL"
)

// applyEnv sets what the environment sets. A value loop cannot read is a
// warning (Config.Warnings) and keeps what the files said.
func (c *Config) applyEnv(getenv func(string) string) {
	warn := func(name, v string, err error) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("env %s=%q: %v: using %s", name, v, err, "the config files' value or the default"))
	}
	if v := strings.TrimSpace(getenv(EnvSaveToLiveP95)); v != "" {
		if d, err := metrics.ParseLatency(v); err != nil {
			warn(EnvSaveToLiveP95, v, err)
		} else {
			c.SLO.SaveToLiveP95 = Value[time.Duration]{d, Origin{Env: EnvSaveToLiveP95}}
		}
	}
	for _, r := range []struct {
		env string
		dst *Value[float64]
	}{{EnvBuildSuccess, &c.SLO.BuildSuccess}, {EnvAvailability, &c.SLO.Availability}} {
		v := strings.TrimSpace(getenv(r.env))
		if v == "" {
			continue
		}
		f, err := metrics.ParseRatio(v)
		if err != nil {
			warn(r.env, v, err)
			continue
		}
		*r.dst = Value[float64]{f, Origin{Env: r.env}}
	}
	if v := strings.TrimSpace(getenv(EnvFeedbackEvery)); v != "" {
		if d, err := parseEvery(v); err != nil {
			warn(EnvFeedbackEvery, v, err)
		} else {
			c.Feedback.Every = Value[time.Duration]{d, Origin{Env: EnvFeedbackEvery}}
		}
	}
	if v := strings.TrimSpace(getenv(EnvTelemetry)); v != "" {
		if err := telemetry.CheckEndpoint(v); err != nil {
			warn(EnvTelemetry, v, err)
		} else {
			c.Telemetry.Endpoint = Value[string]{v, Origin{Env: EnvTelemetry}}
		}
	}
	if v := strings.TrimSpace(getenv(EnvTelemetryName)); v != "" {
		if b, err := strconv.ParseBool(v); err != nil {
			warn(EnvTelemetryName, v, errors.New("want 1 (send project names in clear) or 0"))
		} else {
			c.Telemetry.ProjectNames = Value[bool]{b, Origin{Env: EnvTelemetryName}}
		}
	}
	if v := strings.TrimSpace(getenv(EnvTelemetryTick)); v != "" {
		if d, err := parseInterval(v); err != nil {
			warn(EnvTelemetryTick, v, err)
		} else {
			c.Telemetry.Interval = Value[time.Duration]{d, Origin{Env: EnvTelemetryTick}}
		}
	}
	for _, s := range strings.Split(getenv(EnvTemplates), ",") {
		if s = strings.TrimSpace(s); s != "" {
			c.Templates = append(c.Templates, Value[string]{s, Origin{Env: EnvTemplates}})
		}
	}
}

// parseInterval reads the telemetry export interval: a positive Go
// duration (60s, 1m).
func parseInterval(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 60s or 1m")
	}
	return d, nil
}

// parseEvery reads the feedback interval: a window ("4w", "14d", "720h"),
// or "off" (also "0", "false", "never") for never.
func parseEvery(s string) (time.Duration, error) {
	switch s {
	case "0", "off", "false", "never":
		return 0, nil
	}
	return metrics.ParseWindow(s)
}
