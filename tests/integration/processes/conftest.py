"""Fixtures of the process tests: a real local Ray cluster (a head and a worker node, each a
``ray start`` process group of its own; dnsrace.campaign.local.LocalRayCluster)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from requirements import require


def need_ray() -> None:
    """Skip without Ray, unless ``make test`` said it must be there (DNSRACE_REQUIRE_RAY)."""
    from dnsrace.campaign.local import ray_command

    require(ray_command() is not None, "RAY", "ray is not installed (make build installs it)")


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A head and a worker node of one CPU each, for the tests of one module (a test that kills
    a node starts a cluster of its own)."""
    need_ray()
    from dnsrace.campaign.local import LocalRayCluster

    with LocalRayCluster(head_cpus=1, worker_cpus=(1,)) as cluster:
        yield cluster
