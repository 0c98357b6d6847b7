#!/usr/bin/env bash
# Runs the windows/amd64 unit tests of loop's packages under Wine 8
# (scripts/setup-wine.sh): a real run of the Windows code paths (job
# objects, os.Root confinement, PATHEXT lookup, LOCALAPPDATA) on this Linux
# machine. Wine is not Windows: where it differs (symlinks, see the skips
# that name Wine), a test says so and skips.
#
#   scripts/wine-test.sh [PACKAGE ...]    default: $packages below
#
# Each test binary is built with GOOS=windows and a file added through
# -overlay (scripts/wine/deleteat.go.txt: Go's RemoveAll falls back to the
# older delete call Wine implements), and runs in its package directory.
set -euo pipefail
cd "$(dirname "$0")/.."
export WINEPREFIX=${LOOP_WINEPREFIX:-/var/cache/loop-wine/prefix} WINEDEBUG=-all
# Docker, Kubernetes and the browser live on the Linux side: a Windows test
# binary cannot reach them, so CI's "must be there" flags do not apply here
# (the tests that need them skip, as they do on a machine without them).
unset LOOP_REQUIRE_DOCKER LOOP_REQUIRE_K8S LOOP_REQUIRE_BROWSER

# The packages with Windows code paths, and pure ones whose tests touch
# files and processes. Not here: internal/daemon and everything that talks
# to loopd (Wine has no AF_UNIX sockets; Windows 10 does), the runtimes,
# e2e and bench (Linux-only).
packages=(
	./internal/runtime/process ./internal/cmdpath ./internal/sync ./internal/signame
	./internal/watch ./internal/subpath ./internal/model ./internal/loopfile
	./internal/output ./internal/buildinfo ./internal/cli
)
[ $# -eq 0 ] || packages=("$@")

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failed=()
for p in "${packages[@]}"; do
	dir=$(go list -f '{{.Dir}}' "$p")
	name=$(go list -f '{{.Name}}' "$p")
	sed "s/^package PACKAGE$/package $name/" scripts/wine/deleteat.go.txt >"$out/deleteat_$name.go"
	printf '{"Replace":{"%s/zz_wine_deleteat_test.go":"%s/deleteat_%s.go"}}' "$dir" "$out" "$name" >"$out/overlay.json"
	exe="$out/$(basename "$dir").test.exe"
	GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -c -overlay "$out/overlay.json" -ldflags=-checklinkname=0 -o "$exe" "$p"
	[ -f "$exe" ] || { echo "wine-test: $p has no tests"; continue; }
	start=$(date +%s)
	# Success is the binary's own verdict: exit 0 and its last line PASS (a
	# Wine that went away meanwhile must not read as a pass).
	if (cd "$dir" && timeout 600 wine "$exe" -test.count=1 -test.timeout=5m >"$out/log" 2>&1) &&
		[ "$(tail -n 1 "$out/log" | tr -d '\r')" = PASS ]; then
		echo "ok   $p (wine, $(( $(date +%s) - start )) s)"
	else
		echo "FAIL $p (wine)"
		grep -v '^=== ' "$out/log" | tail -40
		failed+=("$p")
	fi
done
if [ ${#failed[@]} -gt 0 ]; then
	echo "wine-test: failed: ${failed[*]}"
	exit 1
fi
