#!/usr/bin/env bash
# Installs Debian's stress-ng (CPU and I/O load beside the up/down race
# test, scripts/chaos.sh and scripts/soak.sh) unless it exists.
set -euo pipefail
if command -v stress-ng >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq stress-ng >/dev/null
command -v stress-ng >/dev/null
