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

.PHONY: all run test bench bench-full bench-micro readme-bench build lint rust-test py-test fmt clean etcd redis fuzz

# Debian's etcd-server for the distributed store's tests and benchmarks (the tests start and
# stop their own members on loopback; the package's own service is not used).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
etcd:
	@command -v etcd >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq etcd-server >/dev/null; }
	@command -v etcd >/dev/null

# Debian's redis-server, a peer of the benchmark suite (started and stopped by the suite itself
# on a free loopback port; the package's own service is not used).
redis:
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-server >/dev/null; }
	@command -v redis-server >/dev/null

all: test

$(DEPS_STAMP): requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(EXT_STAMP): $(DEPS_STAMP) $(RUST_SRC) pyproject.toml
	maturin develop --release --quiet --features testing
	touch $@

## build: the virtual environment and the release-mode extension
build: $(EXT_STAMP)

## run: the main job (incident replay and the discipline comparison on the embedded store)
run: $(EXT_STAMP)
	mkdir -p results
	$(PY) -m dnsrace incident --json results/incident.json --plot results/incident-timeline.png
	$(PY) -m dnsrace explore scenarios/spin.toml --runs 2000 --json results/spin.json
	$(PY) -m dnsrace modes --json results/modes.json

## test: all Rust and Python tests, plus format, lint and type checks (mypy --strict over
## python/dnsrace as configured in pyproject.toml, stubtest of the native module's stub)
test: lint rust-test py-test

lint: $(EXT_STAMP)
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings
	ruff check python tests bench
	ruff format --check python tests bench
	mypy
	python -m mypy.stubtest dnsrace._core

## rust-test also runs the fuzz harnesses on stable as proptest cases (20,000 arbitrary inputs
## per target, DNSRACE_FUZZ_CASES to change) plus every saved regression input
rust-test:
	cargo test -p dnsrace-core --quiet
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

py-test: $(EXT_STAMP) etcd redis
	DNSRACE_REQUIRE_CORE=1 DNSRACE_REQUIRE_ETCD=1 DNSRACE_REQUIRE_REDIS=1 $(PY) -m pytest tests -q

## bench: the benchmark suite, quick profile (peers side by side, CAS vs LWW, contention, the
## 1M fit, simulation cost and violation curves): bench/results/REPORT.md and its PNGs, the
## targets printed PASS/MISS. bench-full: every size for every peer, more rounds and runs
## (bench/results/full/).
## readme-bench: copy the report's summary into the README's benchmark section.
bench: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile quick

bench-full: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile full --out bench/results/full

readme-bench: $(DEPS_STAMP)
	$(PY) -m bench.suite.readme bench/results/REPORT.md README.md

## bench-micro: pytest-benchmark micro benchmarks (ratios against the Python reference, same
## run; fails when one of their targets is missed)
bench-micro: $(EXT_STAMP) etcd
	mkdir -p results
	$(PY) -m pytest bench -q --benchmark-json results/bench.json --benchmark-columns=min,median,mean,rounds
	$(PY) -m dnsrace.benchreport results/bench.json

fmt:
	cargo fmt --all
	ruff format python tests bench
	ruff check --fix python tests bench

clean:
	rm -rf $(VENV) target results python/dnsrace/_core*.so
