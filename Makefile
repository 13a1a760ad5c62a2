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
# Under check's and test's -j sub-make, cargo would look for make's jobserver in MAKEFLAGS and
# warn that its descriptors are closed (make passes them to recursive commands only). Cargo
# reads CARGO_MAKEFLAGS first: empty, it is no jobserver, and cargo uses the cores itself.
export CARGO_MAKEFLAGS :=

DEPS_STAMP := $(VENV)/.deps-stamp
# The extension's cargo profile (Cargo.toml): release for make build, make test, benchmarks and
# wheels; make check builds `quick` (no LTO, opt-level 1). One stamp per profile, and building
# one removes the others, so the stamp always names the .so installed in python/dnsrace.
EXT_PROFILE ?= release
EXT_PROFILES := release quick
EXT_STAMP := $(VENV)/.ext-stamp-$(EXT_PROFILE)
RUST_SRC := $(shell find rust -name '*.rs') Cargo.toml rust/core/Cargo.toml rust/py/Cargo.toml

.PHONY: all run test check docs wheel stub-docs bench bench-full bench-micro bench-summary readme-bench calibration build lint lint-rust lint-py stubtest rust-test rust-check py-test py-check fmt clean system-packages etcd browser redis fuzz fuzz-build fuzz-short fuzz-cli

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

# uv (from PyPI, into the venv) installs the tools: the same packages as pip, in seconds instead
# of a minute on this machine, which is most of a fresh clone's set-up time. pip stays in the venv.
$(DEPS_STAMP): requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check 'uv>=0.5'
	$(VENV)/bin/uv pip install --quiet --python $(PY) -r requirements-dev.txt
	touch $@

$(EXT_STAMP): $(DEPS_STAMP) $(RUST_SRC) pyproject.toml
	# An older version-specific build (_core.cpython-3XX-*.so) would shadow the abi3 one.
	rm -f python/dnsrace/_core.*.so $(VENV)/.ext-stamp $(foreach p,$(EXT_PROFILES),$(VENV)/.ext-stamp-$(p))
	maturin develop --profile $(EXT_PROFILE) --quiet --features testing
	touch $@

## wheel: the release wheel in dist/: abi3 (one file for CPython 3.11 and later), stripped, no
## test-only feature. tests/project/test_wheel.py installs it into fresh venvs of every CPython >= 3.11.
WHEEL_STAMP := dist/.wheel-stamp
PY_FILES := $(shell find python -type f ! -name '*.so' ! -path '*/__pycache__/*')
$(WHEEL_STAMP): $(DEPS_STAMP) $(RUST_SRC) $(PY_FILES) pyproject.toml Cargo.lock
	rm -rf dist
	maturin build --release --quiet --out dist
	touch $@

wheel: $(WHEEL_STAMP)

## build: the virtual environment and the release-mode extension
build: $(EXT_STAMP)

## run: the main job (incident replay from one seed and the discipline comparison on the embedded
## store, then the rates over seeds 1-6 at 1,001 endpoints)
run: $(EXT_STAMP)
	mkdir -p results
	$(PY) -m dnsrace incident --json results/incident.json --plot results/incident-timeline.png
	$(PY) -m dnsrace view results/incident.json -o results/incident-timeline.html
	$(PY) -m dnsrace incident --endpoints 1000 --seeds 1-6 --json results/incident-rates.json \
	  --plot results/incident-rates.png
	$(PY) -m dnsrace explore scenarios/spin.toml --runs 2000 --json results/spin.json || [ $$? -eq 1 ]  # 1: violations found (aws2025's, expected)
	$(PY) -m dnsrace modes --json results/modes.json

## test: everything, what .ci/run calls. First the Debian packages the integration tests need
## (apt-get only where one is missing), then format, lint and type checks (mypy --strict as
## configured in pyproject.toml, stubtest of the native module's stub), all Rust tests, the short
## libFuzzer pass, the docs site (strict), and all of pytest with the ci hypothesis profile.
## The builds and checks before pytest run JOBS at a time (-O keeps each one's output together):
## cargo, mypy and mkdocs fill each other's idle cores. The libFuzzer pass then runs alone, since
## it is time-boxed (10 s per target) and would lose executions to a neighbour; pytest last.
JOBS ?= $(shell nproc)
SUBMAKE = $(MAKE) --no-print-directory -j$(JOBS) --output-sync=target
test: system-packages
	$(SUBMAKE) lint rust-test fuzz-build docs wheel
	$(SUBMAKE) fuzz-short
	$(SUBMAKE) py-test

## check: the fast tier to run after each change, from a fresh clone or a built tree (target:
## under 2 minutes from a fresh clone on 2 cores). The extension in the quick cargo profile (a
## build for the tests, not for timing), lint, the core's cargo tests and pytest's check tier
## (py-check), JOBS steps at a time. The extension is built first, on its own: cargo runs one
## build at a time per target dir, and side by side clippy and the core's tests took the lock
## first and pytest, the longest step, waited for them; now it runs while they compile.
check:
	$(SUBMAKE) EXT_PROFILE=quick build
	$(SUBMAKE) EXT_PROFILE=quick CLIPPY_PACKAGES='--workspace --exclude dnsrace-bench' \
	  py-check lint rust-check

