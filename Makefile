# Every target sets itself up from a fresh clone: a virtual environment in .venv with the
# tools of requirements-dev.txt, and the Rust extension built by maturin (release mode, since
# tests and benchmarks time it). Nothing needs to be installed by hand.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(VENV))/bin:$(PATH)

DEPS_STAMP := $(VENV)/.deps-stamp
EXT_STAMP := $(VENV)/.ext-stamp
RUST_SRC := $(shell find rust -name '*.rs') Cargo.toml rust/core/Cargo.toml rust/py/Cargo.toml

.PHONY: all run test wheel bench bench-full bench-micro readme-bench build lint rust-test py-test fmt clean system-packages etcd browser redis fuzz fuzz-short fuzz-cli

# Debian packages the tests and benchmarks need, installed where missing with one apt-get update:
# etcd-server (the distributed store; tests start and stop their own members on loopback),
# chromium and its WebDriver (headless tests of the HTML timeline, driven by selenium from
# requirements-dev.txt), redis-server (a peer of the benchmark suite, started and stopped by the
# suite on a free loopback port). The packages' own services are not used.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
SYSTEM_COMMANDS := etcd chromium chromedriver redis-server
SYSTEM_PACKAGES := etcd-server chromium chromium-driver redis-server
system-packages:
	@missing=0; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null || missing=1; done; \
	if [ $$missing = 1 ]; then \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi
	@for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null || { echo "missing: $$c" >&2; exit 1; }; done

etcd browser redis: system-packages

all: test

$(DEPS_STAMP): requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(EXT_STAMP): $(DEPS_STAMP) $(RUST_SRC) pyproject.toml
	# An older version-specific build (_core.cpython-3XX-*.so) would shadow the abi3 one.
	rm -f python/dnsrace/_core.*.so
	maturin develop --release --quiet --features testing
	touch $@

## wheel: the release wheel in dist/: abi3 (one file for CPython 3.11 and later), stripped, no
## test-only feature. tests/test_wheel.py installs it into fresh venvs of every CPython >= 3.11.
WHEEL_STAMP := dist/.wheel-stamp
PY_FILES := $(shell find python -type f ! -name '*.so' ! -path '*/__pycache__/*')
$(WHEEL_STAMP): $(DEPS_STAMP) $(RUST_SRC) $(PY_FILES) pyproject.toml Cargo.lock
	rm -rf dist
	maturin build --release --quiet --out dist
	touch $@

wheel: $(WHEEL_STAMP)

## build: the virtual environment and the release-mode extension
build: $(EXT_STAMP)

## run: the main job (incident replay and the discipline comparison on the embedded store)
run: $(EXT_STAMP)
	mkdir -p results
	$(PY) -m dnsrace incident --json results/incident.json --plot results/incident-timeline.png
	$(PY) -m dnsrace view results/incident.json -o results/incident-timeline.html
	$(PY) -m dnsrace explore scenarios/spin.toml --runs 2000 --json results/spin.json
	$(PY) -m dnsrace modes --json results/modes.json

## test: all Rust and Python tests, plus format, lint and type checks (mypy --strict over
## python/dnsrace as configured in pyproject.toml, stubtest of the native module's stub)
test: lint rust-test fuzz-short py-test

lint: $(EXT_STAMP)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
	ruff check python tests bench
	ruff format --check python tests bench
	mypy
	python -m mypy.stubtest dnsrace._core

## rust-test also runs the history stress test on a deliberately broken store (test-only feature
## broken-generation-check), and the fuzz harnesses on stable as proptest cases (20,000 arbitrary inputs
## per target, DNSRACE_FUZZ_CASES to change) plus every saved regression input
rust-test:
	cargo test -p dnsrace-core --quiet
	# The store with its if_newer compare removed: the checker must call its history illegal.
	cargo test -p dnsrace-core --features broken-generation-check --test history_stress --quiet
	cargo test -p dnsrace-fuzzcases --release --quiet

## fuzz: cargo fuzz (libFuzzer) on each target for FUZZ_SECONDS (default 300) each. cargo-fuzz
## comes from crates.io into .tools/; it needs nightly features, which RUSTC_BOOTSTRAP=1 unlocks
## on the machine's one stable toolchain. A crash leaves its input in fuzz/artifacts/TARGET/:
## copy it to rust/fuzzcases/regressions/TARGET/ so that make test replays it forever.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS := plan_construction batch_flips lease_sequence snapshot_decode
CARGO_FUZZ := .tools/bin/cargo-fuzz

$(CARGO_FUZZ):
	cargo install cargo-fuzz --version 0.13.2 --locked --root .tools

