#!/usr/bin/env bash
# Installs the reference Dev Containers CLI (npm @devcontainers/cli) for the
# devcontainer conformance test (e2e/devcontainer_conformance_test.go), which
# runs the same devcontainer.json through it and through loop. Node comes
# from Debian when missing. The CLI goes to $LOOP_DEVCONTAINER_CLI_DIR
# (default ~/.cache/loop/devcontainer-cli), where the test looks for
# node_modules/.bin/devcontainer. Idempotent; safe on every CI run.
set -euo pipefail
version=0.89.0
dir="${LOOP_DEVCONTAINER_CLI_DIR:-$HOME/.cache/loop/devcontainer-cli}"
bin="$dir/node_modules/.bin/devcontainer"
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]; then
  echo "setup-devcontainer-cli: @devcontainers/cli $version already in $dir"
  exit 0
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p "$dir"
npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "@devcontainers/cli@$version" >/dev/null
echo "setup-devcontainer-cli: installed @devcontainers/cli $("$bin" --version) in $dir"
