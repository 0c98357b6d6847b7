#!/usr/bin/env bash
# The chaos suite, under CPU and I/O stress: loopd killed -9 during a
# 5,000-file sync and during starts, containers killed behind its back,
# disks that fill and free, 50 services logging flat out, up/down races,
# 64 KiB +- 1 output lines, memory bombs in Loopfiles, FIFOs and devices
# (TestChaos_*, TestLeftover_* with 100 up/down races, and
# TestLoopfile_BombsAreIsolated in e2e/), then a short run of every fuzz
# target.
#
#   scripts/chaos.sh [FUZZTIME]       FUZZTIME per fuzz target, default 10s
set -euo pipefail
cd "$(dirname "$0")/.."
export LOOP_REQUIRE_DOCKER="${LOOP_REQUIRE_DOCKER:-1}"
export LOOP_TEST_RACE_N="${LOOP_TEST_RACE_N:-100}"
PKGS=./e2e/ scripts/soak.sh 1 -run 'TestChaos|TestLeftover|TestLoopfile_BombsAreIsolated' -v
scripts/fuzz.sh "${1:-10s}"
