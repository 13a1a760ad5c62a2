"""Exploration campaigns on a real Ray cluster: a head and a worker node as separate processes
(``ray start``, loopback, one CPU each), the campaign run by the CLI in its own process, and the
worker node killed (SIGKILL to its whole process group: raylet, object store and the worker
process running a task) while it runs one of the campaign's tasks. Ray runs the lost task again
on the head, and the JSON is byte for byte the one of a local run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dnsrace.app.cli import main as cli_main

# About 30-55 s on this shared machine, most of it two Ray nodes starting: make test, not check.
pytestmark = [pytest.mark.ray, pytest.mark.processes, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[3]
SPIN = str(ROOT / "scenarios" / "spin.toml")
# Two presets, one that breaks and one that does not, 1,024 runs each: 8 blocks of 256 runs,
# so the campaign is still running when the worker node dies.
CAMPAIGN = ["--discipline", "aws2025,cas", "--runs", "1024", "--seed", "7", "--quiet"]
TASK_TITLE = "ray::_call"
"""The process title Ray gives a worker process while it runs a campaign job (dnsrace.campaign
._call); an idle one reads ``ray::IDLE``."""


def _need_ray() -> None:
    from dnsrace.campaign.local import ray_command

    if ray_command() is None:
        # make test installs ray from requirements-dev.txt and sets DNSRACE_REQUIRE_RAY.
        if os.environ.get("DNSRACE_REQUIRE_RAY"):
            pytest.fail("ray is not installed but DNSRACE_REQUIRE_RAY is set")
        pytest.skip("ray is not installed (make build installs it)")


def _busy(cluster: object, node: int) -> bool:
    from dnsrace.campaign.local import LocalRayCluster

    assert isinstance(cluster, LocalRayCluster)
    return any(TASK_TITLE in cmd for _, cmd in cluster.node_processes(node))


@pytest.mark.timeout(180)
def test_a_campaign_survives_a_killed_worker_node_with_the_same_bytes(tmp_path: Path) -> None:
    _need_ray()
    from dnsrace.campaign.local import LocalRayCluster

    local = tmp_path / "local.json"
    assert (
        cli_main(["explore", SPIN, *CAMPAIGN, "--jobs", "1", "--json", str(local)]) == 1
    )  # aws2025 breaks

    on_ray = tmp_path / "ray.json"
    with LocalRayCluster(head_cpus=1, worker_cpus=(1,)) as cluster:
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
