#!/usr/bin/env bash
# Installs Debian's PostgreSQL (binaries only are used: database() runs its
# own cluster under LOOP_HOME) unless /usr/lib/postgresql/*/bin/postgres exists.
set -euo pipefail
if compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq postgresql >/dev/null
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null
