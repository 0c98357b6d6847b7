#!/usr/bin/env bash
# Starts a real single-node Kubernetes v1.34.4 cluster on this machine for the
# tests, built from Go modules (nothing can be pulled here, so kind and k3d
# cannot work): etcd (embedded), kube-apiserver, kube-controller-manager,
# kube-scheduler and kubelet, all one binary built from scripts/k8s, on a
# containerd of its own (Debian's, with its own config, socket, root and
# state, never Docker's), runc and Debian's CNI plugins (a bridge of its own).
# The sandbox (pause) image is built here and imported.
#
# Idempotent: the binary is cached under $LOOP_K8S_CACHE (default
# /var/cache/loop-k8s) keyed by a hash of scripts/k8s, and a rerun while the
# cluster is up changes nothing. scripts/teardown-k8s.sh stops it all.
#
#   KUBECONFIG=/var/lib/loop-k8s/kubeconfig   (context loop-test)
#   /var/cache/loop-k8s/bin/kubectl           (kubectl of the same build)
#   images: ctr -a /run/loop-k8s/containerd/containerd.sock -n k8s.io images import IMAGE.tar
#   logs: /var/log/loop-k8s/*.log
set -euo pipefail

SRC=$(cd "$(dirname "$0")/k8s" && pwd)
CACHE=${LOOP_K8S_CACHE:-/var/cache/loop-k8s}
STATE=/var/lib/loop-k8s
RUN=/run/loop-k8s
LOGS=/var/log/loop-k8s
PORT=${LOOP_K8S_PORT:-16443}
ETCD=http://127.0.0.1:12379
NODE=localhost # resolves to 127.0.0.1: the apiserver reaches the kubelet there
POD_SUBNET=${LOOP_K8S_POD_SUBNET:-10.244.0.0/24}
SERVICE_SUBNET=10.96.0.0/24
SERVICE_IP=10.96.0.1
BRIDGE=loopk8s0
SOCK=$RUN/containerd/containerd.sock
SANDBOX_IMAGE=registry.k8s.io/pause:3.10
KUBECONFIG_FILE=$STATE/kubeconfig
CGROUP_ROOT=loop-k8s
SYSCTLS="net.ipv4.ip_forward vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops kernel.keys.root_maxkeys kernel.keys.root_maxbytes"

