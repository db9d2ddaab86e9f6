#!/bin/sh
# scripts/bench.sh: build the benchmark tree and run arrang_bench (bench/README.md).
#   scripts/bench.sh full   -> bench/results/latest.{json,txt}, throughput.{dat,png}, ratio.png
#   scripts/bench.sh quick  -> bench/results/quick.{json,txt} (under 2 minutes)
# The build is RelWithDebInfo without sanitizers in $BENCH_BUILD (default build-bench).
# ARRANG_BENCH_SIZES (e.g. 10k,100k,1M) overrides the sizes of benchmarks 1 and 2.
set -eu
mode=${1:-full}
build=${BENCH_BUILD:-build-bench}
jobs=$(nproc 2>/dev/null || echo 2)
out=bench/results

cd "$(dirname "$0")/.."
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DARRANG_SANITIZE=OFF \
	-DARRANG_FUZZ=OFF -DARRANG_BENCH=ON >/dev/null
cmake --build "$build" -j "$jobs" --target arrangd arrang_bench arrang_access_bench \
	arrang_store_bench >/dev/null
mkdir -p "$out"
# the revision under test, with a mark when the work tree differs from it
ARRANG_BENCH_COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- daemon protocol 2>/dev/null || ARRANG_BENCH_COMMIT="$ARRANG_BENCH_COMMIT+dirty"
export ARRANG_BENCH_COMMIT
case "$mode" in
quick)
	"$build/bench/arrang_bench" --quick --json "$out/quick.json" --dat "$out/quick.dat" |
		tee "$out/quick.txt"
	"$build/bench/arrang_access_bench" 1000 1000 | tee -a "$out/quick.txt"
	"$build/bench/arrang_store_bench" 10k | tee -a "$out/quick.txt"
	;;
full)
	"$build/bench/arrang_bench" --json "$out/latest.json" --dat "$out/throughput.dat" |
		tee "$out/latest.txt"
	"$build/bench/arrang_access_bench" | tee -a "$out/latest.txt"
	./scripts/access_instr.sh "$build" | tee -a "$out/latest.txt"
	# the store alone, and the floor of a replica that keeps its log (bench/README.md)
	"$build/bench/arrang_store_bench" 100k | tee -a "$out/latest.txt"
	if command -v gnuplot >/dev/null 2>&1; then
		for p in throughput ratio; do
			gnuplot -e "datafile='$out/throughput.dat'; outfile='$out/$p.png'" bench/$p.gp
			echo "plot: $out/$p.png"
		done
	else
		echo "gnuplot not found (scripts/install-deps.sh installs gnuplot-nox): no plot" >&2
	fi
	;;
*)
	echo "usage: scripts/bench.sh [full|quick]" >&2
	exit 2
	;;
esac