## docs: the documentation site into site/ (mkdocs, material theme, mkdocstrings from the stub;
## the CLI reference and the benchmark report pages are generated by docs/_hooks/generated.py).
## Strict: a warning (a dangling link or anchor, a moved module) fails it. Not --quiet: with it,
## mkdocs 1.6 stops counting warnings and a strict build passes them.
docs: $(EXT_STAMP)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

## lint: lint-rust (cargo fmt --check, clippy -D warnings), lint-py (ruff check, ruff format
## --check, mypy --strict; no extension needed, so it runs while cargo builds one) and stubtest
## (the native module's stub against the built extension)
lint: lint-rust lint-py stubtest

## CLIPPY_PACKAGES: the whole workspace, except in make check, which leaves out the core's
## benchmarks (rust/bench: criterion and its dependencies); make test and make lint check them.
CLIPPY_PACKAGES ?= --workspace
lint-rust:
	cargo fmt --all --check
	cargo clippy $(CLIPPY_PACKAGES) --all-targets --all-features --quiet -- -D warnings

lint-py: $(DEPS_STAMP)
	ruff check python tests bench docs/_hooks
	ruff format --check python tests bench docs/_hooks
	mypy

stubtest: $(EXT_STAMP)
	python -m mypy.stubtest dnsrace._core

## rust-test also runs the history stress test on a deliberately broken store (test-only feature
## broken-generation-check), and the fuzz harnesses on stable as proptest cases (20,000 arbitrary inputs
## per target, DNSRACE_FUZZ_CASES to change) plus every saved regression input
rust-test: rust-check
	# The store with its if_newer compare removed: the checker must call its history illegal.
	cargo test -p dnsrace-core --features broken-generation-check --test history_stress --quiet
	cargo test -p dnsrace-fuzzcases --release --quiet

rust-check:
	cargo test -p dnsrace-core --quiet

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
## target and leaves its input in fuzz/artifacts/TARGET/. FUZZ_SHORT_JOBS (2, the cores here)
## targets run at once: libFuzzer is single-threaded, so each still has a core for its seconds.
FUZZ_SHORT_SECONDS ?= 10
FUZZ_SHORT_JOBS ?= 2
FUZZ_RUSTFLAGS := -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
  -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
  -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks
FUZZ_TRIPLE := $(shell rustc -vV | sed -n 's/^host: //p')
FUZZ_BIN := fuzz/target/short/$(FUZZ_TRIPLE)/release

fuzz-build:
	cd fuzz && RUSTFLAGS="$(FUZZ_RUSTFLAGS)" cargo build --release --bins --quiet \
	  --target $(FUZZ_TRIPLE) --target-dir target/short

