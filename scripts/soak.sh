#!/usr/bin/env bash
# Soak mode: the whole test suite with CPU and I/O stress beside it
# (stress-ng --cpu 2 --io 1), RUNS times in a row; every run must pass.
# A laptop is rarely idle: loop's tests wait on conditions, never on
# sleeps, so they must pass on a busy machine too.
#
#   scripts/soak.sh [RUNS] [go test flags...]     e.g. scripts/soak.sh 2
#   PKGS=./e2e/ scripts/soak.sh 1 -run TestChaos  (PKGS: the packages, default ./...)
#
# Set LOOP_REQUIRE_DOCKER=1 (as .ci/run does) so that Docker tests fail
# instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."

runs="${1:-1}"
shift || true
if ! command -v stress-ng >/dev/null; then
	echo "soak: stress-ng is missing: apt-get install stress-ng" >&2
	exit 2
fi

stress-ng --cpu 2 --io 1 --timeout 0 --quiet &
stress=$!
trap 'kill "$stress" 2>/dev/null; wait "$stress" 2>/dev/null || true' EXIT

for i in $(seq 1 "$runs"); do
	start=$(date +%s)
	echo "soak: run $i of $runs, with stress-ng --cpu 2 --io 1 beside it"
	# shellcheck disable=SC2086 # PKGS is a list
	if ! go test ${PKGS:-./...} -count=1 -timeout 45m "$@"; then
		echo "soak: run $i FAILED after $(($(date +%s) - start))s" >&2
		exit 1
	fi
	echo "soak: run $i passed in $(($(date +%s) - start))s"
done
