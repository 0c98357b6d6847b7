package telemetry

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// DefaultInterval is how often metrics are exported when Config.Interval
// is zero.
const DefaultInterval = 60 * time.Second

// Config turns the export on and shapes it. Package config fills it from
// the config files' `telemetry:` section and the LOOP_TELEMETRY_*
// variables (docs/config.md).
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

// CheckEndpoint says whether s can be an Endpoint: an http(s) URL with a
// host ("" is fine: no export). The config files and the environment
// (package config) are checked with it.
func CheckEndpoint(s string) error {
	_, err := Config{Endpoint: s}.metricsURL()
	return err
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
