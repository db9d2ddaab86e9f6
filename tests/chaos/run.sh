#!/bin/sh
# make chaos: the long version of the fault and adversary suite. Runs every chaos_<part>
# binary of BUILD one after the other with CHAOS_LONG=1 (more iterations, longer
# partitions; CHAOS_ITERATIONS overrides every part's count, ARRANG_SEED (or CHAOS_SEED) replays a run),
# then prints the totals and "chaos: N passed, M failed" (summary.sh).
set -u
build=$1
here=$(cd "$(dirname "$0")" && pwd)
dir="$build/tests/chaos"
sum="$dir/summary-long"
rm -rf "$sum"
mkdir -p "$sum"
export CHAOS_LONG=1 CHAOS_SUMMARY_DIR="$sum"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
parts=""
for bin in "$dir"/chaos_*; do
	[ -x "$bin" ] && [ -f "$bin" ] || continue
	name=$(basename "$bin")
	parts="$parts ${name#chaos_}"
	echo "==== $name (long run)"
	"$bin" || echo "==== $name FAILED (exit $?)"
done
# shellcheck disable=SC2086
sh "$here/summary.sh" "$sum" $parts
