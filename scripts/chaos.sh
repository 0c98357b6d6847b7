#!/usr/bin/env bash
# The chaos suite, under CPU and I/O stress: loopd killed -9 during a
# 5,000-file sync and during starts, containers killed behind its back,
# disks that fill and free, 50 services logging flat out, up/down races,
# 64 KiB +- 1 output lines, memory bombs in Loopfiles, FIFOs and devices
# (the TestChaos_* tests in e2e/ and the up/down race test), then a short
# run of every fuzz target.
#
#   scripts/chaos.sh [FUZZTIME]       FUZZTIME per fuzz target, default 10s
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOP_REQUIRE_DOCKER="${LOOP_REQUIRE_DOCKER:-1}"
PKGS=./e2e/ scripts/soak.sh 1 -run 'TestChaos|TestRace' -v
scripts/fuzz.sh "${1:-10s}"
