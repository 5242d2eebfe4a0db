# The two commands: `make run` and `make test`. See README.md.
.PHONY: all deps deps-test build run test asan bench format check-format clean

JOBS ?= $(shell nproc)
DATA_DIR ?= ./data

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target switchboard
	@scripts/build-web.sh

run: build
	./build/switchboard serve --data-dir $(DATA_DIR)

# Every test: unit, storage (SQLite + a real PostgreSQL the tests start), HTTP, CLI/process integration,
# OAuth against oidc-provider, mail against Dovecot + Postfix, the browser end-to-end tests (tests/e2e, Debian's
# Chromium), the template fuzzer, and the format check. Exits non-zero when anything fails.
test: deps-test
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)
	@scripts/build-web.sh
	@ctest --test-dir build --output-on-failure -j $(JOBS)

# The same suite built with AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps-test
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --test-dir build-asan --output-on-failure -j $(JOBS) -E iml_fuzz

# Google Benchmark micro-benchmarks, then the end-to-end workload (nginx upstream + wrk; scripts/bench-e2e.sh),
# from a Release build; every figure is printed and saved as JSON in bench/results/ (git-ignored). See
# docs/performance.md. BENCH_DURATION=N shortens or lengthens each end-to-end load (seconds, default 20).
bench: deps-test
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target switchboard loadgen iml_bench service_bench
	@mkdir -p bench/results
	./build/bench/iml_bench --benchmark_out=bench/results/iml.json --benchmark_out_format=json
	./build/bench/service_bench --benchmark_out=bench/results/service.json --benchmark_out_format=json
	scripts/bench-e2e.sh build

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

check-format:
	@scripts/check-format.sh

clean:
	rm -rf build build-asan build-debug
