#!/usr/bin/env bash
# Builds the local base image the container tests use: nothing can be
# pulled here, so it is FROM scratch plus Debian's static busybox.
#   loop-test/busybox:latest   /bin/busybox and its applets (sh, ls, cat, ...)
# Idempotent: skips what exists.
set -euo pipefail
if docker image inspect loop-test/busybox:latest >/dev/null 2>&1; then
  echo "test-images: loop-test/busybox:latest exists"
  exit 0
fi
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp /bin/busybox "$ctx/busybox"
cat > "$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/sh", "-c", "mkdir -p /tmp /etc && chmod 1777 /tmp && echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'dev:x:1000:1000:dev:/home/dev:/bin/sh' >> /etc/passwd && echo 'root:x:0:' > /etc/group && echo 'dev:x:1000:' >> /etc/group && mkdir -p /home/dev && chown 1000:1000 /home/dev"]
DOCKERFILE
docker build -q -t loop-test/busybox:latest "$ctx"
echo "test-images: built loop-test/busybox:latest"
