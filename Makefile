# The two set-up commands: `make demo` and `make test`. Every target installs the Debian
# packages it needs first (scripts/install-deps.sh is a no-op when they are present).
BUILD_DIR      ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS           ?= $(shell nproc)
PYTHON         := /usr/bin/python3

.PHONY: all deps build build-asan demo test unit-test asan-test integration-test \
        asan-integration-test fuzz-test bench clean

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD_DIR) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=ON -DGW_BUILD_BENCH=OFF
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)

demo: build
	$(BUILD_DIR)/kallglot-gateway demo

unit-test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS)

asan-test: build-asan
	cd $(ASAN_BUILD_DIR) && ctest --output-on-failure -L unit -j $(JOBS)

integration-test: build
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway $(PYTHON) -m pytest -q tests/integration

# The same integration suite against the ASan/UBSan binary: real traffic through the
# sanitized proxy (any memory error aborts the process and fails its test).
asan-integration-test: build-asan
	GW_BINARY=$(abspath $(ASAN_BUILD_DIR))/kallglot-gateway $(PYTHON) -m pytest -q tests/integration

# libFuzzer on the request-head path (fuzz/, built with clang into build-fuzz/), for
# FUZZ_SECONDS (default 60): a forwarded request that re-parses differently fails it.
fuzz-test: deps
	bash scripts/fuzz.sh

test: unit-test fuzz-test asan-test integration-test asan-integration-test

bench: build
	mkdir -p bench/results
	$(BUILD_DIR)/bench/limiter_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
	  --benchmark_out=bench/results/limiter-$$(date +%Y%m%dT%H%M%S).json --benchmark_out_format=json
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway bash bench/http_bench.sh
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway RATE_PROBE=$(abspath $(BUILD_DIR))/bench/rate_probe \
	  bash bench/latency_bench.sh
	GW_BINARY=$(abspath $(BUILD_DIR))/kallglot-gateway bash bench/redis_bench.sh
	$(PYTHON) bench/ws_bench.py --binary $(abspath $(BUILD_DIR))/kallglot-gateway --runs 3

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
