#!/usr/bin/env bash
# CI stand-ins for the public base images the embedded templates' Dockerfiles
# use (internal/scaffold/templates/*/Dockerfile). Nothing can be pulled on
# the CI machine, so each image that is ABSENT locally is built FROM scratch
# out of this machine's own toolchains and tagged with the real name:
#
#   golang:1.26                         the host Go ($(go env GOROOT)) and busybox
#   node:20-slim                        the host node 20 and npm, their shared
#                                       libraries, user node (1000), and busybox
#   python:3.12-slim                    Debian's python3.11 (3.11 standing in
#                                       for 3.12), its stdlib and shared
#                                       libraries, and busybox
#   gcr.io/distroless/static-debian12   /etc/passwd, /etc/group, /tmp and the
#                                       CA bundle; no shell, as the real one
#
# They are labelled dev.loop.standin=true. An image of that name that exists
# already (the real one, or a stand-in from an earlier run) is left alone, so
# this is idempotent; `docker pull NAME` replaces a stand-in with the real
# image. Each has the host CA bundle, /etc/passwd and /etc/group and a /tmp
# with mode 1777; /bin/sh and its applets come from Debian's static busybox.
set -euo pipefail

label="dev.loop.standin=true"
ca=/etc/ssl/certs/ca-certificates.crt

die() { echo "standin-images: $*" >&2; exit 1; }

exists() { docker image inspect "$1" >/dev/null 2>&1; }
# current NAME REV: NAME exists and is of stand-in revision REV (a stand-in
# without the revision label is revision 1), so a fixed stand-in replaces
# the one a machine keeps.
current() {
  exists "$1" || return 1
  local rev
  rev=$(docker image inspect -f '{{index .Config.Labels "dev.loop.standin.rev"}}' "$1" 2>/dev/null)
  [ "${rev:-1}" = "$2" ] || [ "${rev:-1}" = "<no value>" -a "$2" = 1 ]
}

command -v docker >/dev/null || die "no docker CLI"
[ -f "$ca" ] || die "no CA bundle at $ca (install ca-certificates)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# newroot DIR: a root file system with /etc/passwd, /etc/group, /tmp, /root
# and the CA bundle; the caller adds to it.
newroot() {
  local r=$1
  mkdir -p "$r/etc/ssl/certs" "$r/tmp" "$r/root"
  chmod 1777 "$r/tmp"
  chmod 700 "$r/root"
  cp "$ca" "$r/etc/ssl/certs/ca-certificates.crt"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin' >"$r/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$r/etc/group"
}

# busybox DIR: Debian's static busybox as /bin/busybox, every applet a
# symlink to it in /bin, and /usr/bin/env (for #!/usr/bin/env scripts).
add_busybox() {
  local r=$1
  if ! dpkg -s busybox-static >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
  fi
  [ -x /bin/busybox ] || die "busybox-static is installed but /bin/busybox is missing"
  mkdir -p "$r/bin" "$r/usr/bin" "$r/usr/local/bin" "$r/usr/sbin"
  cp /bin/busybox "$r/bin/busybox"
  local a
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
  done
  ln -sf /bin/busybox "$r/usr/bin/env"
}

# libs DIR BINARY...: every shared library ldd lists for the binaries
# (with the dynamic loader), copied to the same paths.
libs() {
  local r=$1 lib
  shift
  for lib in $(ldd "$@" 2>/dev/null | grep -o '/[^ ]*' | grep -v ':$' | sort -u); do
    [ -e "$lib" ] || continue
    mkdir -p "$r$(dirname "$lib")"
    cp -L "$lib" "$r$lib"
  done
}

# build NAME DIR DOCKERFILE_BODY: builds DIR (holding root/) as NAME.
build() {
  local name=$1 dir=$2 body=$3
  printf '%s\n' "# CI stand-in for $name, built by scripts/standin-images.sh." \
    "FROM scratch" "LABEL $label" "$body" >"$dir/Dockerfile"
  local out
  out=$(docker build -q -t "$name" "$dir" 2>&1) || die "$name: docker build failed:
$out"
  echo "standin-images: built $name (stand-in; \`docker pull $name\` replaces it)"
}

