"""Exploration campaigns on a real Ray cluster: a head and a worker node as separate processes
(``ray start``, loopback, one CPU each), the campaign run by the CLI in its own process, and the
worker node killed (SIGKILL to its whole process group: raylet, object store and the worker
process running a task) while it runs one of the campaign's tasks. Ray runs the lost task again
on the head, and the JSON is byte for byte the one of a local run. Before that, on the same
cluster while both nodes live, the benchmark suite's scenario sweeps (``python -m bench.suite
--sections sim,violations``) give the same ``sweeps.json`` bytes as the same sweeps run one cell
at a time in this process; only the rows' ``timing`` (kept apart, in ``suite.json``) differs.

The two tests share one cluster (starting two nodes is most of their time): the sweep runs
first, the test that kills the worker node last (pytest keeps a module's order, and the
xdist group keeps the module on one worker).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from bench.suite.args import parse
from bench.suite.run import run

from dnsrace.app.cli import main as cli_main
from requirements import require

# About 70-120 s for the module on this shared machine, 30-55 s of it the two Ray nodes starting
# (the ray_cluster fixture, once for both tests): make test, not check.
pytestmark = [
    pytest.mark.ray,
    pytest.mark.processes,
    pytest.mark.slow,
    pytest.mark.xdist_group("ray_cluster"),
]

ROOT = Path(__file__).resolve().parents[3]
SPIN = str(ROOT / "scenarios" / "spin.toml")
# Two presets, one that breaks and one that does not, 4,096 runs each: 32 blocks of 256 runs,
# so the campaign is still running when the worker node dies (1,024 each, 8 blocks, became
# too short for the worker node to start a task once runs got faster).
CAMPAIGN = ["--discipline", "aws2025,cas", "--runs", "4096", "--seed", "7", "--quiet"]
TASK_TITLE = "ray::_call"
"""The process title Ray gives a worker process while it runs a campaign job (dnsrace.campaign
._call); an idle one reads ``ray::IDLE``."""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A head and a worker node of one CPU each, shared by this module's tests (a conftest.py
    here would shadow tests/conftest.py for the modules that import from it)."""
    from dnsrace.campaign.local import LocalRayCluster, ray_command

    require(ray_command() is not None, "RAY", "ray is not installed (make build installs it)")
    with LocalRayCluster(head_cpus=1, worker_cpus=(1,)) as cluster:
        yield cluster


def _busy(cluster: object, node: int) -> bool:
    from dnsrace.campaign.local import LocalRayCluster

    assert isinstance(cluster, LocalRayCluster)
    return any(TASK_TITLE in cmd for _, cmd in cluster.node_processes(node))


# 4 simulation-cost cells and 6 violation-curve cells (aws2025 violates at some of them). The
# first curve cell (32 enactors, cas) takes about twice as long as the next and ten times as
# long as each after it: the other node runs those meanwhile, so they finish before it, and
# rows gathered as they arrive would come out of order.
SWEEP = [
    "--sections", "sim,violations",
    "--sim-sizes", "30,60",
    "--sim-duration", "60",
    "--sim-presets", "cas,aws2025",
    "--axes", "enactors,rate",
    "--enactors", "32,2",
    "--rate", "30",
    "--runs", "2",
]  # fmt: skip


@pytest.mark.timeout(240)
def test_a_sweep_on_a_ray_cluster_gives_the_same_result_bytes_as_one_local_process(
    tmp_path: Path, ray_cluster: Any
) -> None:
    local = tmp_path / "local"
    prof, _, where = parse([*SWEEP, "--executor", "local", "--workers", "1"])
    run(prof, local, "local", where)

    on_ray = tmp_path / "ray"
    argv = [sys.executable, "-m", "bench.suite", *SWEEP, "--out", str(on_ray)]
    argv += ["--executor", "ray", "--address", ray_cluster.address]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, env=ray_cluster.env, timeout=180, check=False
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]

    assert (on_ray / "sweeps.json").read_bytes() == (local / "sweeps.json").read_bytes()
    results = orjson.loads((local / "sweeps.json").read_bytes())
    assert len(results["sim"]) == 4 and len(results["violations"]) == 6
    assert any(r["violating_runs"] for r in results["violations"])  # real exploration
    assert b"timing" not in (local / "sweeps.json").read_bytes()

    full: dict[str, Any] = orjson.loads((on_ray / "suite.json").read_bytes())
    assert full["campaign"] == {
        "executor": "ray",
        "workers": 2,
        "address": ray_cluster.address,
    }
    # The speed measurements are there, apart from the results.
    assert all(r["timing"]["wall_s"] > 0 for r in full["sim"]["rows"] + full["violations"])
    assert "jobs of a ray campaign" in (on_ray / "REPORT.md").read_text()


@pytest.mark.timeout(180)
def test_a_campaign_survives_a_killed_worker_node_with_the_same_bytes(
    tmp_path: Path, ray_cluster: Any
) -> None:
    # Last in the module: it kills the shared cluster's worker node.
    cluster = ray_cluster
    local = tmp_path / "local.json"
    assert (
        cli_main(["explore", SPIN, *CAMPAIGN, "--jobs", "1", "--json", str(local)]) == 1
    )  # aws2025 breaks

    on_ray = tmp_path / "ray.json"
    argv = [sys.executable, "-m", "dnsrace", "explore", SPIN, *CAMPAIGN]
    argv += ["--executor", "ray", "--address", cluster.address, "--json", str(on_ray)]
    campaign = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cluster.env
    )
    try:
        deadline = time.monotonic() + 120
        while not _busy(cluster, 1):
            assert campaign.poll() is None, "the campaign ended before the worker node ran"
            assert time.monotonic() < deadline, "the worker node never ran a campaign task"
            time.sleep(0.05)
        cluster.kill_node(1)
        assert campaign.poll() is None, "killed after the campaign, not during it"
        _out, err = campaign.communicate(timeout=150)
    finally:
        if campaign.poll() is None:
            campaign.kill()
            campaign.wait()
    assert campaign.returncode == 1, err.decode(errors="replace")[-3000:]
    assert cluster.nodes[1].poll() is not None  # the worker node stayed dead

    # A seed range (rates) on what is left of the cluster: the same bytes as local runs.
    seeds = ["incident", "--endpoints", "30", "--seeds", "1-3", "--discipline", "aws2025"]
    seeds += ["--quiet", "--json"]
    rates_ray = tmp_path / "rates-ray.json"
    argv = [sys.executable, "-m", "dnsrace", *seeds, str(rates_ray)]
    argv += ["--executor", "ray", "--address", cluster.address]
    done = subprocess.run(argv, capture_output=True, env=cluster.env, timeout=150)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    rates_local = tmp_path / "rates-local.json"
    assert cli_main([*seeds, str(rates_local), "--jobs", "1"]) == 0
    assert rates_ray.read_bytes() == rates_local.read_bytes()
    assert on_ray.read_bytes() == local.read_bytes()
