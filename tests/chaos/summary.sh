#!/bin/sh
# Totals of a chaos run: reads the per-part summary lines that each chaos_<part> binary
# wrote into DIR (chaos.c, chaos_end) and prints one table and the final line
# "chaos: N passed, M failed". A part without a summary file (it failed before the end)
# counts as failed. Exit status 0 only when every part passed.
# usage: summary.sh DIR [PART...]
set -u
dir=$1
shift
# without a list of parts, every summary in DIR (make check only displays them)
if [ $# -eq 0 ]; then
	for f in "$dir"/*.txt; do
		[ -f "$f" ] && set -- "$@" "$(basename "$f" .txt)"
	done
fi
passed=0
failed=0
faults=0
acked=0
lost=0
diverged=0
crashes=0
echo "---- chaos: totals"
for part in "$@"; do
	f="$dir/$part.txt"
	if [ ! -s "$f" ]; then
		echo "  $part: no summary (the part failed before its end)"
		failed=$((failed + 1))
		continue
	fi
	line=$(cat "$f")
	echo "  $line"
	get() { echo "$line" | sed -n "s/.*[[:space:]]$1=\([0-9]*\).*/\1/p"; }
	faults=$((faults + $(get faults)))
	acked=$((acked + $(get acked)))
	lost=$((lost + $(get lost)))
	diverged=$((diverged + $(get diverged)))
	crashes=$((crashes + $(get crashes)))
	case "$line" in
	*result=pass*) passed=$((passed + 1)) ;;
	*) failed=$((failed + 1)) ;;
	esac
done
echo "  faults injected: $faults; acknowledged writes: $acked; lost: $lost (must be 0);" \
	"replicas diverged: $diverged (must be 0); daemon crashes: $crashes (must be 0)"
echo "chaos: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$diverged" -eq 0 ] && [ "$crashes" -eq 0 ]
