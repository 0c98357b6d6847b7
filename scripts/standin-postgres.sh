#!/usr/bin/env bash
# A CI stand-in for the official postgres:15 image, built only when the real
# image is absent: nothing can be pulled here, so database(runtime=
# "container") is tested against an image made from the host's Debian
# PostgreSQL 15 (scripts/setup-postgres.sh). It is labelled
# dev.loop.standin=true; `docker pull postgres:15` replaces it.
#
# The image: FROM scratch, Debian's static busybox for sh and the applets,
# /usr/lib/postgresql/15 (without the LLVM JIT) and /usr/share/postgresql/15,
# every shared library ldd lists for the shipped binaries and their .so's
# with the dynamic loader, at the same paths; user postgres (999:999);
# PGDATA=/var/lib/postgresql/data owned by 999 and a VOLUME, so a fresh named
# volume gets that ownership; and a docker-entrypoint.sh that does what the
# official one does for the parts loop relies on: POSTGRES_USER/PASSWORD/DB,
# initdb on an empty PGDATA (scram-sha-256 for host connections, listening
# on all addresses), /docker-entrypoint-initdb.d/*.sql (and *.sh) against a
# temporary server on the Unix socket only, then exec postgres.
# Idempotent: does nothing when postgres:15 exists.
set -euo pipefail

image=postgres:15
pg=/usr/lib/postgresql/15

if docker image inspect "$image" >/dev/null 2>&1; then
  if [ "$(docker image inspect -f '{{index .Config.Labels "dev.loop.standin"}}' "$image")" = true ]; then
    echo "standin-postgres: $image exists (the stand-in)"
  else
    echo "standin-postgres: $image exists"
  fi
  exit 0
fi
if [ ! -x "$pg/bin/postgres" ]; then
  echo "standin-postgres: $pg/bin/postgres is missing: run scripts/setup-postgres.sh first" >&2
  exit 1
fi
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq busybox-static >/dev/null
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$root/usr/lib" "$root/usr/share"
# The host has a merged /usr (/lib -> usr/lib, ...): keep the same links so
# that every path ldd prints exists in the image.
for d in bin lib lib64 sbin; do
  if [ -L "/$d" ]; then
    ln -s "$(readlink "/$d")" "$root/$d"
    mkdir -p "$root/$(readlink -f "/$d" | sed 's|^/||')"
  else
    mkdir -p "$root/$d"
  fi
done

cp /bin/busybox "$root/usr/bin/busybox"
mkdir -p "$root$pg" "$root/usr/share/postgresql"
cp -a "$pg/bin" "$root$pg/"
mkdir -p "$root$pg/lib"
# Everything but the LLVM JIT (llvmjit*.so and its bitcode: ~100 MB of LLVM
# for a feature PostgreSQL skips when the module is absent).
(cd "$pg/lib" && find . -mindepth 1 -maxdepth 1 ! -name 'llvmjit*' ! -name bitcode -exec cp -a {} "$root$pg/lib/" \;)
cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/"
# Time zones: Debian's PostgreSQL reads the system tzdata.
if [ -d /usr/share/zoneinfo ]; then
  cp -a /usr/share/zoneinfo "$root/usr/share/"
fi

# Shared libraries, dereferenced, at the (resolved) paths ldd prints.
bins=(postgres initdb pg_ctl psql pg_isready pg_dump pg_restore)
objs=()
for b in "${bins[@]}"; do objs+=("$pg/bin/$b"); done
while IFS= read -r so; do objs+=("$so"); done < <(find "$root$pg/lib" -name '*.so' | sed "s|^$root||" | sed "s|^|/|; s|^//|/|")
libs=$(for o in "${objs[@]}"; do ldd "$o" 2>/dev/null || true; done | grep -o '/[^ ]*' | sort -u)
for lib in $libs; do
  dest="$root$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
  mkdir -p "$(dirname "$dest")"
  cp -L "$lib" "$dest"
done

cat > "$root/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# The stand-in's entrypoint (scripts/standin-postgres.sh): the parts of the
# official postgres image's docker-entrypoint.sh that loop relies on.
set -eu
if [ "${1#-}" != "$1" ]; then
  set -- postgres "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_USER:=postgres}"
  : "${POSTGRES_DB:=$POSTGRES_USER}"
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "docker-entrypoint.sh: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C >/dev/null
  rm -f "$pwfile"
  printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "\nlisten_addresses = '*'\n" >> "$PGDATA/postgresql.conf"
  # A temporary server on the Unix socket only: TCP (and so readiness)
  # answers once the real server runs.
  pg_ctl -D "$PGDATA" -w -s -o "-c listen_addresses=''" start
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
      -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql)
        echo "docker-entrypoint.sh: running $f"
        psql -X -q -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f"
        ;;
      *.sh)
        echo "docker-entrypoint.sh: sourcing $f"
        . "$f"
        ;;
    esac
  done
  pg_ctl -D "$PGDATA" -w -s -m fast stop
  echo "docker-entrypoint.sh: PostgreSQL init process complete; ready for start up."
fi
exec "$@"
ENTRYPOINT
chmod 755 "$root/docker-entrypoint.sh"

cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY rootfs/ /
RUN ["/usr/bin/busybox", "sh", "-c", "/usr/bin/busybox --install -s /usr/bin && mkdir -p /tmp /etc /root /var/run/postgresql /var/lib/postgresql/data /docker-entrypoint-initdb.d && chmod 1777 /tmp && printf 'root:x:0:0:root:/root:/bin/sh\\\\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\\\\n' > /etc/passwd && printf 'root:x:0:\\\\npostgres:x:999:\\\\n' > /etc/group && chown -R 999:999 /var/lib/postgresql /var/run/postgresql && chmod 700 /var/lib/postgresql/data && chmod 2777 /var/run/postgresql"]
LABEL dev.loop.standin=true
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin:/bin PGDATA=/var/lib/postgresql/data LANG=C
USER postgres
VOLUME /var/lib/postgresql/data
ENTRYPOINT ["/docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
DOCKERFILE
docker build -q -t "$image" "$ctx" >/dev/null
echo "standin-postgres: built $image (a stand-in from $pg; docker pull $image replaces it)"
