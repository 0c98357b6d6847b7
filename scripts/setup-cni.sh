#!/usr/bin/env bash
# Installs Debian's containernetworking-plugins (the CNI plugins bridge,
# host-local, portmap, firewall and tuning in /usr/lib/cni) unless they
# exist: the containerd runtime's per-project networks use them.
set -euo pipefail
have() {
  for p in bridge host-local portmap firewall tuning; do
    [ -x "/usr/lib/cni/$p" ] || return 1
  done
}
if have; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq containernetworking-plugins >/dev/null
have
