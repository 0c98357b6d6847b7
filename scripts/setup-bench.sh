#!/usr/bin/env bash
# Installs the peers the benchmark compares loop with: entr (Debian) and
# air (go install). Idempotent.
set -euo pipefail
if ! command -v entr >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq entr >/dev/null
fi
if ! command -v air >/dev/null 2>&1 && ! [ -x "$(go env GOPATH)/bin/air" ]; then
  go install github.com/air-verse/air@v1.67.4
fi
echo "setup-bench: entr $(command -v entr), air $(command -v air || echo "$(go env GOPATH)/bin/air")"