standin_golang() {
  local name=golang:1.26 dir=$work/golang
  command -v go >/dev/null || die "$name: no host Go toolchain (go) to build the stand-in from"
  local goroot
  goroot=$(go env GOROOT)
  [ -x "$goroot/bin/go" ] || die "$name: no go binary in GOROOT $goroot"
  newroot "$dir/root"
  add_busybox "$dir/root"
  mkdir -p "$dir/root/usr/local" "$dir/root/go/bin" "$dir/root/go/src"
  chmod -R 1777 "$dir/root/go"
  # Hard links: no copy of the tree; test/ is Go's own test suite.
  cp -al "$goroot" "$dir/root/usr/local/go" 2>/dev/null || cp -a "$goroot" "$dir/root/usr/local/go"
  rm -rf "$dir/root/usr/local/go/test"
  build "$name" "$dir" 'COPY root/ /
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/bin:/usr/bin:/bin GOTOOLCHAIN=local
WORKDIR /go
CMD ["sh"]'
}

standin_node() {
  local name=node:20-slim dir=$work/node
  [ -x /usr/bin/node ] || die "$name: no host node at /usr/bin/node"
  local v
  v=$(/usr/bin/node --version)
  case $v in v20.*) ;; *) die "$name: host node is $v, want v20" ;; esac
  [ -d /usr/lib/node_modules/npm ] || die "$name: no npm at /usr/lib/node_modules/npm"
  newroot "$dir/root"
  add_busybox "$dir/root"
  echo 'node:x:1000:1000::/home/node:/bin/sh' >>"$dir/root/etc/passwd"
  echo 'node:x:1000:' >>"$dir/root/etc/group"
  mkdir -p "$dir/home/node" "$dir/root/usr/lib/node_modules"
  cp /usr/bin/node "$dir/root/usr/bin/node"
  cp -al /usr/lib/node_modules/npm "$dir/root/usr/lib/node_modules/npm" 2>/dev/null ||
    cp -a /usr/lib/node_modules/npm "$dir/root/usr/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$dir/root/usr/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$dir/root/usr/bin/npx"
  libs "$dir/root" /usr/bin/node
  build "$name" "$dir" 'COPY root/ /
COPY --chown=1000:1000 home/node /home/node
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt NODE_VERSION='"${v#v}"'
CMD ["node"]'
}

standin_python() {
  local name=python:3.12-slim dir=$work/python
  local py=/usr/bin/python3.11 stdlib=/usr/lib/python3.11
  [ -x "$py" ] || die "$name: no Debian python at $py (apt-get install python3.11)"
  [ -f "$stdlib/os.py" ] || die "$name: no standard library at $stdlib"
  newroot "$dir/root"
  add_busybox "$dir/root"
  mkdir -p "$dir/root/usr/lib"
  cp "$py" "$dir/root/usr/local/bin/python3"
  ln -sf python3 "$dir/root/usr/local/bin/python"
  cp -al "$stdlib" "$dir/root$stdlib" 2>/dev/null || cp -a "$stdlib" "$dir/root$stdlib"
  rm -rf "$dir/root$stdlib"/{test,idlelib,tkinter,ensurepip,turtledemo} \
    "$dir/root$stdlib"/lib-dynload/_tkinter*
  find "$dir/root$stdlib" -name __pycache__ -prune -exec rm -rf {} +
  libs "$dir/root" "$py" "$dir/root$stdlib"/lib-dynload/*.so
  # glibc loads libgcc_s when a thread exits (pthread_exit): without it
  # Python aborts at exit when a thread is still running.
  local gcc
  gcc=$(ldconfig -p | grep -o '/[^ ]*/libgcc_s.so.1$' | head -1)
  [ -n "$gcc" ] || die "$name: no libgcc_s.so.1 (apt-get install libgcc-s1)"
  mkdir -p "$dir/root$(dirname "$gcc")"
  cp -L "$gcc" "$dir/root$gcc"
  build "$name" "$dir" 'LABEL dev.loop.standin.rev=2
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8
CMD ["python3"]'
}

standin_distroless() {
  local name=gcr.io/distroless/static-debian12 dir=$work/distroless
  newroot "$dir/root"
  echo 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >>"$dir/root/etc/passwd"
  echo 'nonroot:x:65532:' >>"$dir/root/etc/group"
  build "$name" "$dir" 'COPY root/ /'
}

# FN:NAME:REV: REV is the stand-in's revision (raise it when its recipe
# changes, so kept images are rebuilt).
for triple in golang:golang:1.26:1 node:node:20-slim:1 python:python:3.12-slim:2 distroless:gcr.io/distroless/static-debian12:1; do
  fn=${triple%%:*}
  rest=${triple#*:}
  rev=${rest##*:}
  name=${rest%:*}
  if current "$name" "$rev"; then
    echo "standin-images: $name exists"
    continue
  fi
  "standin_$fn"
done
