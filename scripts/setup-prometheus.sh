#!/usr/bin/env bash
# Installs the Prometheus server the telemetry tests export to (its OTLP
# receiver, --web.enable-otlp-receiver), built from the Go module: nothing
# can be downloaded here but Go modules, so no release tarball or image.
#
# The binary is cached under $LOOP_PROMETHEUS_CACHE (default
# /var/cache/loop-prometheus), one directory per version, and the tests
# find it at $CACHE/bin/prometheus (or $LOOP_PROMETHEUS). A rerun with the
# binary of the right version present does nothing.
#
# Cost: a cold build (module downloads, then compiling and linking)
# took 35 minutes of wall time (15 of CPU) on a busy 2-core
# machine; a cached run returns at once. `go install` reports no version
# (`prometheus --version` prints an empty one), so the cache directory's
# name is the version. The tests start their own server on a free port with
# temporary storage (e2e/telemetry_test.go).
set -euo pipefail

V=v0.316.0 # github.com/prometheus/prometheus module version (Prometheus 3.x)
CACHE=${LOOP_PROMETHEUS_CACHE:-/var/cache/loop-prometheus}
DIR=$CACHE/$V
BIN=$DIR/prometheus

log() { echo "setup-prometheus: $*"; }

if [ ! -x "$BIN" ]; then
  log "building prometheus $V into $DIR (a cold build takes about 35 minutes)"
  t0=$(date +%s)
  rm -rf "$DIR.tmp" && mkdir -p "$DIR.tmp"
  GOBIN="$DIR.tmp" go install "github.com/prometheus/prometheus/cmd/prometheus@$V"
  rm -rf "$DIR" && mv "$DIR.tmp" "$DIR"
  log "built in $(( $(date +%s) - t0 ))s"
fi
mkdir -p "$CACHE/bin"
ln -sfn "$BIN" "$CACHE/bin/prometheus"
"$CACHE/bin/prometheus" --version | head -1
log "ready: $CACHE/bin/prometheus ($V)"
