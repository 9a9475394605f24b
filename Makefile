# The two commands: `make demo` and `make test`. Each installs what is missing,
# configures and builds first.
JOBS ?= $(shell nproc)

.PHONY: all deps build build-asan demo test test-asan format clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset default >/dev/null
	@cmake --build --preset default -j $(JOBS) -- --no-print-directory

demo: build
	@scripts/demo.sh

test: build
	@ctest --preset default -j $(JOBS)

build-asan: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS) -- --no-print-directory

test-asan: build-asan
	@ctest --preset asan -j $(JOBS)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-asan
