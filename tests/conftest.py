"""Shared fixtures: every store test runs against the Rust store and the pure-Python reference.

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


class StoreImpl(NamedTuple):
    """A store class and the plan class its ``put_plan`` accepts."""

    Store: Any
    Plan: Any


def rust_impl() -> StoreImpl | None:
    """The Rust classes, or None if ``dnsrace._core`` is not built."""
    try:
        importlib.import_module("dnsrace._core")
    except ImportError:
        return None
    import dnsrace

    return StoreImpl(dnsrace.RecordStore, dnsrace.Plan)


PY_IMPL = StoreImpl(PyRecordStore, RefPlan)


@pytest.fixture(params=["py", "rust"])
def store_cls(request: pytest.FixtureRequest) -> StoreImpl:
    """(StoreClass, PlanClass) of the reference (``py``) or the Rust core (``rust``)."""
    if request.param == "py":
        return PY_IMPL
    impl = rust_impl()
    if impl is None:
        # `make test` always builds the extension and sets DNSRACE_REQUIRE_CORE, so there a
        # missing core is a failure, never a silently skipped half of the suite.
        if os.environ.get("DNSRACE_REQUIRE_CORE"):
            pytest.fail("dnsrace._core is not importable but DNSRACE_REQUIRE_CORE is set")
        pytest.skip("dnsrace._core is not built (make test builds it)")
    return impl


# ------------------------------------------------------------------------------ etcd


def _need_etcd() -> None:
    from dnsrace.backends.etcd.local import etcd_binary

    if etcd_binary() is None:
        # `make test` installs Debian's etcd-server and sets DNSRACE_REQUIRE_ETCD: there a
        # missing server fails the run instead of skipping the distributed half.
        if os.environ.get("DNSRACE_REQUIRE_ETCD"):
            pytest.fail("etcd is not installed but DNSRACE_REQUIRE_ETCD is set")
        pytest.skip("etcd is not installed (make test installs Debian's etcd-server)")


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
