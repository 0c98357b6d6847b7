#!/usr/bin/env bash
# Installs Debian's docker.io and starts dockerd in the background, unless a
# Docker engine already answers. Idempotent; safe to run on every CI run.
set -euo pipefail
sock=/var/run/docker.sock
if [ -S "$sock" ] && docker version >/dev/null 2>&1; then
  echo "setup-docker: engine already running"
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! [ -S "$sock" ] || ! docker version >/dev/null 2>&1; then
  nohup dockerd >/var/log/dockerd.log 2>&1 &
  for _ in $(seq 1 120); do
    if docker version >/dev/null 2>&1; then break; fi
    sleep 0.5
  done
fi
docker version --format 'setup-docker: engine {{.Server.Version}} (API {{.Server.APIVersion}})'
