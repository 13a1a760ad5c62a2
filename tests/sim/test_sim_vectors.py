"""The simulator's whole-batch arithmetic gives the same values with numpy and without it, so a
run's results do not depend on whether the numpy extra is installed (a 2,001-endpoint,
four-minute run per discipline both ways: a few seconds)."""

from __future__ import annotations

import random
from array import array
from collections.abc import Iterator

import pytest

from dnsrace.app.report import dumps
from dnsrace.sim import vectors
from dnsrace.sim.runner import run_discipline
from dnsrace.sim.scenario import incident_scenario

numpy = pytest.importorskip("numpy")


@pytest.fixture
def plain() -> Iterator[None]:
    """The helpers without numpy (as with the sim extra alone)."""
    saved = vectors.numpy
    vectors.numpy = None
    try:
        yield
    finally:
        vectors.numpy = saved


def _cases() -> list[array[int]]:
    rng = random.Random(7)
    out = []
    for n in (0, 1, 5, vectors.MIN_VECTOR - 1, vectors.MIN_VECTOR, 300, 5000):
        for values in ([0, 3, 4, 9, 2**63], [0], [12], [7, 8]):
            out.append(array("Q", [rng.choice(values) for _ in range(n)]))
    return out


def _results() -> list[object]:
    return [
        (
            dict(sorted(vectors.histogram(a).items())),
            vectors.positions_below(a, 8),
            vectors.positions_below(a, 2**64 - 1),
            vectors.zero_positions(a),
        )
        for a in _cases()
    ]


def test_helpers_agree_with_and_without_numpy(plain: None) -> None:
    without = _results()
    vectors.numpy = numpy
    with_numpy = _results()
    assert with_numpy == without
    # And they say what they mean (the plain way, on one case).
    a = array("Q", [5, 0, 9, 5])
    assert vectors.histogram(a) == {5: 2, 0: 1, 9: 1}
    assert vectors.positions_below(a, 9) == [0, 1, 3]
    assert vectors.positions_below(a, 10) is None
    assert vectors.zero_positions(a) == [1]
    assert vectors.histogram([None, 3, None]) == {0: 2, 3: 1}


def test_large_batches_take_the_numpy_way() -> None:
    a = array("Q", [4] * vectors.MIN_VECTOR)
    assert vectors._vector(a) is not None
    assert vectors._vector(a[:-1]) is None  # short: the loop is cheaper
    assert vectors._vector(list(a)) is None  # not a typed array


@pytest.mark.parametrize("preset", ["aws2025", "fenced"])
def test_a_run_is_the_same_with_and_without_numpy(preset: str, plain: None) -> None:
    # 2,001 endpoints: batches of 100 endpoints, long enough for the numpy way.
    scenario = incident_scenario(seed=3, endpoints=2000, presets=(preset,))
    scenario = scenario.replace(duration_s=240.0)
    discipline = scenario.discipline_list()[0]
    without = run_discipline(scenario, discipline)
    vectors.numpy = numpy
    with_numpy = run_discipline(scenario, discipline)
    assert dumps(with_numpy.metrics) == dumps(without.metrics)
    assert dumps(with_numpy.timeline.to_json()) == dumps(without.timeline.to_json())
    assert with_numpy.metrics["flip_attempts"] > 0
