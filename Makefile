# The two commands: `make demo` and `make test`. Each installs what is missing,
# configures and builds first. `make test-asan` and `make test-tsan` run the
# suite (TSan: its concurrency parts) under sanitizers. `make fuzz` runs every
# libFuzzer target for FUZZ_SECONDS each, FUZZ_JOBS at once (docs/operations.md,
# Fuzzing).
# `make bench` runs every benchmark against its reference in a Release tree
# and prints one table (bench/README.md).
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 30
FUZZ_JOBS ?= $(JOBS)

.PHONY: all deps deps-test build build-asan build-tsan build-fuzz demo test test-asan test-tsan fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

# The servers the tests start for themselves (PostgreSQL, ClickHouse), on top of deps.
deps-test: deps
	@scripts/install-deps.sh --test

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS) -- --no-print-directory
	@scripts/build-web.sh build

demo: build
	@scripts/demo.sh

test: build deps-test
	@ctest --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS) -- --no-print-directory
	@scripts/build-web.sh build-asan

test-asan: build-asan deps-test
	@ctest --preset asan -j $(JOBS)

build-tsan: deps
	@cmake --preset tsan >/dev/null
	@cmake --build --preset tsan -j $(JOBS) -- --no-print-directory

test-tsan: build-tsan deps-test
	@ctest --preset tsan -j $(JOBS)

build-fuzz:
	@scripts/install-deps.sh --fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS) -- --no-print-directory

fuzz: build-fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) scripts/fuzz.sh

bench: deps
	@bench/run.sh

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-asan build-tsan build-fuzz build-bench
