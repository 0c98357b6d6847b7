// Package telemetry sends loop's platform metrics off the machine, opt-in,
// over OTLP/HTTP (any OpenTelemetry receiver: a Collector, Prometheus
// with --web.enable-otlp-receiver, a vendor's endpoint).
//
// It records nothing of its own: loopd's recorder hands it every row it
// stores (Event), the feedback route every answer (Feedback), and Run
// reads new `loop ship` records from the store (the CLI writes those). What
// each row counts for is package metrics' decision (metrics.Classify,
// metrics.FirstReady, metrics.LeadTime, metrics.NPSCategory), so /metrics,
// `loop stats` and the export never disagree on what a run or a failure is.
//
// Only counts and durations leave: instruments.go lists every metric and
// attribute. Project and resource names are salted hashes unless
// Config.ProjectNames allows them in clear. A failing endpoint never
// affects loopd: each failed export is counted and logged at most once a
// minute, and data of an interval that cannot be sent is dropped.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/loopdev/loop/api"
	"github.com/loopdev/loop/internal/metrics"
	"github.com/loopdev/loop/internal/store"
)

// Options are what the exporter needs from loopd besides its Config.
type Options struct {
	Home    string // LOOP_HOME: the installation's identity lives there
	Version string // loop's version (buildinfo), sent as service.version
	Logger  *slog.Logger
	// Ships is where `loop ship` records are read from (nil: no deploy
	// metrics).
	Ships ShipReader
	// PolicyExceptions feeds the loop.policy.exceptions gauge at each
	// export: the number of policy exceptions in force, by project name
	// ("" for those of no project). nil: the gauge is not sent.
	PolicyExceptions func() map[string]int64
}

// ShipReader reads ship records in the order they were written
// (*store.Store).
type ShipReader interface {
	LastShipID(ctx context.Context) (int64, error)
	ShipsAfter(ctx context.Context, id int64, limit int) ([]store.Ship, error)
}

var _ ShipReader = (*store.Store)(nil)

// Exporter records loop's events into OpenTelemetry instruments and
// exports them. A nil *Exporter is off: every method does nothing.
type Exporter struct {
	cfg      Config
	id       Identity
	logger   *slog.Logger
	provider *sdkmetric.MeterProvider
	inst     instruments
	ships    ShipReader
	lastShip int64 // owned by Run's goroutine

	mu         sync.Mutex
	firstReady metrics.FirstReady // guarded by mu

	errs     atomic.Int64
	errMu    sync.Mutex
	lastErr  string
	loggedAt time.Time
}

// New starts an exporter that posts to cfg's endpoint every interval.
// Call Run to read ships and to flush on shutdown.
func New(cfg Config, opts Options) (*Exporter, error) {
	target, err := cfg.metricsURL()
	if err != nil {
		return nil, err
	}
	id, err := LoadIdentity(opts.Home)
	if err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	otlp, err := otlpmetrichttp.New(context.Background(),
		otlpmetrichttp.WithEndpointURL(target),
		otlpmetrichttp.WithTimeout(exportTimeout),
		// One try per interval: the next export carries the cumulative
		// figures anyway.
		otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}))
	if err != nil {
		return nil, fmt.Errorf("telemetry exporter for %s: %w", target, err)
	}
	x := &Exporter{}
	res := newResource(id, opts.Version)
	counted := &countingExporter{Exporter: otlp, res: res, target: target, fail: x.fail}
	reader := sdkmetric.NewPeriodicReader(counted, sdkmetric.WithInterval(cfg.interval()), sdkmetric.WithTimeout(exportTimeout))
	if err := x.init(cfg, opts, id, reader); err != nil {
		return nil, err
	}
	x.logger.Info("telemetry export on", "endpoint", target, "interval", cfg.interval().String(),
		"project_names", cfg.ProjectNames, "installation_id", id.ID)
	return x, nil
}

// exportTimeout bounds one export, and the final flush.
const exportTimeout = 10 * time.Second

// init builds the provider and instruments over reader (a ManualReader in
// tests).
func (x *Exporter) init(cfg Config, opts Options, id Identity, reader sdkmetric.Reader) error {
	x.cfg, x.id, x.ships = cfg, id, opts.Ships
	x.logger = opts.Logger
	if x.logger == nil {
		x.logger = slog.New(slog.DiscardHandler)
	}
	x.logger = x.logger.With("component", "telemetry")
	x.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader),
		sdkmetric.WithResource(newResource(id, opts.Version)))
	inst, err := newInstruments(x.provider.Meter("github.com/loopdev/loop"), x.policyCallback(opts.PolicyExceptions))
	if err != nil {
		return fmt.Errorf("telemetry instruments: %w", err)
	}
	x.inst = inst
	return nil
}

