#!/bin/sh
# Run each libFuzzer target in BUILD/tests/fuzz for SECONDS, from its seed corpus.
# New inputs go to a scratch corpus; crashes go to fuzz-artifacts/ to become regression tests.
set -eu
build=$1
seconds=$2
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/fuzz-artifacts"
for bin in "$build"/tests/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	scratch=$(mktemp -d)
	echo "fuzzing $name for ${seconds}s"
	"$bin" -max_total_time="$seconds" -artifact_prefix="$top/fuzz-artifacts/$name-" \
		"$scratch" "$top/tests/fuzz/corpus/$name"
	rm -rf "$scratch"
done
