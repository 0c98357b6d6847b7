#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a short time each.
#
#   scripts/fuzz.sh [TIME]     TIME per target, as go test's -fuzztime: "10s" (default), "2m", "5000x"
#
# Targets are found, not listed here: the packages whose test files declare
# a `func Fuzz...`, then `go test -list '^Fuzz'` on them, so a target added
# later runs too. Each target runs alone (`go test -run '^$' -fuzz '^FuzzX$'`);
# its seed corpus is testdata/fuzz/FuzzX (plain `go test ./...` runs those
# seeds as tests).
#
# Exits 1 when a target finds a failing input (printed, and left in
# testdata/fuzz/FuzzX/ to commit with the fix) or fails otherwise (a seed
# that fails, a build error). A run that stops with nothing but "context
# deadline exceeded" and no failing input is Go's fuzz coordinator racing
# its own -fuzztime deadline (go.dev/issue/75804, fixed in Go 1.27): it is
# reported and not counted as a failure.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime="${1:-10s}"
start=$SECONDS

# Packages with a fuzz target: directories of *_test.go files declaring one.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . |
	grep -v '^./\.git/' | xargs -r -n1 dirname | sort -u)
if [ "${#dirs[@]}" -eq 0 ]; then
	echo "fuzz: no fuzz targets found"
	exit 1
fi

# go test -list prints a package's matching names, then its "ok <pkg>" line.
if ! listing=$(go test -list '^Fuzz' "${dirs[@]}" 2>&1); then
	echo "$listing"
	echo "fuzz: listing the fuzz targets failed"
	exit 1
fi
targets=() # "pkg name"
names=()
while IFS= read -r line; do
	case "$line" in
	Fuzz*) names+=("$line") ;;
	ok*)
		pkg=$(awk '{print $2}' <<<"$line")
		for n in "${names[@]}"; do targets+=("$pkg $n"); done
		names=()
		;;
	esac
done <<<"$listing"
echo "fuzz: ${#targets[@]} targets, $fuzztime each"

failed=() flaked=()
for t in "${targets[@]}"; do
	pkg=${t% *} name=${t#* }
	dir=$(go list -f '{{.Dir}}' "$pkg")
	corpus="$dir/testdata/fuzz/$name"
	before=$(ls "$corpus" 2>/dev/null | sort)
	t0=$SECONDS
	out=$(go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg" 2>&1)
	code=$?
	new=$(comm -13 <(echo "$before") <(ls "$corpus" 2>/dev/null | sort) | grep -v '^$')
	if [ $code -eq 0 ]; then
		echo "ok    $name ($pkg) $((SECONDS - t0))s"
		continue
	fi
	if [ -z "$new" ] && ! grep -q -- '--- FAIL' <<<"$(grep -v -- "--- FAIL: $name (" <<<"$out")" &&
		[ "$(grep -A1 -- "--- FAIL: $name (" <<<"$out" | tail -n1 | tr -d '[:space:]')" = "contextdeadlineexceeded" ]; then
		echo "flake $name ($pkg) $((SECONDS - t0))s: context deadline exceeded at the end of -fuzztime, no failing input (go.dev/issue/75804)"
		flaked+=("$name")
		continue
	fi
	echo "FAIL  $name ($pkg) $((SECONDS - t0))s"
	echo "$out" | sed 's/^/    /'
	for f in $new; do
		echo "    failing input $corpus/$f:"
		sed 's/^/        /' "$corpus/$f"
	done
	failed+=("$name")
done

echo "fuzz: ${#targets[@]} targets in $((SECONDS - start))s: ${#failed[@]} failed, ${#flaked[@]} deadline flakes"
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi
