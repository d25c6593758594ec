# The two set-up commands: `make demo` and `make test`. Every target installs the Debian
# packages it needs first (scripts/install-deps.sh is a no-op when they are present).
BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan
FUZZ_BUILD_DIR ?= build-fuzz
JOBS           ?= $(shell nproc)
PYTHON         := /usr/bin/python3

.PHONY: all deps build build-asan build-tsan demo test module-graph unit-test asan-test tsan-test \
        integration-test asan-integration-test fuzz-test bench clean node-deps

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=ON -DGW_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

# ThreadSanitizer: only the store and proxy unit tests (the code whose threads meet: Redis
# connections, store callbacks, the proxy's workers, the decision service's submitters), not
# the whole tree.
TSAN_TESTS := store_memory_tests store_sqlite_tests store_redis_tests proxy_tests check_tests

# -O1 -g1 (asserts on): a third less compile time than -O2 -g, line tables for the stacks.
build-tsan: deps
	cmake -S . -B $(TSAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" \
	  -DGW_TSAN=ON -DGW_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(TSAN_TESTS)

demo: build
	$(BUILD_DIR)/kallglot-gateway demo

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS)

asan-test: build-asan
	cd $(ASAN_BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS)

# Any data race TSan reports fails its test (exit code 66); tsan.supp names only races
# inside the uninstrumented system libraries. Only $(TSAN_TESTS) are built there, so the
# unit label selects their tests (the other modules' show as *_NOT_BUILT, unlabelled).
tsan-test: build-tsan
	cd $(TSAN_BUILD_DIR) && TSAN_OPTIONS="suppressions=$(abspath tsan.supp) second_deadlock_stack=1" \
	  ctest --output-on-failure -L unit -j $(JOBS)

# The Node gRPC client of the decision service's tests (@grpc/grpc-js, from the lock file).
node-deps:
	@test -d tests/node/node_modules/@grpc/grpc-js || \
	  npm ci --prefix tests/node --no-audit --no-fund --ignore-scripts --loglevel=error

integration-test: build node-deps
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway $(PYTHON) -m pytest -q tests/integration

# The same integration suite against the ASan/UBSan binary: real traffic through the
# sanitized proxy (any memory error aborts the process and fails its test).
asan-integration-test: build-asan node-deps
	GW_BINARY=$(abspath $(ASAN_BUILD_DIR))/kallglot-gateway $(PYTHON) -m pytest -q tests/integration

# libFuzzer (fuzz/, built with clang into build-fuzz/): the request head, the config
# loader, route matching, the audio meter, WebSocket frames, Redis replies and
# ShouldRateLimit requests, each for
# FUZZ_SECONDS (default 30), FUZZ_PARALLEL (default: the CPUs) at a time. A crash, a
# sanitizer report or a broken invariant fails it (docs/security.md, "Fuzzing").
fuzz-test: deps
	FUZZ_BUILD_DIR=$(FUZZ_BUILD_DIR) bash scripts/fuzz.sh

# The include edges between src/ modules are those docs/architecture.md allows.
module-graph:
	$(PYTHON) scripts/check_module_graph.py

test: module-graph unit-test fuzz-test asan-test tsan-test integration-test asan-integration-test

bench: build
	mkdir -p bench/results
	$(BUILD_DIR)/bench/limiter_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out=bench/results/limiter-$$(date +%Y%m%dT%H%M%S).json --benchmark_out_format=json
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway bash bench/http_bench.sh
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway RATE_PROBE=$(abspath $(BUILD_DIR))/bench/rate_probe \
	  bash bench/latency_bench.sh
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway bash bench/redis_bench.sh
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway bash bench/decision_bench.sh
	$(PYTHON) bench/ws_bench.py --binary $(abspath $(BUILD_DIR))/kallglot-gateway --runs 3

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
