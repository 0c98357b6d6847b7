#!/usr/bin/env bash
# Every release target builds and vets, and a release dry run packs them
# (issue 15). .ci/run runs it before the tests.
#
#   scripts/crossbuild.sh [GOOS/GOARCH ...]    default: all six targets
#
# For each target, with CGO_ENABLED=0 and -trimpath (the release's flags,
# so vet and the release share one compiled package per target in the
# build cache): `go vet ./...`, which type-checks every package and its
# test files too, so the darwin and windows test binaries are known to
# compile (Linux-only tests carry a linux or unix build tag). Then
# `go run ./scripts/release -dry-run` builds loop and loopd for the same
# targets and writes the archives, SHA256SUMS, SBOMs, the Homebrew
# formula and the Scoop manifest to $LOOP_DIST (a temporary directory by
# default), and the release's own test checks two Linux archives byte for
# byte. Nothing for darwin or windows is run here: see README
# "Platforms" for what ran where.
#
# Cost: on a warm build cache about a minute per target; on a cold one the
# dependencies compile once per target (10-20 minutes each on a 2-core
# machine), which the build cache then keeps.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)
fi
for t in "${targets[@]}"; do
	start=$(date +%s)
	GOOS=${t%/*} GOARCH=${t#*/} CGO_ENABLED=0 go vet -trimpath ./...
	echo "crossbuild: vet $t ok ($(( $(date +%s) - start )) s)"
done

dist=${LOOP_DIST:-$(mktemp -d)}
start=$(date +%s)
go run ./scripts/release -version v0.0.0-ci -dry-run -out "$dist" \
	-targets "$(IFS=,; echo "${targets[*]}")" -base-url https://example.invalid/loop
echo "crossbuild: release dry run ok ($(( $(date +%s) - start )) s): $dist"
ls -l "$dist"
LOOP_TEST_RELEASE=1 go test -count=1 -run TestRun_linux ./scripts/release
if [ -z "${LOOP_DIST:-}" ]; then
	rm -rf "$dist"
fi