fuzz: $(CARGO_FUZZ)
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  (cd fuzz && RUSTC_BOOTSTRAP=1 PATH="$(abspath .tools/bin):$$PATH" cargo fuzz run \
	    --fuzz-dir . $$t corpus/$$t ../rust/fuzzcases/regressions/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=4096 \
	    -print_final_stats=1) || exit 1; \
	done

## fuzz-short: the short libFuzzer pass of make test. The same four targets, instrumented with
## the coverage flags cargo fuzz passes to rustc (sanitizer none), built by cargo directly on the
## stable toolchain: the cargo-fuzz CLI is only a wrapper around this build, and installing it
## would cost minutes of the test budget. Each target starts from the saved regressions and runs
## FUZZ_SHORT_SECONDS (10); new corpus entries go to a temporary directory, a crash fails the
## target and leaves its input in fuzz/artifacts/TARGET/.
FUZZ_SHORT_SECONDS ?= 10
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks
FUZZ_TRIPLE := $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_BIN := fuzz/target/short/$(FUZZ_TRIPLE)/release

fuzz-short:
	cd fuzz && RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --release --bins --quiet \
	  --target $(FUZZ_TRIPLE) --target-dir target/short
	@corpus=$$(mktemp -d); trap 'rm -rf "$$corpus"' EXIT; \
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p "$$corpus/$$t" fuzz/artifacts/$$t; \
	  $(FUZZ_BIN)/$$t "$$corpus/$$t" rust/fuzzcases/regressions/$$t \
	    -max_total_time=$(FUZZ_SHORT_SECONDS) -rss_limit_mb=2048 -max_len=4096 \
	    -artifact_prefix=fuzz/artifacts/$$t/ -print_final_stats=1 2>"$$corpus/$$t.log" \
	    || { tail -n 40 "$$corpus/$$t.log"; echo "fuzz-short: $$t crashed; input in fuzz/artifacts/$$t/" >&2; exit 1; }; \
	  echo "fuzz-short: $$t $$(sed -n 's/^stat::number_of_executed_units: *//p' "$$corpus/$$t.log") executions in $(FUZZ_SHORT_SECONDS) s, $$(ls "$$corpus/$$t" | wc -l) corpus entries, no crash"; \
	done

## fuzz-cli: the seeded CLI fuzzer of make test (tests/test_cli_fuzz.py, 2,000 cases there) at
## FUZZ_CLI_CASES (20000) cases; FUZZ_CLI_SEED (17) picks another deterministic sequence
FUZZ_CLI_CASES ?= 20000
FUZZ_CLI_SEED ?= 17
fuzz-cli: $(EXT_STAMP)
	DNSRACE_CLI_FUZZ_CASES=$(FUZZ_CLI_CASES) DNSRACE_CLI_FUZZ_SEED=$(FUZZ_CLI_SEED) \
	  $(PY) -m pytest tests/test_cli_fuzz.py -q -p no:cacheprovider

py-test: $(EXT_STAMP) $(WHEEL_STAMP) system-packages
	DNSRACE_REQUIRE_CORE=1 DNSRACE_REQUIRE_ETCD=1 DNSRACE_REQUIRE_BROWSER=1 DNSRACE_REQUIRE_REDIS=1 \
	  $(PY) -m pytest tests -q

## bench: the benchmark suite, quick profile (peers side by side, CAS vs LWW, contention, the
## 1M fit, simulation cost and violation curves): bench/results/REPORT.md and its PNGs, the
## targets printed PASS/MISS. bench-full: every size for every peer, more rounds and runs
## (bench/results/full/).
## Then the EtcdStore throughput figures of the README's "Distributed" section (the 50,000
## endpoints/s target, the plain client and the embedded store in the same run; results/etcd.json).
## readme-bench: copy the report's summary into the README's benchmark section.
bench: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile quick
	mkdir -p results
	$(PY) -m pytest bench/test_etcd_bench.py -q -p no:cacheprovider

bench-full: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile full --out bench/results/full

readme-bench: $(DEPS_STAMP)
	$(PY) -m bench.suite.readme bench/results/REPORT.md README.md

## bench-micro: pytest-benchmark micro benchmarks (ratios against the Python reference, same
## run; fails when one of their targets is missed)
bench-micro: $(EXT_STAMP) etcd
	mkdir -p results
	$(PY) -m pytest bench -q --benchmark-json results/bench.json --benchmark-columns=min,median,mean,rounds
	$(PY) -m bench.benchreport results/bench.json

fmt:
	cargo fmt --all
	ruff format python tests bench
	ruff check --fix python tests bench

clean:
	rm -rf $(VENV) target results dist python/dnsrace/_core*.so