// newResource describes the installation: no host name, user or path.
func newResource(id Identity, version string) *resource.Resource {
	return resource.NewSchemaless(
		attribute.String("service.name", "loopd"),
		attribute.String("service.version", version),
		attribute.String("service.instance.id", id.ID),
		attribute.String("os.type", goruntime.GOOS),
		attribute.String("host.arch", goruntime.GOARCH),
	)
}

// Run reads new ship records every interval until ctx ends, then flushes
// what is left (bounded by exportTimeout) and shuts the exporter down.
func (x *Exporter) Run(ctx context.Context) {
	if x == nil {
		return
	}
	if x.ships != nil {
		last, err := x.ships.LastShipID(ctx)
		if err != nil {
			x.logger.Warn("telemetry: ship records unreadable: deploys are not exported until they are", "err", err)
		}
		x.lastShip = last
	}
	t := time.NewTicker(x.cfg.interval())
	defer t.Stop()
	for {
		select {
		case <-t.C:
			x.readShips(ctx)
		case <-ctx.Done():
			x.readShips(context.Background())
			x.shutdown()
			return
		}
	}
}

func (x *Exporter) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	if err := x.provider.Shutdown(ctx); err != nil {
		x.fail(fmt.Errorf("final export: %w", err))
	}
}

// readShips records the ships written since the last look.
func (x *Exporter) readShips(ctx context.Context) {
	if x.ships == nil {
		return
	}
	for {
		shs, err := x.ships.ShipsAfter(ctx, x.lastShip, 100)
		if err != nil {
			x.logger.Debug("telemetry: read ship records", "err", err)
			return
		}
		for _, sh := range shs {
			x.Ship(sh)
			x.lastShip = sh.ID
		}
		if len(shs) < 100 {
			return
		}
	}
}

// Status describes the export for /v1/stats and `loop doctor`; nil when
// off.
func (x *Exporter) Status() *api.Telemetry {
	if x == nil {
		return nil
	}
	n, last := x.Errors()
	target, _ := x.cfg.metricsURL()
	return &api.Telemetry{Endpoint: target, IntervalSeconds: x.cfg.interval().Seconds(), ProjectNames: x.cfg.ProjectNames,
		InstallationID: x.id.ID, Errors: n, LastError: last}
}

// Errors is the number of failed exports and the last error.
func (x *Exporter) Errors() (int64, string) {
	if x == nil {
		return 0, ""
	}
	x.errMu.Lock()
	defer x.errMu.Unlock()
	return x.errs.Load(), x.lastErr
}

// fail counts a failed export and logs it, at most once a minute.
func (x *Exporter) fail(err error) {
	n := x.errs.Add(1)
	x.errMu.Lock()
	x.lastErr = err.Error()
	logIt := time.Since(x.loggedAt) >= time.Minute
	if logIt {
		x.loggedAt = time.Now()
	}
	x.errMu.Unlock()
	if logIt {
		x.logger.Warn("telemetry export failed: loopd runs on, this interval's data is dropped", "err", err, "errors", n)
	}
}

// countingExporter sends through the OTLP exporter with exactly the
// installation's resource (the SDK would add OTEL_RESOURCE_ATTRIBUTES from
// the environment), and turns a failure into a counted, rate-limited log
// line instead of the SDK's global error handler.
type countingExporter struct {
	sdkmetric.Exporter
	res    *resource.Resource
	target string
	fail   func(error)
}

var _ sdkmetric.Exporter = (*countingExporter)(nil)

func (c *countingExporter) Export(ctx context.Context, rm *metricdata.ResourceMetrics) error {
	rm.Resource = c.res
	if err := c.Exporter.Export(ctx, rm); err != nil {
		if errors.Is(context.Cause(ctx), context.Canceled) {
			// Shutdown cancels an interval's export in flight; the final
			// flush that follows carries the same cumulative figures, so
			// nothing is lost and nothing failed.
			return nil
		}
		c.fail(fmt.Errorf("export to %s: %w", c.target, err))
	}
	return nil
}
