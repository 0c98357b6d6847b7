#!/usr/bin/env bash
# Installs Debian's OpenSSH server and client for the tests of ssh://
# DOCKER_HOST (they run their own sshd on 127.0.0.1 with a throwaway key;
# the system's sshd is not started) unless sshd and ssh exist.
set -euo pipefail
if [ -x /usr/sbin/sshd ] && command -v ssh >/dev/null; then
  exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq openssh-server openssh-client >/dev/null
[ -x /usr/sbin/sshd ]
