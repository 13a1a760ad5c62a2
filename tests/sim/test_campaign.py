"""The campaign executor (dnsrace.campaign) on local processes: results in the order of the
jobs whatever order they finish in, the same explore bytes with one and two workers, and bad
executors or cluster addresses refused in one line (the Ray cluster itself:
tests/integration/processes/test_ray_campaign.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dnsrace.app.cli import main as cli_main
from dnsrace.campaign import CampaignError, open_campaign, parse_address
from dnsrace.errors import DnsraceError

SPIN = str(Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml")


def _late_echo(value: int, delay_s: float) -> int:
    """A job that finishes after ``delay_s`` (module level: spawned workers import it)."""
    time.sleep(delay_s)
    return value


@pytest.mark.parametrize("workers", [1, 2])
def test_results_come_in_the_order_of_the_jobs_not_of_their_arrival(workers: int) -> None:
    # The first jobs take longest, so with two workers they finish last.
    jobs = [(i, 0.05 * (6 - i)) for i in range(6)]
    with open_campaign("local", workers=workers) as campaign:
        assert campaign.workers == workers
        assert (campaign.pool is None) == (workers == 1)
        assert campaign.map(_late_echo, jobs) == list(range(6))


@pytest.mark.parametrize("workers", [1, 2])
def test_done_is_called_once_per_finished_job_in_the_calling_thread(workers: int) -> None:
    import threading

    calls: list[str] = []
    jobs = [(i, 0.02 * (4 - i)) for i in range(4)]
    with open_campaign("local", workers=workers) as campaign:
        results = campaign.map(
            _late_echo, jobs, done=lambda: calls.append(threading.current_thread().name)
        )
    assert results == list(range(4))
    assert calls == [threading.current_thread().name] * 4


@pytest.mark.slow
def test_explore_gives_the_same_bytes_with_one_and_two_local_workers(tmp_path: Path) -> None:
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}.json"
        argv = ["explore", SPIN, "--discipline", "aws2025", "--runs", "1024", "--seed", "3"]
        assert (
            cli_main([*argv, "--jobs", jobs, "--quiet", "--json", str(out)]) == 1
        )  # aws2025 breaks: exit 1
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert b'"violating_runs":0' not in outputs[0].replace(b" ", b"")  # it found the race


@pytest.mark.parametrize(
    ("text", "expected"),
    [("127.0.0.1:6379", ("127.0.0.1", 6379)), ("[::1]:10001", ("::1", 10001))],
)
def test_cluster_addresses_parse(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", "host", ":80", "host:", "host:0", "host:65536", "h:8x"])
def test_bad_cluster_addresses_are_refused(text: str) -> None:
    with pytest.raises(CampaignError):
        parse_address(text)


def test_bad_campaign_settings_are_typed_errors() -> None:
    with pytest.raises(CampaignError, match="executor"):
        open_campaign("threads")
    with pytest.raises(CampaignError, match="workers"):
        open_campaign("local", workers=0)
    with pytest.raises(CampaignError, match="ray executor"):
        open_campaign("local", address="127.0.0.1:6379")
    assert issubclass(CampaignError, DnsraceError)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--address", "127.0.0.1:6379"], "--address: needs --executor ray"),
        (["--executor", "ray", "--address", "nowhere"], "expected HOST:PORT"),
        (["--executor", "ray", "--address", "127.0.0.1:1"], "cannot reach the Ray cluster"),
    ],
)
def test_explore_refuses_bad_executor_options_in_one_line(
    extra: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "x.json"
    argv = ["explore", SPIN, "--runs", "10", "--quiet", "--json", str(out), *extra]
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not out.exists()
