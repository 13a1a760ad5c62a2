"""Shared fixtures: store tests run against the Rust store and the pure-Python reference
(``store_cls``), the conformance suite also against the etcd store (``any_store``).

Also the test tiers: hypothesis settings profiles (``dev`` by default, ``--hypothesis-profile=ci``
in ``make test``, ``deep`` for a long search) and the markers that follow from the fixtures a test
uses (``etcd``, ``browser``); see DEVELOPMENT.md.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import pytest
from hypothesis import HealthCheck, settings

from dnsrace.reference import Plan as RefPlan
from dnsrace.reference import PyRecordStore
from requirements import require

# ------------------------------------------------------------------------------ tiers

# A test's hypothesis size is written for the ci profile (the full run of make test) and scales
# with the loaded profile's max_examples: dev (make check, a plain pytest) runs a fifth of it,
# deep ten times it. One knob instead of a size variable per test file.
CI_EXAMPLES = 100
settings.register_profile("ci", max_examples=CI_EXAMPLES, deadline=None, print_blob=True)
settings.register_profile("dev", max_examples=CI_EXAMPLES // 5, deadline=None)
settings.register_profile(
    "deep",
    max_examples=CI_EXAMPLES * 10,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
# The default when no --hypothesis-profile is given; the option, handled by hypothesis's pytest
# plugin after this file is loaded and before any test module is imported, overrides it.
settings.load_profile("dev")


def examples(at_ci: int) -> int:
    """A test's number of examples under the loaded profile, given its number under ``ci``."""
    return max(1, at_ci * settings.default.max_examples // CI_EXAMPLES)


# Markers that follow from the fixtures a test uses, so that no test can use a server without
# carrying its marker (pytest -m 'not etcd' leaves out exactly the tests that start etcd).
_FIXTURE_MARKERS = {"etcd1": "etcd", "etcd3": "etcd", "etcd3_netns": "etcd", "browser": "browser"}


def _module_scoped_fixtures(item: pytest.Item) -> list[str]:
    """The module-scoped fixtures a test uses (each is computed once per module and worker)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [
        name for name, defs in info.name2fixturedefs.items() if defs and defs[-1].scope == "module"
    ]


@pytest.hookimpl(tryfirst=True)  # before -m selects on the markers added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            marker = _FIXTURE_MARKERS.get(fixture)
            if marker is not None:
                item.add_marker(marker)
        if item.get_closest_marker("browser") is not None:
            # One headless chromium per module scope: keep its tests on one xdist worker.
            item.add_marker(pytest.mark.xdist_group("browser"))
        elif _module_scoped_fixtures(item):
            # A module-scoped fixture (the benchmark suite's tiny run, the wheel) is computed
            # once per worker that runs one of its tests: keep those tests on one worker.
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
    # Longest first: xdist hands out tests in this order, so a long test started last cannot
    # leave the other cores idle at the end of the run. Stable: the rest keep their order.
    items.sort(key=lambda item: not any(item.get_closest_marker(m) for m in ("slow", "browser")))


class StoreImpl(NamedTuple):
    """A store class and the plan class its ``put_plan`` accepts."""

    Store: Any
    Plan: Any
    name: str = ""


def rust_impl() -> StoreImpl | None:
    """The Rust classes, or None if ``dnsrace._core`` is not built."""
    try:
        importlib.import_module("dnsrace._core")
    except ImportError:
        return None
    import dnsrace

    return StoreImpl(dnsrace.RecordStore, dnsrace.Plan, "rust")


PY_IMPL = StoreImpl(PyRecordStore, RefPlan, "py")


@pytest.fixture(params=["py", "rust"])
def store_cls(request: pytest.FixtureRequest) -> StoreImpl:
    """(StoreClass, PlanClass) of the reference (``py``) or the Rust core (``rust``)."""
    return embedded_impl(request.param)


def embedded_impl(kind: str) -> StoreImpl:
    """The reference (``py``) or the Rust core (``rust``); skipped if the core is not built."""
    if kind == "py":
        return PY_IMPL
    impl = rust_impl()
    if impl is None:
        # `make test` always builds the extension and sets DNSRACE_REQUIRE_CORE, so there a
        # missing core is a failure, never a silently skipped half of the suite.
        if os.environ.get("DNSRACE_REQUIRE_CORE"):
            pytest.fail("dnsrace._core is not importable but DNSRACE_REQUIRE_CORE is set")
        pytest.skip("dnsrace._core is not built (make test builds it)")
    return impl


# ------------------------------------------------------------------------------ conformance

# The stores of the conformance suite (tests/store/test_conformance_*.py and the other files whose
# tests take ``any_store``): every test that makes a store runs on all three; a test that only
# builds plans runs on the two plan classes (``py`` and ``rust``).
CONFORMANCE_STORES = ("py", "rust", "etcd")


class _EtcdStores:
    """``Store()`` makes a fresh EtcdStore in a namespace of its own on the session's member."""

    def __init__(self, url: str, test: str) -> None:
        self.url = url
        self.prefix = "".join(c if c.isalnum() else "-" for c in test)[-60:]
        self.made: list[Any] = []

    def __call__(self) -> Any:
        from dnsrace.backends.etcd import EtcdStore

        store = EtcdStore(f"{self.url}/{self.prefix}-{len(self.made)}", reset=True)
        self.made.append(store)
        return store

    def close(self) -> None:
        for store in self.made:
            store.close()


@pytest.fixture
def any_store(request: pytest.FixtureRequest) -> Iterator[StoreImpl]:
    """(Store factory, Plan class, name) of one of ``CONFORMANCE_STORES`` (parametrized by
    ``pytest_generate_tests`` below)."""
    if request.param != "etcd":
        yield embedded_impl(request.param)
        return
    cluster = request.getfixturevalue("etcd1")
    stores = _EtcdStores(cluster.url, request.node.name)
    try:
        yield StoreImpl(stores, RefPlan, "etcd")
    finally:
        stores.close()


# The etcd store's differences by design (docs/guide/etcd.md), stated once for the suite:
# - Its versions are the etcd ``mod_revision`` of an endpoint's control record: they grow with
#   every applied flip of the endpoint and stay put otherwise, and ``mode="exact"`` compares
#   them, but they do not count flips. A check of the count runs where ``versions_count_flips``;
#   the rest of such a test runs on every store.
# - It keeps no memory estimate, snapshot, pickle or history (calls outside ``Store``): the
#   tests of those, listed here, run on the embedded stores only.
ETCD_BY_DESIGN: dict[str, str] = {
    "test_memory": "no memory(): etcd holds the data (db_size() is its measure)",
    "test_pickle_and_copy_through_the_snapshot_format": "no snapshots: etcd holds the data",
    "test_snapshot_bytes_cross_between_stores": "no snapshots: etcd holds the data",
    "test_restore_refuses_special_files_without_blocking": "no snapshots: etcd holds the data",
    "test_snapshot_refuses_to_replace_special_files": "no snapshots: etcd holds the data",
}


def versions_count_flips(any_store: StoreImpl) -> bool:
    """Whether an endpoint's version counts its applied flips (the embedded stores)."""
    return any_store.name != "etcd"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize ``any_store``: all three stores where the test makes a store, unless
    ``ETCD_BY_DESIGN`` names it; the two plan classes where it only builds plans."""
    if "any_store" not in metafunc.fixturenames:
        return
    import inspect

    source = inspect.getsource(metafunc.function)
    # Store(...), or a helper that makes one: new_store(...), _store(...).
    makes_store = any(call in source for call in ("Store(", "_store(", "any_store.Store"))
    params: list[Any] = ["py", "rust"]
    if makes_store and metafunc.function.__name__ not in ETCD_BY_DESIGN:
        params.append(pytest.param("etcd", marks=pytest.mark.etcd))
    metafunc.parametrize("any_store", params, indirect=True)


# ------------------------------------------------------------------------------ etcd


def _need_etcd() -> None:
    from dnsrace.backends.etcd.local import etcd_binary

    require(
        etcd_binary() is not None, "ETCD", "etcd is not installed (make test installs etcd-server)"
    )


@pytest.fixture(scope="session")
def etcd1() -> Any:
    """One etcd member on loopback for the whole session (tests use their own namespaces)."""
    _need_etcd()
    from dnsrace.backends.etcd.local import LocalCluster

    with LocalCluster(1) as cluster:
        yield cluster


@pytest.fixture
def etcd3() -> Any:
    """A fresh 3-member cluster (tests kill and pause its members)."""
    _need_etcd()
    from dnsrace.backends.etcd.local import LocalCluster

    with LocalCluster(3) as cluster:
        yield cluster


@pytest.fixture
def etcd3_netns() -> Any:
    """A 3-member cluster whose members each have a network namespace (root only): a test can
    cut one off. Elsewhere the test is skipped with the reason printed."""
    _need_etcd()
    from dnsrace.backends.etcd.local import LocalCluster, netns_unavailable

    reason = netns_unavailable()
    if reason is not None:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    with LocalCluster(3, netns=True) as cluster:
        yield cluster


# ------------------------------------------------------------------------------ histories


@pytest.fixture(autouse=True)
def _simulated_histories_are_checked() -> Iterator[None]:
    """Every simulation a test runs on the Rust store records its history (every endpoint up
    to 32, else a sample of 32 plus the regional one: each endpoint's history is whole) and
    the history must check ``ok`` with nothing dropped."""
    try:
        importlib.import_module("dnsrace._core")
    except ImportError:
        yield
        return
    from dnsrace.sim import runner

    failures: list[str] = []
    checked = [0]

    def sink(scenario: Any, discipline: Any, store: Any) -> None:
        checked[0] += 1
        what = f"seed {scenario.seed} {discipline.name}"
        if store.history_dropped():
            failures.append(f"{what}: {store.history_dropped()} operations dropped")
            return
        r = store.check_history(timeout=120, as_dict=True)
        if r["verdict"] != "ok":
            failures.append(f"{what}: {r['verdict']} {r['illegal']} {r['domain_violations'][:3]}")

    runner.add_history_sink(sink)
    try:
        yield
    finally:
        runner.remove_history_sink(sink)
    assert not failures, failures
