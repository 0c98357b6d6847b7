#!/usr/bin/env bash
# A CI stand-in for the official mysql:8 image, built only when the real
# image is absent: nothing can be pulled here, so database(engine="mysql",
# runtime="container") is tested against an image made from the host's
# Debian MariaDB (scripts/setup-mysql.sh), which speaks MySQL's protocol
# and takes the same client commands. It is labelled dev.loop.standin=true;
# `docker pull mysql:8` replaces it.
#
# The image: FROM scratch, Debian's static busybox for sh and the applets,
# mariadbd, the clients loop and the entrypoint use (mariadb, mariadb-admin,
# mariadb-dump, mariadb-install-db, my_print_defaults, resolveip, with their
# mysql* names) and every shared library ldd lists for them at the same paths,
# /usr/share/mysql, user mysql (999:999), /var/lib/mysql owned by it and a
# VOLUME; and a docker-entrypoint.sh that does what the official one does
# for the parts loop relies on: MYSQL_USER/MYSQL_PASSWORD/MYSQL_DATABASE/
# MYSQL_RANDOM_ROOT_PASSWORD, system tables on an empty data dir,
# /docker-entrypoint-initdb.d/*.sql into MYSQL_DATABASE against a temporary
# server without networking, then exec mysqld.
# Idempotent: does nothing when mysql:8 exists.
set -euo pipefail

image=mysql:8

if docker image inspect "$image" >/dev/null 2>&1; then
  echo "standin-mysql: $image exists"
  exit 0
fi
server=/usr/sbin/mariadbd
[ -x "$server" ] || { echo "standin-mysql: $server is missing: run scripts/setup-mysql.sh first" >&2; exit 1; }
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq busybox-static >/dev/null
fi

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
mkdir -p "$root/usr/bin" "$root/usr/sbin" "$root/usr/share" "$root/usr/lib/mysql" "$root/etc" "$root/tmp" \
  "$root/var/lib/mysql" "$root/docker-entrypoint-initdb.d"
chmod 1777 "$root/tmp"
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
for a in $(/bin/busybox --list); do
  [ "$a" = busybox ] || [ -e "$root/usr/bin/$a" ] || ln -s busybox "$root/usr/bin/$a"
done

bins=("$server")
cp "$server" "$root/usr/sbin/mariadbd"
ln -s mariadbd "$root/usr/sbin/mysqld"
for b in mariadb mariadb-admin mariadb-dump mariadb-install-db my_print_defaults resolveip; do
  p=/usr/bin/$b
  [ -e "$p" ] || { echo "standin-mysql: $p is missing" >&2; exit 1; }
  rm -f "$root/usr/bin/$b"
  cp "$p" "$root/usr/bin/$b"
  bins+=("$p")
done
ln -sf mariadb "$root/usr/bin/mysql"
ln -sf mariadb-admin "$root/usr/bin/mysqladmin"
ln -sf mariadb-dump "$root/usr/bin/mysqldump"
cp -a /usr/share/mysql "$root/usr/share/mysql"
[ -d /usr/lib/mysql/plugin ] && cp -a /usr/lib/mysql/plugin "$root/usr/lib/mysql/plugin"
for lib in $(ldd "${bins[@]}" 2>/dev/null | grep -o '/[^ ]*' | grep -v ':$' | sort -u); do
  [ -e "$lib" ] || continue
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'mysql:x:999:999:mysql:/var/lib/mysql:/bin/sh' >"$root/etc/passwd"
printf '%s\n' 'root:x:0:' 'mysql:x:999:' >"$root/etc/group"

cat >"$root/usr/bin/docker-entrypoint.sh" <<'ENTRYPOINT'
#!/bin/sh
# The stand-in's entrypoint: initialise an empty data dir as the official
# mysql image does, then exec the command.
set -e
DATADIR=/var/lib/mysql
SOCK=/tmp/mysqld.sock
if [ "$1" = mysqld ] && [ ! -d "$DATADIR/mysql" ]; then
  : "${MYSQL_DATABASE:?MYSQL_DATABASE is required by this stand-in}"
  mariadb-install-db --no-defaults --datadir="$DATADIR" --auth-root-authentication-method=socket --auth-root-socket-user="$(id -un)" \
    --skip-test-db --skip-name-resolve >/dev/null
  mariadbd --no-defaults --datadir="$DATADIR" --skip-networking --socket="$SOCK" &
  pid=$!
  i=0
  until mariadb-admin --no-defaults --socket="$SOCK" -u "$(id -un)" ping >/dev/null 2>&1; do
    i=$((i+1)); [ $i -lt 300 ] || { echo "docker-entrypoint: the init server did not start" >&2; exit 1; }
    sleep 0.1
  done
  sql() { mariadb --no-defaults --socket="$SOCK" -u "$(id -un)" "$@"; }
  root_pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
  {
    echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    if [ -n "${MYSQL_USER:-}" ]; then
      echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '${MYSQL_PASSWORD:-}';"
      echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';"
    fi
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$root_pw';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
  } | sql
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "docker-entrypoint: running $f"; sql "$MYSQL_DATABASE" < "$f" ;;
      *.sh) echo "docker-entrypoint: running $f"; . "$f" ;;
    esac
  done
  mariadb-admin --no-defaults --socket="$SOCK" -u "$(id -un)" shutdown
  wait $pid || true
fi
if [ "$1" = mysqld ]; then
  shift
  exec mariadbd --no-defaults --datadir="$DATADIR" --socket="$SOCK" --bind-address=0.0.0.0 --port=3306 --skip-name-resolve "$@"
fi
exec "$@"
ENTRYPOINT
chmod 755 "$root/usr/bin/docker-entrypoint.sh"

cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
RUN ["/usr/bin/busybox", "chown", "-R", "999:999", "/var/lib/mysql"]
ENV PATH=/usr/sbin:/usr/bin:/bin
LABEL dev.loop.standin=true
USER mysql
VOLUME /var/lib/mysql
EXPOSE 3306
STOPSIGNAL SIGTERM
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["mysqld"]
DOCKERFILE
docker build -q -t "$image" "$ctx" >/dev/null
echo "standin-mysql: built $image (a stand-in from the host's MariaDB; docker pull $image replaces it)"
