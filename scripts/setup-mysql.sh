#!/usr/bin/env bash
# Installs Debian's MariaDB server (binaries only are used: database(engine=
# "mysql") runs its own server under LOOP_HOME) unless mariadbd exists.
set -euo pipefail
if command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq mariadb-server >/dev/null
[ -x /usr/sbin/mariadbd ]
