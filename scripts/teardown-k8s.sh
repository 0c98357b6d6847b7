#!/usr/bin/env bash
# Stops the test cluster that scripts/setup-k8s.sh started and undoes what it
# did to the machine: removes every pod (so the CNI tears down each pod's
# network and namespace), stops the kubelet, containerd, the control plane and
# etcd, unmounts what is left under its state, removes its bridge and cgroups,
# and puts back the kernel settings it changed (net.ipv4.ip_forward and the
# kubelet's). The build cache (/var/cache/loop-k8s) and the cluster's data
# (/var/lib/loop-k8s: etcd, certificates, images) stay, so a later setup is
# quick; LOOP_K8S_PURGE=1 removes the data too (not the build cache).
set -uo pipefail

STATE=/var/lib/loop-k8s
RUN=/run/loop-k8s
CACHE=${LOOP_K8S_CACHE:-/var/cache/loop-k8s}
SOCK=$RUN/containerd/containerd.sock
BRIDGE=loopk8s0
CGROUP_ROOT=loop-k8s
log() { echo "teardown-k8s: $*"; }
[ "$(id -u)" = 0 ] || { echo "teardown-k8s: run as root" >&2; exit 1; }

# pid_of NAME MARKER: the pid in $RUN/NAME.pid when that process is still the
# one setup started (MARKER is a word of its command line).
pid_of() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2" && echo "$pid"
}
# stop NAME MARKER: SIGTERM, then SIGKILL after 15 s.
stop() {
  local pid i
  if pid=$(pid_of "$1" "$2"); then
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 75; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null && sleep 0.2
    log "stopped $1 ($pid)"
  fi
  rm -f "$RUN/$1.pid"
}

BIN=$(readlink -f "$CACHE/bin/loop-k8s" 2>/dev/null || true)

# The kubelet first, so that it restarts no pod; then every pod sandbox
# through the CRI, while containerd still runs.
stop kubelet "loop-k8s kubelet"
if pid_of containerd "$STATE/containerd/config.toml" >/dev/null; then
  if [ -x "$BIN" ]; then
    "$BIN" cri-cleanup -endpoint "unix://$SOCK" || log "cri-cleanup failed; going on"
  fi
  # Whatever is left (tasks outside the CRI): killed.
  for ns in $(ctr -a "$SOCK" namespaces ls -q 2>/dev/null); do
    for t in $(ctr -a "$SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
      ctr -a "$SOCK" -n "$ns" tasks kill -s SIGKILL "$t" >/dev/null 2>&1
      sleep 0.2
      ctr -a "$SOCK" -n "$ns" tasks delete -f "$t" >/dev/null 2>&1
    done
  done
fi
stop containerd "$STATE/containerd/config.toml"
# The shims of this containerd (its state dir is in their command line).
for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $SOCK" 2>/dev/null); do
  kill -KILL "$p" 2>/dev/null && log "killed shim $p"
done

stop kube-scheduler "loop-k8s kube-scheduler"
stop kube-controller-manager "loop-k8s kube-controller-manager"
stop kube-apiserver "loop-k8s kube-apiserver"
stop etcd "loop-k8s etcd"

# Mounts left under the cluster's state (pod volumes, rootfs, shm), deepest first.
for m in $(awk '{print $2}' /proc/mounts | grep -E "^($STATE|$RUN)/" | sort -r); do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
done
# Network namespaces of pods whose sandbox could not be removed: those whose
# address is in the pod subnet's bridge are ours; the CRI names them cni-*.
if [ -d /sys/class/net/$BRIDGE ]; then
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do
    if ip -n "$ns" -4 -o addr show 2>/dev/null | grep -q "$(ip -4 -o addr show $BRIDGE | awk '{split($4, a, "."); print a[1]"."a[2]"."a[3]"."; exit}')"; then
      ip netns delete "$ns" && log "removed netns $ns"
    fi
  done
  ip link delete "$BRIDGE" && log "removed bridge $BRIDGE"
fi
# The host-local IPAM's leases (the pods are gone).
rm -rf "$STATE/cni/ipam"
# The CNI results cache (libcni keeps it in /var/lib/cni whatever the config).
rm -f /var/lib/cni/results/loop-k8s-* 2>/dev/null
# /var/lib/kubelet (the kubelet's device plugin socket), when setup made it.
if [ -f "$RUN/var-lib-kubelet.ours" ]; then
  rm -rf /var/lib/kubelet && log "removed /var/lib/kubelet"
fi
# Dangling links the kubelet left in /var/log/containers to our pod logs.
for l in /var/log/containers/*; do
  [ -L "$l" ] || continue
  case "$(readlink "$l")" in "$STATE"/*) rm -f "$l" ;; esac
done

# The kubelet's cgroups, deepest first.
for h in /sys/fs/cgroup/*/; do
  [ -d "$h$CGROUP_ROOT" ] || continue
  find "$h$CGROUP_ROOT" -depth -type d -exec rmdir {} \; 2>/dev/null
  [ -d "$h$CGROUP_ROOT" ] && log "could not remove cgroup $h$CGROUP_ROOT"
done

# The kernel settings, as they were before setup.
if [ -f "$RUN/sysctl.orig" ]; then
  while IFS== read -r k v; do
    [ -n "$k" ] || continue
    if [ "$(sysctl -n "$k" 2>/dev/null)" != "$v" ]; then
      sysctl -q -w "$k=$v" && log "restored $k=$v"
    fi
  done <"$RUN/sysctl.orig"
  rm -f "$RUN/sysctl.orig"
fi

rm -rf "$RUN"
if [ "${LOOP_K8S_PURGE:-}" = 1 ]; then
  rm -rf "$STATE" && log "removed $STATE"
fi
log "done"