t0=$(date +%s%N)
since() { echo "$(( ($(date +%s%N) - t0) / 1000000 ))ms"; }
log() { echo "setup-k8s: $* ($(since))"; }
die() { echo "setup-k8s: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root"

# --- packages: containerd, runc, the CNI plugins (Debian's) -------------------
need=()
[ -x /usr/bin/containerd ] && [ -x /usr/bin/ctr ] || need+=(containerd)
[ -x /usr/sbin/runc ] || need+=(runc)
for p in bridge host-local loopback; do
  [ -x /usr/lib/cni/$p ] || { need+=(containernetworking-plugins); break; }
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- the binary: built once per version of scripts/k8s -------------------------
# The version the binaries report (kubectl version, the node's kubeletVersion).
V=v1.34.4
LDFLAGS="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS+=" -X $p.gitVersion=$V -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean -X $p.buildDate=2026-01-01T00:00:00Z"
done
key=$( (cd "$SRC" && cat go.mod go.sum $(find . -name '*.go' | LC_ALL=C sort) && go env GOVERSION GOARCH && echo "$LDFLAGS") | sha256sum | cut -c1-16)
BUILD=$CACHE/build/$key
BIN=$BUILD/loop-k8s
if [ ! -x "$BIN" ] || [ ! -f "$BUILD/pause.tar" ]; then
  log "building loop-k8s ($key) into $BUILD; a cold build takes several minutes"
  rm -rf "$BUILD.tmp" && mkdir -p "$BUILD.tmp"
  (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags="$LDFLAGS" -o "$BUILD.tmp/loop-k8s" . \
    && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BUILD.tmp/pause" ./pause)
  "$BUILD.tmp/loop-k8s" oci-image -name "$SANDBOX_IMAGE" -binary "$BUILD.tmp/pause" -out "$BUILD.tmp/pause.tar"
  rm -rf "$BUILD" && mv "$BUILD.tmp" "$BUILD"
  log "built"
fi
mkdir -p "$CACHE/bin"
ln -sfn "$BIN" "$CACHE/bin/loop-k8s"
ln -sfn "$BIN" "$CACHE/bin/kubectl"
kubectl() { "$BIN" kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

# A cluster started by another build of the binary is stopped first.
if [ -f "$RUN/build" ] && [ "$(cat "$RUN/build")" != "$key" ]; then
  log "the running cluster is of build $(cat "$RUN/build"): restarting it on $key"
  "$(dirname "$0")/teardown-k8s.sh"
fi
# Builds other than this one are removed (the Go build cache stays).
for d in "$CACHE"/build/*; do
  [ "$d" = "$BUILD" ] || [ ! -d "$d" ] || rm -rf "$d"
done

mkdir -p "$STATE" "$RUN" "$LOGS"
echo "$key" >"$RUN/build"

# The kernel settings the CNI bridge (ip_forward) and the kubelet (the others)
# change, recorded once so that teardown-k8s.sh puts them back.
if [ ! -f "$RUN/sysctl.orig" ]; then
  for s in $SYSCTLS; do echo "$s=$(sysctl -n "$s")"; done >"$RUN/sysctl.orig.tmp"
  mv "$RUN/sysctl.orig.tmp" "$RUN/sysctl.orig"
fi

# The kubelet's device plugin socket is always in /var/lib/kubelet/device-plugins
# (no flag moves it): teardown removes /var/lib/kubelet when setup made it.
if [ ! -e /var/lib/kubelet ] && [ ! -f "$RUN/var-lib-kubelet.ours" ]; then
  touch "$RUN/var-lib-kubelet.ours"
fi

# --- the node's address --------------------------------------------------------
# The kubelet refuses a loopback node IP: the address of the default route's
# interface (eth0 here). Nothing is sent to it: the apiserver reaches the
# kubelet by the node's hostname (localhost).
NODE_IP=${LOOP_K8S_NODE_IP:-}
if [ -z "$NODE_IP" ]; then
  dev=$(ip -4 -o route show default 2>/dev/null | awk '{print $5; exit}')
  NODE_IP=$(ip -4 -o addr show "${dev:-eth0}" | awk '{split($4, a, "/"); print a[1]; exit}')
fi
[ -n "$NODE_IP" ] || die "no IPv4 address for the node: set LOOP_K8S_NODE_IP"

# --- certificates and kubeconfigs ----------------------------------------------
"$BIN" certs -dir "$STATE/pki" -kubeconfig-dir "$STATE" -node "$NODE" -node-ip "$NODE_IP" \
  -server "https://127.0.0.1:$PORT" -service-ip "$SERVICE_IP" -context loop-test

# --- configuration files -------------------------------------------------------
# write FILE: stdin to FILE, only when it differs (a rerun touches nothing).
write() {
  local tmp="$1.tmp"
  mkdir -p "$(dirname "$1")"
  cat >"$tmp"
  if cmp -s "$tmp" "$1"; then rm -f "$tmp"; else mv "$tmp" "$1"; fi
}

write "$STATE/containerd/config.toml" <<EOF
# containerd of the loop-k8s test cluster: its own socket, root and state.
version = 2
root = "$STATE/containerd/root"
state = "$RUN/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$RUN/containerd/containerd.sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  # No CAP_SYS_RESOURCE here: without this every sandbox fails in runc.
  restrict_oom_score_adj = true
  enable_selinux = false
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
EOF

write "$STATE/cni/net.d/10-loop-k8s.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "loop-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$STATE/cni/ipam",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF

write "$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 here: kubelet 1.34 runs on it when told so.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_ROOT
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: $STATE/pki/kubelet.crt
tlsPrivateKeyFile: $STATE/pki/kubelet.key
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: $STATE/pki/ca.crt
authorization:
  mode: Webhook
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
failSwapOn: false
makeIPTablesUtilChains: false
podLogsDir: $STATE/pod-logs
volumePluginDir: $STATE/kubelet/volume-plugins
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
maxPods: 110
EOF

# --- starting the components ---------------------------------------------------
# alive NAME: its process (from $RUN/NAME.pid) runs.
alive() {
  local pid
  pid=$(cat "$RUN/$1.pid" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}
# start NAME MARKER CMD...: runs CMD detached with its log in $LOGS/NAME.log,
# unless NAME runs (MARKER is a word of its command line).
start() {
  local name=$1 marker=$2
  shift 2
  if alive "$name" "$marker"; then return 0; fi
  echo "=== $(date -Is) starting: $*" >>"$LOGS/$name.log"
  setsid nohup "$@" >>"$LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN/$name.pid"
  started+=("$name")
}
# wait_for WHAT SECONDS CMD...: until CMD succeeds.
wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs * 5; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  die "timed out after ${secs}s waiting for $what (logs: $LOGS)"
}
started=()

mkdir -p "$STATE/etcd" "$RUN/containerd" "$STATE/pod-logs"
start etcd "loop-k8s etcd" "$BIN" etcd -data-dir "$STATE/etcd" -listen-client-url "$ETCD" -listen-peer-url http://127.0.0.1:12380
start containerd "$STATE/containerd/config.toml" /usr/bin/containerd --config "$STATE/containerd/config.toml"

wait_for etcd 60 curl -fsS "$ETCD/health"
start kube-apiserver "loop-k8s kube-apiserver" "$BIN" kube-apiserver \
  --etcd-servers="$ETCD" \
  --bind-address=127.0.0.1 --secure-port="$PORT" --advertise-address="$NODE_IP" \
  --service-cluster-ip-range="$SERVICE_SUBNET" \
  --client-ca-file="$STATE/pki/ca.crt" \
  --tls-cert-file="$STATE/pki/apiserver.crt" --tls-private-key-file="$STATE/pki/apiserver.key" \
  --kubelet-client-certificate="$STATE/pki/apiserver-kubelet-client.crt" \
  --kubelet-client-key="$STATE/pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$STATE/pki/ca.crt" \
  --kubelet-preferred-address-types=Hostname \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$STATE/pki/sa.pub" \
  --service-account-signing-key-file="$STATE/pki/sa.key" \
  --authorization-mode=Node,RBAC \
  --allow-privileged=true \
  --profiling=false \
  --event-ttl=30m

wait_for "containerd ($SOCK)" 60 ctr -a "$SOCK" version
# (No `ctr | grep -q`: ctr may then be left blocked on a closed pipe.)
has_image() { local out; out=$(ctr -a "$SOCK" -n k8s.io images ls -q) && grep -qxF "$1" <<<"$out"; }
if ! has_image "$SANDBOX_IMAGE"; then
  ctr -a "$SOCK" -n k8s.io images import --no-unpack "$BUILD/pause.tar" >/dev/null
  has_image "$SANDBOX_IMAGE" || die "importing $SANDBOX_IMAGE failed"
  log "imported $SANDBOX_IMAGE"
fi

wait_for kube-apiserver 120 kubectl get --raw /readyz

# The kubelet's cgroups go under /$CGROUP_ROOT in every hierarchy (removed by
# teardown); cpuset needs its cpus and mems before a task can join.
for h in /sys/fs/cgroup/*/; do
  [ -d "$h" ] && [ "$(basename "$h")" != unified ] || continue
  mkdir -p "$h$CGROUP_ROOT" 2>/dev/null || true
done
if [ -d /sys/fs/cgroup/cpuset/$CGROUP_ROOT ]; then
  c=/sys/fs/cgroup/cpuset
  [ -n "$(cat $c/$CGROUP_ROOT/cpuset.cpus)" ] || cat $c/cpuset.cpus >$c/$CGROUP_ROOT/cpuset.cpus
  [ -n "$(cat $c/$CGROUP_ROOT/cpuset.mems)" ] || cat $c/cpuset.mems >$c/$CGROUP_ROOT/cpuset.mems
fi

mkdir -p "$STATE/kcm/volume-plugins" "$STATE/kubelet/volume-plugins"
start kube-controller-manager "loop-k8s kube-controller-manager" "$BIN" kube-controller-manager \
  --kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$STATE/kube-controller-manager.kubeconfig" \
  --authentication-skip-lookup=true \
  --bind-address=127.0.0.1 \
  --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$STATE/pki/sa.key" \
  --root-ca-file="$STATE/pki/ca.crt" \
  --cluster-signing-cert-file="$STATE/pki/ca.crt" --cluster-signing-key-file="$STATE/pki/ca.key" \
  --service-cluster-ip-range="$SERVICE_SUBNET" \
  --flex-volume-plugin-dir="$STATE/kcm/volume-plugins" \
  --profiling=false
start kube-scheduler "loop-k8s kube-scheduler" "$BIN" kube-scheduler \
  --kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$STATE/kube-scheduler.kubeconfig" \
  --authentication-skip-lookup=true \
  --bind-address=127.0.0.1 \
  --leader-elect=false \
  --profiling=false
start kubelet "loop-k8s kubelet" "$BIN" kubelet \
  --config="$STATE/kubelet/config.yaml" \
  --kubeconfig="$STATE/kubelet.kubeconfig" \
  --root-dir="$STATE/kubelet" \
  --cert-dir="$STATE/kubelet/pki" \
  --hostname-override="$NODE" \
  --node-ip="$NODE_IP"
[ ${#started[@]} -eq 0 ] || log "started ${started[*]}"

# --- ready: the node, the default service account, a pod -------------------------
wait_for "node $NODE" 120 kubectl get node "$NODE"
kubectl wait --for=condition=Ready "node/$NODE" --timeout=120s >/dev/null ||
  die "node $NODE is not Ready (logs: $LOGS)"
wait_for "the default service account" 60 kubectl -n default get serviceaccount default

# The smoke test, once per start of the cluster: a pod of the pause image gets
# to Running and is reached through the apiserver by logs, exec and
# port-forward (the tests reach pods only so).
if [ ! -f "$RUN/smoke-ok" ]; then
  kubectl -n default delete pod loop-k8s-smoke --ignore-not-found --grace-period=0 --force >/dev/null 2>&1 || true
  kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: loop-k8s-smoke
  namespace: default
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: smoke
    image: $SANDBOX_IMAGE
    imagePullPolicy: Never
    args: ["-listen", ":8080"]
EOF
  kubectl -n default wait --for=condition=Ready pod/loop-k8s-smoke --timeout=120s >/dev/null ||
    { kubectl -n default describe pod loop-k8s-smoke >&2 || true; die "the smoke pod did not get Ready"; }
  log "smoke pod Running"
  kubectl -n default logs loop-k8s-smoke | grep -q "serving on" || die "kubectl logs failed"
  kubectl -n default exec loop-k8s-smoke -- /pause -v | grep -q pause || die "kubectl exec failed"
  pf_log=$RUN/smoke-port-forward.log
  kubectl -n default port-forward pod/loop-k8s-smoke :8080 >"$pf_log" 2>&1 &
  pf=$!
  wait_for "port-forward" 30 grep -q "Forwarding from 127.0.0.1:" "$pf_log"
  pf_port=$(sed -n 's/^Forwarding from 127.0.0.1:\([0-9]*\) .*/\1/p' "$pf_log" | head -1)
  body=$(curl -fsS --max-time 10 "http://127.0.0.1:$pf_port/" || true)
  kill "$pf" 2>/dev/null || true
  wait "$pf" 2>/dev/null || true
  [ "$body" = ok ] || die "port-forward failed (got '$body'; $pf_log)"
  kubectl -n default delete pod loop-k8s-smoke --wait=true --timeout=60s >/dev/null
  touch "$RUN/smoke-ok"
  log "logs, exec and port-forward through the apiserver work"
fi

echo "setup-k8s: cluster up in $(since): KUBECONFIG=$KUBECONFIG_FILE (context loop-test, server https://127.0.0.1:$PORT), kubectl: $CACHE/bin/kubectl, images: ctr -a $SOCK -n k8s.io images import, logs: $LOGS"
