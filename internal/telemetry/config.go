package telemetry

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultInterval is how often metrics are exported when Config.Interval
// is zero.
const DefaultInterval = 60 * time.Second

// Config turns the export on and shapes it. It is plain data so that any
// source can fill it: the environment today (FromEnv), the config file's
// `telemetry:` section later.
type Config struct {
	// Endpoint is an OTLP/HTTP base URL (http://127.0.0.1:9090/api/v1/otlp):
	// metrics are posted to Endpoint + "/v1/metrics" (a URL that already
	// ends in /v1/metrics is used as it is). "" turns the export off.
	Endpoint string
	// ProjectNames sends project and resource names in clear instead of
	// salted hashes.
	ProjectNames bool
	// Interval between exports; zero means DefaultInterval.
	Interval time.Duration
}

// Enabled reports whether c asks for an export.
func (c Config) Enabled() bool { return c.Endpoint != "" }

// The environment variables FromEnv reads.
const (
	EnvEndpoint     = "LOOP_TELEMETRY_ENDPOINT"
	EnvProjectNames = "LOOP_TELEMETRY_PROJECT_NAMES"
	EnvInterval     = "LOOP_TELEMETRY_INTERVAL"
)

// FromEnv reads LOOP_TELEMETRY_ENDPOINT, LOOP_TELEMETRY_PROJECT_NAMES
// (1/true) and LOOP_TELEMETRY_INTERVAL (a Go duration: 60s, 1m).
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{Endpoint: strings.TrimSpace(getenv(EnvEndpoint))}
	if v := getenv(EnvProjectNames); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: want 1 (send project names in clear) or 0", EnvProjectNames, v)
		}
		c.ProjectNames = b
	}
	if v := getenv(EnvInterval); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive duration such as 60s or 1m", EnvInterval, v)
		}
		c.Interval = d
	}
	if _, err := c.metricsURL(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// interval is the export interval, DefaultInterval when unset.
func (c Config) interval() time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return DefaultInterval
}

// metricsURL is where metrics are posted: Endpoint + /v1/metrics.
func (c Config) metricsURL() (string, error) {
	if c.Endpoint == "" {
		return "", nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("telemetry endpoint %q: want an OTLP/HTTP base URL such as http://127.0.0.1:9090/api/v1/otlp", c.Endpoint)
	}
	if strings.HasSuffix(u.Path, "/v1/metrics") {
		return u.String(), nil
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/metrics"
	return u.String(), nil
}
