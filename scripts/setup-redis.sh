#!/usr/bin/env bash
# Installs Debian's redis-server (the binary only is used: database(engine=
# "redis") runs its own server under LOOP_HOME) unless redis-server exists.
set -euo pipefail
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq redis-server >/dev/null
command -v redis-server >/dev/null
