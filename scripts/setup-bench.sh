#!/usr/bin/env bash
# Installs the peers the benchmark compares loop with: entr (Debian), air
# (go install) and Docker Compose `watch` (the compose CLI plugin, built
# from its Go module). Idempotent; a second run is instant.
set -euo pipefail
if ! command -v entr >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq entr >/dev/null
fi
if ! command -v air >/dev/null 2>&1 && ! [ -x "$(go env GOPATH)/bin/air" ]; then
  go install github.com/air-verse/air@v1.67.4
fi
echo "setup-bench: entr $(command -v entr), air $(command -v air || echo "$(go env GOPATH)/bin/air")"

# Docker Compose: the plugin main is the module's cmd package. v5.6.0 is
# the newest that builds with Go 1.26 (later ones need a newer Go) and it
# works against Engine 20.10 (API 1.41; its client negotiates down to
# 1.40). It is built in a throwaway module of its own, so loop's go.mod
# never gets compose's dependencies, and the binary is cached: building it
# takes about 4 minutes of CPU (17 minutes on a busy 2-core machine).
compose_version=v5.6.0
plugin="$HOME/.docker/cli-plugins/docker-compose"
if ! command -v docker >/dev/null 2>&1; then
  echo "setup-bench: no docker CLI (scripts/setup-docker.sh installs docker.io, which has one): compose not installed"
  exit 0
fi
if [ "$(docker compose version --short 2>/dev/null || true)" != "${compose_version#v}" ]; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/loop-bench/compose-$compose_version"
  if ! [ -x "$cache/docker-compose" ]; then
    mkdir -p "$cache/src"
    (
      cd "$cache/src"
      [ -f go.mod ] || go mod init loopbench/compose >/dev/null 2>&1
      if ! go get "github.com/docker/compose/v5/cmd@$compose_version" >get.log 2>&1; then
        cat get.log >&2
        exit 1
      fi
      echo "setup-bench: building docker compose $compose_version (minutes) ..."
      CGO_ENABLED=0 go build -trimpath \
        -ldflags "-w -s -X github.com/docker/compose/v5/internal.Version=$compose_version" \
        -o "$cache/docker-compose.tmp" github.com/docker/compose/v5/cmd
    )
    mv "$cache/docker-compose.tmp" "$cache/docker-compose"
  fi
  mkdir -p "$(dirname "$plugin")"
  install -m 0755 "$cache/docker-compose" "$plugin"
fi
echo "setup-bench: docker compose $(docker compose version --short) ($plugin)"
