#!/usr/bin/env bash
# A CI stand-in for the official redis:7 image, built only when the real
# image is absent: nothing can be pulled here, so database(engine="redis",
# runtime="container") is tested against an image made from the host's
# Debian redis-server 7 (scripts/setup-redis.sh). It is labelled
# dev.loop.standin=true; `docker pull redis:7` replaces it.
#
# The image: FROM scratch, Debian's static busybox for sh and the applets,
# redis-server and redis-cli with every shared library ldd lists (and the
# dynamic loader) at the same paths, user redis (999:999), WORKDIR /data
# owned by it and a VOLUME, CMD ["redis-server"]: what loop relies on in the
# official image (its data in /data, redis-cli for readiness).
# Idempotent: does nothing when redis:7 exists.
set -euo pipefail

image=redis:7

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "standin-redis: $image exists"
  exit 0
fi
for b in redis-server redis-cli; do
  command -v "$b" >/dev/null || { echo "standin-redis: $b is missing: run scripts/setup-redis.sh first" >&2; exit 1; }
done
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq busybox-static >/dev/null
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/local/bin" "$root/bin" "$root/etc" "$root/data" "$root/tmp"
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
  [ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
server=$(readlink -f "$(command -v redis-server)")
cp "$server" "$root/usr/local/bin/redis-server"
cp "$(readlink -f "$(command -v redis-cli)")" "$root/usr/local/bin/redis-cli"
for lib in $(ldd "$server" "$(command -v redis-cli)" 2>/dev/null | grep -o '/[^ ]*' | grep -v ':$' | sort -u); do
  [ -e "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'redis:x:999:999:redis:/data:/bin/sh' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'redis:x:999:' >"$root/etc/group"

cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/bin/busybox", "chown", "999:999", "/data"]
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL dev.loop.standin=true
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379
CMD ["redis-server"]
DOCKERFILE
docker build -q -t "$image" "$ctx" >/dev/null
echo "standin-redis: built $image (a stand-in from the host's redis-server; docker pull $image replaces it)"
