"""The library's file readers go through the input door's reader (dnsrace.inputfile): a FIFO
or a device is refused at once, not waited on or read until memory runs out."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dnsrace.config import ScenarioError
from dnsrace.errors import InvalidHistory
from dnsrace.history import check, load
from dnsrace.sim.scenario import load_scenario


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A FIFO; a guard opens it for writing after 5 s, so that a reader that blocked on it
    (a reader without the door) is released and the test fails on its assertion, not a hang."""
    path = tmp_path / "input.jsonl"
    os.mkfifo(path)
    done = threading.Event()

    def release() -> None:
        if not done.wait(5.0):
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, b'{"op":"read"}\n')
            os.close(fd)

    guard = threading.Thread(target=release, daemon=True)
    guard.start()
    yield path
    done.set()
    guard.join()


def test_a_history_fifo_is_refused_not_waited_on(fifo: Path) -> None:
    with pytest.raises(InvalidHistory, match="FIFO"):
        load(fifo)
    with pytest.raises(InvalidHistory, match="FIFO"):
        check(fifo)


def test_a_scenario_fifo_is_refused_not_waited_on(fifo: Path) -> None:
    with pytest.raises(ScenarioError, match="FIFO"):
        load_scenario(fifo)


def test_a_device_is_refused_before_it_is_read() -> None:
    with pytest.raises(ScenarioError, match="character device"):
        load_scenario("/dev/zero")
    with pytest.raises(InvalidHistory, match="character device"):
        load("/dev/zero")


def test_a_history_over_its_size_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    # Sparse: 3 GiB on paper, no disk used; the limit is 2 GiB (docs/reference/bounds.md).
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as f:
        f.truncate(3 * 1024**3)
    with pytest.raises(InvalidHistory, match="more than the 2 GiB"):
        load(path)
