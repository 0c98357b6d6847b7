#!/usr/bin/env bash
# Wine 8 (Debian's wine64) and a prefix in /var/cache/loop-wine, to run the
# windows/amd64 unit tests here (scripts/wine-test.sh). Go 1.24+ binaries
# need bcryptprimitives.dll, which Wine 8 lacks: a small stand-in is built
# with mingw-w64 (scripts/wine/bcryptprimitives.c) into the prefix.
# Idempotent; a first run installs about 700 MB of packages (2-4 minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends wine64 wine gcc-mingw-w64-x86-64-win32 >/dev/null
fi
export WINEPREFIX=${LOOP_WINEPREFIX:-/var/cache/loop-wine/prefix} WINEDEBUG=-all
$sudo mkdir -p "$(dirname "$WINEPREFIX")"
if [ ! -f "$WINEPREFIX/system.reg" ]; then
	wineboot --init >/dev/null 2>&1 || true
	wineserver -w || true
fi
dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
src=scripts/wine/bcryptprimitives.c
if [ ! -f "$dll" ] || [ "$src" -nt "$dll" ]; then
	tmp=$(mktemp -d)
	printf 'LIBRARY bcryptprimitives\nEXPORTS\n  ProcessPrng\n' >"$tmp/b.def"
	x86_64-w64-mingw32-gcc -O2 -shared -o "$tmp/bcryptprimitives.dll" "$src" "$tmp/b.def" -ladvapi32
	cp "$tmp/bcryptprimitives.dll" "$dll"
	rm -rf "$tmp"
fi
echo "setup-wine: $(wine --version) in $WINEPREFIX"
