# Thin wrapper around CMake. `make check` and `make demo` work on a fresh Debian machine.
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CHECK_BUILD ?= build-check
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
DEB_BUILD ?= build-deb
CHAOS_BUILD ?= build-chaos
CHAOS_ITERATIONS ?=

.PHONY: all deps build check demo fuzz clean format deb bench bench-quick chaos soak protodoc

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# Warnings as errors, ASan+UBSan, every test through CTest.
check: deps
	cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRANG_WERROR=ON -DARRANG_SANITIZE=ON
	cmake --build $(CHECK_BUILD) -j $(JOBS)
	cd $(CHECK_BUILD) && ctest --output-on-failure -j $(JOBS)
	@# The chaos tests' totals (faults injected, writes lost, replicas diverged, crashes);
	@# ctest's summary above stays the only pass/fail count.
	@sh tests/chaos/summary.sh $(CHECK_BUILD)/tests/chaos/summary | grep -v '^chaos: ' || true

demo: build
	./scripts/demo.sh $(BUILD)

# The fault and adversary suite, long version (tests/chaos): crash loop (50 SIGKILLs),
# partitions in network namespaces, clock skew, adversarial matrix, disk full; with
# ASan+UBSan; prints a summary. CHAOS_ITERATIONS=n overrides every part's count,
# CHAOS_SEED=s replays a run. make check runs the short version through CTest.
chaos: deps
	cmake -S . -B $(CHAOS_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRANG_WERROR=ON -DARRANG_SANITIZE=ON
	cmake --build $(CHAOS_BUILD) -j $(JOBS)
	CHAOS_ITERATIONS=$(CHAOS_ITERATIONS) ./tests/chaos/run.sh $(CHAOS_BUILD)

# The seeded property and fault tests at soak length: the convergence, scope, verdict and erase
# property tests over SOAK_RUNS seeded runs, the query-shape fuzzer at its soak count (ARRANG_SOAK), then the
# long fault and adversary suite (make chaos). ARRANG_SEED=s replays a run.
SOAK_RUNS ?= 20000
soak: deps
	cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRANG_WERROR=ON -DARRANG_SANITIZE=ON
	cmake --build $(CHECK_BUILD) -j $(JOBS)
	cd $(CHECK_BUILD) && ARRANG_SOAK=1 ARRANG_RUNS=$(SOAK_RUNS) \
		ctest --output-on-failure -R '^test_(convergence|scope_prop|verdict_prop|erase_prop|store_query)$$'
	$(MAKE) chaos

# Run every libFuzzer target for FUZZ_SECONDS each, starting from the seed corpus.
fuzz: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRANG_FUZZ=ON
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	./scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Debian package (debian/, debhelper): dpkg-buildpackage -us -uc -b on a copy of the tree;
# the .deb ends up in $(DEB_BUILD)/. Check it with lintian $(DEB_BUILD)/arrangd_*.changes.
deb: deps
	JOBS=$(JOBS) ./scripts/build-deb.sh $(DEB_BUILD)

# Benchmarks (bench/README.md): RelWithDebInfo without sanitizers in build-bench; figures as
# ratios against baselines run alongside; JSON, table and plot in bench/results/.
bench: deps
	@./scripts/install-deps.sh bench
	./scripts/bench.sh full

bench-quick: deps
	@./scripts/install-deps.sh bench
	./scripts/bench.sh quick

# Regenerate the schema section of protocol/PROTOCOL.md from protocol/schema.c; the unit
# test test_proto_doc fails while they differ (and checks the error table against arrerr.h).
protodoc:
	cmake -S . -B $(CHECK_BUILD) -DCMAKE_BUILD_TYPE=Debug -DARRANG_WERROR=ON -DARRANG_SANITIZE=ON
	cmake --build $(CHECK_BUILD) -j $(JOBS) --target test_proto_doc
	ARRANG_SOURCE_DIR=$(CURDIR) $(CHECK_BUILD)/tests/test_proto_doc --write

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