fuzz-short: fuzz-build
	@corpus=$$(mktemp -d); trap 'rm -rf "$$corpus"' EXIT; \
	fuzz_one() { \
	  mkdir -p "$$corpus/$$1" fuzz/artifacts/$$1; \
	  $(FUZZ_BIN)/$$1 "$$corpus/$$1" rust/fuzzcases/regressions/$$1 \
	    -max_total_time=$(FUZZ_SHORT_SECONDS) -rss_limit_mb=2048 -max_len=4096 \
	    -artifact_prefix=fuzz/artifacts/$$1/ -print_final_stats=1 2>"$$corpus/$$1.log"; \
	}; \
	set -- $(FUZZ_TARGETS); failed=0; \
	while [ $$# -gt 0 ]; do \
	  batch=""; \
	  for _ in $$(seq $(FUZZ_SHORT_JOBS)); do [ $$# -gt 0 ] || break; batch="$$batch $$1"; shift; done; \
	  for t in $$batch; do fuzz_one $$t & echo $$! >"$$corpus/$$t.pid"; done; \
	  for t in $$batch; do \
	    if wait "$$(cat "$$corpus/$$t.pid")"; then \
	      echo "fuzz-short: $$t $$(sed -n 's/^stat::number_of_executed_units: *//p' "$$corpus/$$t.log") executions in $(FUZZ_SHORT_SECONDS) s, $$(ls "$$corpus/$$t" | wc -l) corpus entries, no crash"; \
	    else \
	      tail -n 40 "$$corpus/$$t.log"; echo "fuzz-short: $$t crashed; input in fuzz/artifacts/$$t/" >&2; failed=1; \
	    fi; \
	  done; \
	done; \
	exit $$failed

## fuzz-cli: the seeded CLI fuzzer of make test (tests/cli/test_cli_fuzz.py, 2,000 cases there) at
## FUZZ_CLI_CASES (20000) cases; FUZZ_CLI_SEED (17) picks another deterministic sequence
FUZZ_CLI_CASES ?= 20000
FUZZ_CLI_SEED ?= 17
fuzz-cli: $(EXT_STAMP)
	DNSRACE_CLI_FUZZ_CASES=$(FUZZ_CLI_CASES) DNSRACE_CLI_FUZZ_SEED=$(FUZZ_CLI_SEED) \
	  $(PY) -m pytest tests/cli/test_cli_fuzz.py -q -p no:cacheprovider

## py-test: all of pytest across the cores (pytest-xdist; --dist loadgroup keeps the browser
## tests on one worker, each worker starts its own etcd members on free ports) with a per-test
## timeout (pyproject.toml) and the ci hypothesis profile. A missing server fails the run
## (DNSRACE_REQUIRE_*) instead of skipping: make test installs them first (system-packages).
## py-check: the check tier: the embedded stores and everything else that needs no server or
## child cluster (CHECK_TIER: not slow, not etcd, browser, processes, redis, ray, wheel), with
## the dev profile. PYTEST_ARGS adds options to both (e.g. --durations=30, -x).
PYTEST_WORKERS ?= auto
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadgroup
PYTEST_ARGS ?=
CHECK_TIER := not slow and not etcd and not browser and not processes and not redis and not ray and not wheel
py-test: $(EXT_STAMP) $(WHEEL_STAMP)
	DNSRACE_REQUIRE_CORE=1 DNSRACE_REQUIRE_ETCD=1 DNSRACE_REQUIRE_BROWSER=1 DNSRACE_REQUIRE_REDIS=1 DNSRACE_REQUIRE_RAY=1 \
	  $(PY) -m pytest tests -q $(PYTEST_XDIST) --hypothesis-profile=ci $(PYTEST_ARGS)

py-check: $(EXT_STAMP)
	DNSRACE_REQUIRE_CORE=1 $(PY) -m pytest tests -q $(PYTEST_XDIST) --hypothesis-profile=dev \
	  -m '$(CHECK_TIER)' $(PYTEST_ARGS)

## bench: the benchmark suite, quick profile (peers side by side, CAS vs LWW, contention, the
## 1M fit, simulation cost and violation curves): bench/results/REPORT.md and its PNGs, the
## targets printed PASS/MISS. bench-full: every size for every peer, more rounds and runs
## (bench/results/full/).
## Then the EtcdStore throughput figures (the 50,000 endpoints/s target, the plain client and the
## embedded store in the same run; results/etcd.json; docs/guide/etcd.md).
## bench-summary (readme-bench, its old name): copy the report's summary into the docs site's
## benchmark guide (docs/guide/benchmarks.md), its link pointing at the generated report page.
bench: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile quick
	mkdir -p results
	$(PY) -m pytest bench/test_etcd_bench.py -q -p no:cacheprovider

bench-full: $(EXT_STAMP) etcd redis
	$(PY) -m bench.suite --profile full --out bench/results/full

bench-summary: $(DEPS_STAMP)
	$(PY) -m bench.suite.readme bench/results/REPORT.md docs/guide/benchmarks.md \
	  ../reference/bench-report.md

readme-bench: bench-summary

## calibration: the sweep of docs/guide/calibration.md (aws2025, one knob at a time, seeds 1-8 at
## 1,001 endpoints; about 4 minutes of CPU), its table written into the page between markers
calibration: $(EXT_STAMP)
	$(PY) -m bench.calibration --seeds 1-8 --endpoints 1000

## bench-campaign: exploration runs per second with 1 and 2 workers, on local processes and on
## a Ray cluster started as separate processes (bench/results/campaign.md, a few minutes).
## bench-samplers: runs to the first violation per sampler, preset and scenario, 50 seeds each
## (bench/results/samplers.md; it picks explore's default sampler). Both then write REPORT.md
## again from suite.json (sections 7 and 8 include them).
.PHONY: bench-campaign bench-samplers
bench-campaign: $(EXT_STAMP)
	$(PY) -m bench.campaign
	$(PY) -m bench.suite.report bench/results

bench-samplers: $(EXT_STAMP)
	$(PY) -m bench.samplers --seeds 50 --cap 300
	$(PY) -m bench.suite.report bench/results

## bench-micro: pytest-benchmark micro benchmarks (ratios against the Python reference, same
## run; fails when one of their targets is missed)
bench-micro: $(EXT_STAMP) etcd
	mkdir -p results
	$(PY) -m pytest bench -q --benchmark-json results/bench.json --benchmark-columns=min,median,mean,rounds
	$(PY) -m bench.benchreport results/bench.json

## stub-docs: copy the docstrings of python/dnsrace/_core.pyi (and, for the calls every store
## shares, of the Store protocol in python/dnsrace/_api.pyi) into the binding's Rust doc
## comments (PyO3 makes them __doc__; tests/store/test_store_docs.py fails while they disagree)
stub-docs:
	$(PY) rust/py/sync_docs.py

fmt:
	cargo fmt --all
	ruff format python tests bench docs/_hooks
	ruff check --fix python tests bench docs/_hooks

clean:
	rm -rf $(VENV) target results dist site python/dnsrace/_core*.so
