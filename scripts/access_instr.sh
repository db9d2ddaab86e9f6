#!/bin/sh
# scripts/access_instr.sh [BUILD]: the access log's cost per API read in instructions,
# which the machine's load does not move (bench/README.md, arrang_access_bench). For a
# get, then a list of 50: callgrind counts api_handle and store_access_commit over READS
# and READS/3 reads, with the log off and on, and the difference of the two runs over
# the reads between them is the cost of one read (the set-up cancels out). The verdict is
# the target: on/off at most 1.05. Needs valgrind (install-deps.sh bench).
set -eu
bench=${1:-build-bench}/bench/arrang_access_bench
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

if ! command -v valgrind >/dev/null 2>&1; then
	echo "access log, instructions: valgrind not found (scripts/install-deps.sh bench): skipped" >&2
	exit 0
fi
# count MODE READS [list]: the instructions callgrind collected
count() {
	valgrind --tool=callgrind --callgrind-out-file="$out/cg" --toggle-collect=api_handle \
		--toggle-collect=store_access_commit "$bench" --instr "$1" 2000 "$2" ${3:-} \
		>/dev/null 2>&1
	callgrind_annotate "$out/cg" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}
echo "access log cost per API read, in instructions (callgrind; reads of 2000 arrangements)"
printf '%-28s %10s %10s %8s\n' "read" "off" "on" "on/off"
for kind in get list; do
	if [ "$kind" = get ]; then hi=24000 lo=8000 arg=""; else hi=600 lo=200 arg=list; fi
	off=$(($(count off $hi $arg) - $(count off $lo $arg)))
	on=$(($(count on $hi $arg) - $(count on $lo $arg)))
	awk -v k="$kind" -v off="$off" -v on="$on" -v n=$((hi - lo)) 'BEGIN {
		r = on / off
		printf "%-28s %10.0f %10.0f %8.3f   target <= 1.05: %s\n", k, off / n, on / n, r,
		       r <= 1.05 ? "met" : "MISSED"
	}'
done
