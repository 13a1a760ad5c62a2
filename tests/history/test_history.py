"""Histories from Python: recording (``RecordStore(history=N)``), export, the reader's strict
validation, ``dnsrace check`` (exit 0 / 1 / 3, 2 naming the line with nothing written), an
8-thread stress run whose recorded history is linearizable, and the simulator's histories
(the same seed gives the same history)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

import dnsrace
from concurrent_calls import run_threads
from dnsrace import history
from dnsrace.errors import InvalidArgument, InvalidHistory
from dnsrace.reference import PyRecordStore
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.runner import run_discipline
from dnsrace.sim.scenario import incident_scenario


def _line(
    op: str, call: int, ret: int, inp: dict[str, Any], out: dict[str, Any], client: int = 0
) -> bytes:
    doc = {
        "client": client,
        "endpoint": 0,
        "op": op,
        "call": call,
        "return": ret,
        "input": inp,
        "output": out,
    }
    return orjson.dumps(doc) + b"\n"


def _flip(g: int, mode: str = "lww", fence: int | None = None) -> dict[str, Any]:
    return {
        "generation": g,
        "mode": mode,
        "expected_version": None,
        "fence": fence,
        "rollback": True,
    }


APPLIED = {"outcome": "applied"}

# A read that sees the flip before the flip was called.
ILLEGAL = (
    _line("put_tree", 0, 1, {"generation": 5}, {})
    + _line("read", 2, 3, {}, {"alias": 5, "rollback": None, "version": 1}, client=1)
    + _line("flip", 10, 11, _flip(5), APPLIED)
)


def _dnsrace(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dnsrace", *args], capture_output=True, text=True, timeout=120
    )


def _store(n: int = 3, history: int = 100_000) -> tuple[Any, list[int]]:
    store = dnsrace.RecordStore(history=history)
    ids = store.add_endpoints([f"ep{i}.test" for i in range(n)])
    return store, ids


def _plan(g: int, ids: list[int]) -> Any:
    return dnsrace.Plan(g, {i: [(f"10.0.{g % 250}.1", 1)] for i in ids})


# ------------------------------------------------------------------------------ recording


def test_a_store_records_each_endpoint_of_a_batch_with_the_batch_times(tmp_path: Path) -> None:
    store, ids = _store()
    store.put_plan(_plan(1, ids))
    store.flip_many(ids, 1, "lww", fence=[1, 2, 3])
    ops = history.read(store.history_bytes())
    flips = [o for o in ops if o["op"] == "flip"]
    assert [o["endpoint"] for o in flips] == ids
    assert len({(o["call"], o["return"]) for o in flips}) == 1
    assert [o["input"]["fence"] for o in flips] == [1, 2, 3]
    assert all(o["output"] == {"outcome": "applied"} for o in flips)
    path = tmp_path / "h.jsonl"
    assert store.export_history(path) == len(ops) == 6
    assert path.read_bytes() == store.history_bytes()
    edn = tmp_path / "h.edn"
    store.export_history(str(edn), "jepsen")
    lines = edn.read_text().splitlines()
    assert len(lines) == 12 and lines[0].startswith("{:index 0, :type :invoke")
    assert history.check(path)["verdict"] == "ok"


def test_threads_are_clients_unless_told_and_virtual_time_orders_ties() -> None:
    store, ids = _store(1)
    store.versions(ids)
    t = threading.Thread(target=store.versions, args=(ids,))
    t.start()
    t.join()
    # Virtual time: stamps never go back (one clock per history), ties move on by 1 ns.
    store.set_history_context(client=9, time_ns=10**15)
    store.versions(ids)
    store.versions(ids)
    store.set_history_context(client=9, time_ns=50)
    store.versions(ids)
    ops = history.read(store.history_bytes())
    assert [o["client"] for o in ops] == [0, 1, 9, 9, 9]
    t = 10**15
    assert [(o["call"], o["return"]) for o in ops[2:]] == [
        (t, t + 1),
        (t + 2, t + 3),
        (t + 4, t + 5),
    ]


def test_a_told_client_and_automatic_numbering_in_other_threads_never_collide(
    tmp_path: Path,
) -> None:
    """Issue 18 (a): told ``client=0`` in one thread, automatic in another, overlapping; the
    automatic one was 0 too and ``dnsrace check`` refused the file (non-monotonic times)."""
    store, ids = _store(1)
    store.put_plan(_plan(1, ids))
    start = threading.Barrier(2)

    def told() -> None:
        store.set_history_context(client=0)
        start.wait()
        for _ in range(300):
            store.versions(ids)

    def automatic() -> None:
        start.wait()
        for _ in range(300):
            store.flip(ids[0], 1, "lww")

    threads = [threading.Thread(target=told), threading.Thread(target=automatic)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    path = tmp_path / "h.jsonl"
    store.export_history(path)
    ops = history.read(path)
    reads = {o["client"] for o in ops if o["op"] == "read"}
    others = {o["client"] for o in ops if o["op"] != "read"}
    assert reads == {0} and 0 not in others and len(others) == 2  # the setup thread, the flipper
    r = _dnsrace("check", str(path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert store.check_history(as_dict=True)["verdict"] == "ok"


def _run_tasks(store: Any, ids: list[int], *, record_tasks: bool) -> None:
    async def only_to_thread() -> None:
        for _ in range(4):
            await asyncio.to_thread(store.flip, ids[0], 1, "lww")

    async def direct_first() -> None:
        store.versions(ids)
        for _ in range(4):
            await asyncio.to_thread(store.versions, ids)

    async def main() -> None:
        if record_tasks:
            history.record_tasks()
        await asyncio.gather(*(only_to_thread() for _ in range(3)), direct_first(), direct_first())

    asyncio.run(main())


def test_asyncio_tasks_are_clients_of_their_own_through_to_thread() -> None:
    """Issue 18 item 7: each task is a client, its ``asyncio.to_thread`` calls included,
    with no wrapping of the calls (``record_tasks`` once for tasks that only use threads)."""
    store, ids = _store(1)
    store.put_plan(_plan(1, ids))
    _run_tasks(store, ids, record_tasks=True)
    ops = history.read(store.history_bytes())
    flips = [o for o in ops if o["op"] == "flip"]
    reads = [o for o in ops if o["op"] == "read"]
    # Three flipping tasks, four flips each; two reading tasks, five reads each.
    by_client: dict[int, list[str]] = {}
    for o in flips + reads:
        by_client.setdefault(o["client"], []).append(o["op"])
    assert sorted(sorted(v) for v in by_client.values()) == sorted(
        [["flip"] * 4] * 3 + [["read"] * 5] * 2
    )
    assert ops[0]["client"] not in by_client  # the main thread's put
    assert history.check(store.history_bytes())["verdict"] == "ok"


def test_without_record_tasks_a_task_is_its_client_from_its_first_call_on_the_loop() -> None:
    store, ids = _store(1)
    store.put_plan(_plan(1, ids))
    _run_tasks(store, ids, record_tasks=False)
    ops = history.read(store.history_bytes())
    read_clients = [o["client"] for o in ops if o["op"] == "read"]
    assert len(set(read_clients)) == 2
    assert sorted(read_clients.count(c) for c in set(read_clients)) == [5, 5]
    assert history.check(store.history_bytes())["verdict"] == "ok"


def _clients_by_generation(store: Any) -> dict[int, set[int]]:
    by_generation: dict[int, set[int]] = {}
    for o in history.read(store.history_bytes()):
        if o["op"] == "flip":
            by_generation.setdefault(o["input"]["generation"], set()).add(o["client"])
    return by_generation


async def _flip_through_threads(store: Any, endpoint: int, generation: int) -> None:
    for _ in range(6):
        await asyncio.to_thread(store.flip, endpoint, generation, "lww")


def test_tasks_made_after_a_call_on_the_loop_are_their_clients_through_threads_by_default() -> None:
    """No ``record_tasks``: the first recorded call made on the loop installs its task factory,
    so the workers gathered after it, which call the store only through ``asyncio.to_thread``
    (run on a pool thread any of them may get), each record as themselves."""
    store, ids = _store(1)

    async def main() -> None:
        store.put_plan(dnsrace.Plan(1, {ids[0]: [("10.0.0.1", 1)]}))  # on the loop
        for g in range(2, 6):
            store.put_plan(dnsrace.Plan(g, {ids[0]: [("10.0.0.1", 1)]}))
        await asyncio.gather(*(_flip_through_threads(store, ids[0], g) for g in range(2, 6)))

    asyncio.run(main())
    clients = _clients_by_generation(store)
    assert all(len(c) == 1 for c in clients.values()), clients  # one client per task
    assert len(set().union(*clients.values())) == 4  # four tasks, four clients
    assert history.check(store.history_bytes())["verdict"] == "ok"


def test_on_the_virtual_clock_every_task_is_its_client_through_threads() -> None:
    """``dnsrace.clock`` runs ``to_thread`` inline, outside any task: its loop knows each task
    from its creation, even with no store call ever made on the loop."""
    from dnsrace import clock

    store, ids = _store(1)
    for g in range(1, 5):
        store.put_plan(dnsrace.Plan(g, {ids[0]: [("10.0.0.1", 1)]}))

    async def main() -> None:
        await asyncio.gather(*(_flip_through_threads(store, ids[0], g) for g in range(1, 5)))

    clock.run(main(), seed=3)
    clients = _clients_by_generation(store)
    assert all(len(c) == 1 for c in clients.values()), clients
    assert len(set().union(*clients.values())) == 4
    assert history.check(store.history_bytes())["verdict"] == "ok"


def test_a_client_told_in_a_task_holds_in_its_threads_not_in_the_tasks_it_starts() -> None:
    store, ids = _store(1)

    async def child() -> None:
        store.versions(ids)

    async def parent() -> None:
        store.set_history_context(client=7)
        await asyncio.to_thread(store.versions, ids)
        await asyncio.create_task(child())
        store.versions(ids)

    asyncio.run(parent())
    store.versions(ids)  # the main thread: neither the task's client nor told
    seen = [o["client"] for o in history.read(store.history_bytes())]
    assert seen[0] == seen[2] == 7 and seen[1] not in (7, seen[3]) and seen[3] != 7


def test_history_arguments_are_checked(tmp_path: Path) -> None:
    for bad in (-1, True, 1.5, "3"):
        with pytest.raises(InvalidArgument):
            dnsrace.RecordStore(history=bad)
    plain = dnsrace.RecordStore()
    assert plain.history_capacity == 0
    with pytest.raises(InvalidArgument, match="records no history"):
        plain.export_history(tmp_path / "h.jsonl")
    store, _ = _store()
    with pytest.raises(InvalidArgument, match="format"):
        store.history_bytes("xml")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="directory"):
        store.export_history(tmp_path / "missing" / "h.jsonl")
    with pytest.raises(InvalidArgument):
        store.set_history_context(client=2**32)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidArgument, match="reference store records no history"):
        PyRecordStore(history=10)


def test_a_sample_of_endpoints_is_recorded_alone() -> None:
    store, ids = _store(4)
    store.set_history_endpoints([1, 3])
    store.put_plan(_plan(1, ids))
    store.flip_many(None, 1)
    assert {o["endpoint"] for o in history.read(store.history_bytes())} == {1, 3}


# ------------------------------------------------------------------------------ the checker


def test_check_reports_the_window_of_an_illegal_history() -> None:
    r = history.check(ILLEGAL)
    assert r["verdict"] == "illegal"
    assert r["illegal"] is not None
    # Operations count from 1, as lines do: the put (line 1) and the read (line 2).
    assert (r["illegal"]["endpoint"], r["illegal"]["window"]) == (0, [1, 2])
    assert r["op_base"] == 1
    assert r["illegal"]["reason"].startswith("op 2 (read ")
    assert set(r) >= {
        "verdict",
        "operations",
        "endpoints",
        "elapsed_s",
        "illegal",
        "domain_violations",
        "unknown_endpoints",
    }
    assert "linearizations" not in r


@pytest.mark.slow
def test_cli_check_exit_statuses(tmp_path: Path) -> None:
    store, ids = _store()
    store.put_plan(_plan(1, ids))
    store.flip_many(None, 1)
    ok = tmp_path / "ok.jsonl"
    store.export_history(ok)
    out = tmp_path / "r.json"
    r = _dnsrace("check", str(ok), "--json", str(out), "--linearizations")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: 6 operations over 3 endpoints")
    doc = orjson.loads(out.read_bytes())
    assert doc["verdict"] == "ok" and sorted(doc["linearizations"]) == ["0", "1", "2"]

    bad = tmp_path / "illegal.jsonl"
    bad.write_bytes(ILLEGAL)
    r = _dnsrace("check", str(bad), "--json", "-")
    assert r.returncode == 1
    assert orjson.loads(r.stdout)["illegal"]["window"] == [1, 2]
    assert "endpoint 0: ops [1, 2] cannot be linearised" in r.stderr

    # 20 concurrent flips and a read no order explains: 2^20 configurations, a timeout.
    wide = b"".join(_line("put_tree", g, g, {"generation": g}, {}) for g in range(1, 21))
    wide += b"".join(_line("flip", 100, 200, _flip(g), APPLIED, client=g) for g in range(1, 21))
    wide += _line("read", 300, 301, {}, {"alias": 20, "rollback": 19, "version": 19}, client=30)
    unknown = tmp_path / "wide.jsonl"
    unknown.write_bytes(wide)
    r = _dnsrace("check", str(unknown), "--timeout", "0.3", "--json", str(out))
    assert r.returncode == 3, r.stdout + r.stderr
    assert orjson.loads(out.read_bytes())["unknown_endpoints"] == [0]


# The shape of issue 17: twenty overlapping flips, then a read no order of them explains
# (alias 20 over rollback 20). Its search keeps about 2^20 linearised sets times the states
# they reach: without a memory bound it grows until the hash table's allocation aborts.
WIDE20 = (
    b"".join(_line("put_tree", g, g, {"generation": g}, {}) for g in range(1, 21))
    + b"".join(_line("flip", 100, 200, _flip(g), APPLIED, client=g) for g in range(1, 21))
    + _line("read", 300, 301, {}, {"alias": 20, "rollback": 20, "version": 20}, client=30)
)


def test_the_checker_runs_within_default_bounds_it_reports() -> None:
    from dnsrace import _core

    r = history.check(ILLEGAL)
    assert r["bounds"] == {
        "timeout_s": _core.CHECK_DEFAULT_TIMEOUT_S,
        "max_states": _core.CHECK_DEFAULT_MAX_STATES,
    }
    assert (_core.CHECK_DEFAULT_TIMEOUT_S, _core.CHECK_DEFAULT_MAX_STATES) == (60.0, 8_000_000)
    assert r["unknown_reason"] is None


def test_a_memory_bound_ends_the_wide_search_unknown_naming_it() -> None:
    # The time bound is far above what the memory bound needs: without the memory bound the
    # search would run into the time bound instead, and the reason would differ.
    r = history.check(WIDE20, max_states=50_000, timeout=120)
    assert r["verdict"] == "unknown", r
    assert r["unknown_endpoints"] == [0]
    assert r["unknown_reason"] is not None
    assert r["unknown_reason"].startswith("memory bound exceeded: more than 50000 states")
    assert r["bounds"]["max_states"] == 50_000


@pytest.mark.slow
def test_cli_check_of_the_wide_history_is_bounded_exit_3(tmp_path: Path) -> None:
    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(WIDE20)
    out = tmp_path / "r.json"
    r = _dnsrace("check", str(wide), "--max-states", "50000", "--json", str(out))
    assert r.returncode == 3, r.stdout + r.stderr
    assert "unknown for endpoints [0]: memory bound exceeded" in r.stdout
    doc = orjson.loads(out.read_bytes())
    assert doc["verdict"] == "unknown" and doc["bounds"]["timeout_s"] == 60.0
    r = _dnsrace("check", str(wide), "--timeout", "0.2", "--max-states", "1000000000")
    assert r.returncode == 3 and "time bound exceeded: 0.2 s" in r.stdout, r.stdout
    # The page commands run the same bounded checker: the page shows the verdict unknown.
    for args in (
        ["view", str(wide), "-o", str(tmp_path / "v.html")],
        ["check", str(wide), "--html", str(tmp_path / "c.html")],
    ):
        r = _dnsrace(*args, "--max-states", "50000")
        assert r.returncode in (0, 3), r.stderr
    for page in ("v.html", "c.html"):
        assert '"verdict":"unknown"' in (tmp_path / page).read_text()


@pytest.mark.slow
def test_cli_check_turns_an_allocation_failure_in_the_search_into_unknown(
    tmp_path: Path,
) -> None:
    """With an address-space limit below the memory bound, the memo's growth is refused by
    the allocator: the verdict is unknown (exit 3), not an abort (exit 134)."""
    import resource

    wide = tmp_path / "wide.jsonl"
    wide.write_bytes(WIDE20)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (100 << 20, 100 << 20))

    r = subprocess.run(
        [sys.executable, "-m", "dnsrace", "check", str(wide), "--max-states", str(1 << 30)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )
    assert r.returncode == 3, (r.returncode, r.stdout, r.stderr)
    assert "memory allocation failed while growing the memo" in r.stdout


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--timeout", "1e9"),
        ("--timeout", "0"),
        ("--timeout", "nan"),
        ("--timeout", "inf"),
        ("--timeout", "-1"),
        ("--max-states", "0"),
        ("--max-states", "1" + "0" * 400),
        ("--max-states", "2.5"),
    ],
)
def test_cli_check_and_view_refuse_out_of_range_bounds_in_one_line(
    tmp_path: Path, option: str, value: str
) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(ILLEGAL)
    for args in (["check", str(path)], ["view", str(path), "-o", str(tmp_path / "h.html")]):
        r = _dnsrace(*args, option, value)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert option in r.stderr
    assert not (tmp_path / "h.html").exists()


@pytest.mark.parametrize(
    "kwargs", [{"timeout": 1e9}, {"timeout": 0.0}, {"max_states": 0}, {"max_states": 2**40}]
)
def test_api_bounds_out_of_range_are_invalid_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        history.check(ILLEGAL, **kwargs)
    store, _ = _store(1)
    with pytest.raises(InvalidArgument):
        store.check_history(as_dict=True, **kwargs)


def test_store_check_history_gives_the_same_result_type_with_the_text_form_deprecated() -> None:
    store, ids = _store()
    store.put_plan(_plan(1, ids))
    store.flip_many(None, 1)
    result = store.check_history(as_dict=True)
    from_file = history.check(store.history_bytes())
    assert type(result) is type(from_file) is dict
    assert set(result) == set(from_file) and result["verdict"] == from_file["verdict"] == "ok"
    # The declared type has exactly these keys (linearizations: only when asked for).
    declared = history.CheckResult.__required_keys__
    assert set(result) == declared and history.CheckResult.__optional_keys__ == {"linearizations"}
    assert set(store.check_history(as_dict=True, linearizations=True)) == declared | {
        "linearizations"
    }
    default = store.check_history()  # the dict is the default
    assert default == {**result, "elapsed_s": default["elapsed_s"]}
    with pytest.warns(DeprecationWarning, match="as_dict=False"):
        text = store.check_history(as_dict=False)
    assert orjson.loads(text)["verdict"] == "ok"


def test_a_truncated_history_is_marked_in_memory_and_export_and_never_judged_illegal(
    tmp_path: Path,
) -> None:
    """Issue 18 (b): the ring dropped the put of the tree the kept flips apply; judged as
    whole, that read as ``illegal`` (``flip_to_missing_tree``)."""
    store, ids = _store(1, history=4)
    store.put_plan(_plan(1, ids))
    for _ in range(6):
        store.flip(ids[0], 1, "lww")
    assert store.history_dropped() == 3
    in_memory = store.check_history(as_dict=True)
    assert in_memory["verdict"] == "unknown" and in_memory["dropped"] == 3
    assert in_memory["unknown_reason"] is not None
    assert in_memory["unknown_reason"].startswith("truncated history: the recording ring dropped 3")
    assert not in_memory["domain_violations"] and in_memory["illegal"] is None
    path = tmp_path / "h.jsonl"
    assert store.export_history(path) == 4
    data = path.read_bytes()
    assert data.startswith(b'{"truncated":{"dropped":3}}\n')
    assert history.dropped(path) == 3 and len(history.read(path)) == 4
    r = _dnsrace("check", str(path))
    assert r.returncode == 3 and "truncated history" in r.stdout, r.stdout + r.stderr
    # The same operations without the mark: the verdict the mark prevents.
    whole = tmp_path / "whole.jsonl"
    whole.write_bytes(data.split(b"\n", 1)[1])
    assert history.check(whole)["verdict"] == "illegal"
    assert history.dropped(whole) == 0
    page = tmp_path / "h.html"
    r = _dnsrace("view", str(path), "-o", str(page))
    assert r.returncode == 0 and page.exists(), r.stderr


def test_restore_takes_a_history_capacity(tmp_path: Path) -> None:
    store, ids = _store(2, history=0)
    store.put_plan(_plan(1, ids))
    snap = tmp_path / "s.snap"
    store.snapshot(snap)
    back = dnsrace.RecordStore.restore(snap, history=50)
    assert back.history_capacity == 50
    back.flip_many(None, 1)
    assert [o["op"] for o in history.read(back.history_bytes())] == ["flip", "flip"]
    assert dnsrace.RecordStore.restore(snap).history_capacity == 0
    with pytest.raises(InvalidArgument):
        dnsrace.RecordStore.restore(snap, history=-1)
    with pytest.raises(InvalidArgument, match="reference store records no history"):
        PyRecordStore.restore(snap, history=5)


GOOD = _line("put_tree", 1, 2, {"generation": 1}, {})


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        (GOOD + GOOD[:50], 2, "truncated"),
        (GOOD.replace(b'"call":1', b'"call":"1"'), 1, 'field "call"'),
        (GOOD.replace(b"put_tree", b"frob"), 1, 'unknown op "frob"'),
        (_line("put_tree", 5, 6, {"generation": 2}, {}) + GOOD, 2, "non-monotonic times"),
        (GOOD + _line("put_tree", 1, 3, {"generation": 2}, {}), 2, "non-monotonic times: client 0"),
        (GOOD.replace(b'"return":2', b'"return":0'), 1, "return 0 is before call 1"),
        (GOOD.replace(b'{"generation":1}', b'{"generation":true}'), 1, 'input field "generation"'),
        (b"[]\n", 1, "operation must be an object"),
        (b"\xff\n", 1, "not UTF-8"),
    ],
)
def test_bad_histories_exit_2_naming_the_line_and_write_nothing(
    tmp_path: Path, text: bytes, line: int, what: str
) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(text)
    with pytest.raises(InvalidHistory, match=what) as info:
        history.read(path)
    assert info.value.line == line
    out = tmp_path / "r.json"
    r = _dnsrace("check", str(path), "--json", str(out))
    assert r.returncode == 2
    assert r.stdout == ""
    assert f"line {line}: " in r.stderr and what in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_check_refuses_a_missing_file_and_an_unwritable_output(tmp_path: Path) -> None:
    r = _dnsrace("check", str(tmp_path / "none.jsonl"))
    assert r.returncode == 2 and "cannot read history" in r.stderr
    path = tmp_path / "h.jsonl"
    path.write_bytes(GOOD)
    r = _dnsrace("check", str(path), "--json", str(tmp_path / "no" / "r.json"))
    assert r.returncode == 2 and "--json" in r.stderr


# ------------------------------------------------------------------------------ stress


@pytest.mark.slow
def test_eight_threads_with_the_interpreter_detached_leave_a_linearizable_history() -> None:
    """Single and batch flips in every mode, with and without fences, reads, leases, plan puts
    and clean-ups, from 8 threads on 6 shared endpoints for a bounded time (1 s)."""
    import random

    store, ids = _store(6, history=2_000_000)
    for g in (1, 2, 3):
        store.put_plan(_plan(g, ids))
    store.flip_many(None, 1, "lww")
    next_gen = [4]
    gen_lock = threading.Lock()
    start = time.monotonic()
    deadline = start + 1.0
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        rng = random.Random(k)
        holder = f"t{k}"
        tokens = dict.fromkeys(ids, 0)
        try:
            while time.monotonic() < deadline:
                top = next_gen[0]
                g = rng.randrange(1, top)
                e = rng.choice(ids)
                mode = rng.choice(["lww", "if_newer", "if_newer", "exact"])
                fence = tokens[e] if tokens[e] and rng.random() < 0.3 else None
                rollback = rng.random() < 0.9
                now = time.monotonic() - start
                roll = rng.randrange(11)
                try:
                    if roll <= 2:
                        batch = rng.sample(ids, rng.randrange(1, 5))
                        exp = store.versions(batch) if mode == "exact" else None
                        store.flip_many(
                            batch,
                            g,
                            mode,  # type: ignore[arg-type]
                            expected_versions=exp,
                            fence=[max(1, tokens[i]) for i in batch] if fence else None,
                            rollback=rollback,
                        )
                    elif roll == 3:
                        exp = store.versions([e])[0] if mode == "exact" else None
                        store.flip(e, g, mode, expected_version=exp, fence=fence, rollback=rollback)  # type: ignore[arg-type]
                    elif roll == 4:
                        store.aliases(None)
                    elif roll == 5:
                        store.state(e)
                    elif roll == 6:
                        got = store.acquire_leases(ids, holder, 0.002, now)
                        for i, t in zip(ids, got, strict=True):
                            if t is not None:
                                tokens[i] = t
                    elif roll == 7:
                        tokens[e] = store.acquire_lease(e, holder, 0.001, now)
                    elif roll == 8:
                        if rng.random() < 0.5:
                            store.renew_lease(e, holder, max(1, tokens[e]), 0.001, now)
                        else:
                            store.release_leases([e], holder, [max(1, tokens[e])])
                    elif roll == 9:
                        with gen_lock:
                            new = next_gen[0]
                            next_gen[0] += 1
                        store.put_plan(_plan(new, [i for i in ids if rng.random() < 0.8]))
                    else:
                        store.delete_plans([rng.randrange(1, top)], safe=rng.random() < 0.75)
                except dnsrace.DnsraceError:
                    pass  # a refused lease, a dangling alias, a missing tree: all recorded
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    run_threads(worker, 8)
    assert not errors
    assert store.history_dropped() == 0
    data = store.history_bytes()
    ops = history.read(data)
    assert len({o["client"] for o in ops}) == 9  # the main thread and the 8 workers
    assert {o["op"] for o in ops} == set(history.OPS)
    outcomes = {o["output"]["outcome"] for o in ops if o["op"] == "flip"}
    assert {"applied", "outdated", "missing"} <= outcomes
    r = history.check(data, timeout=120)
    assert r["verdict"] == "ok", (r["illegal"], r["domain_violations"][:3])
    assert r["operations"] == len(ops) > 1000


# ------------------------------------------------------------------------------ simulator


def _incident_history(tmp_path: Path, seed: int, name: str) -> Path:
    scenario = incident_scenario(seed=seed, endpoints=60).replace(duration_s=200.0)
    path = tmp_path / name
    run_discipline(scenario, lookup("aws2025"), history=str(path))
    return path


def test_the_same_seed_gives_the_same_history(tmp_path: Path) -> None:
    a = _incident_history(tmp_path, 4, "a.jsonl")
    b = _incident_history(tmp_path, 4, "b.jsonl")
    c = _incident_history(tmp_path, 5, "c.jsonl")
    assert history.history_hash(a) == history.history_hash(b)
    assert history.history_hash(a) != history.history_hash(c)
    r = history.check(a)
    assert r["verdict"] == "ok" and r["endpoints"] == 61
    ops = history.read(a)
    # Enactors, planner, operator and clients each record as their own client.
    assert len({o["client"] for o in ops}) >= 4
    assert all(o["call"] < o["return"] for o in ops)


@pytest.mark.slow
def test_cli_run_writes_one_history_per_discipline(tmp_path: Path) -> None:
    out = tmp_path / "h.jsonl"
    r = _dnsrace(
        "incident",
        "--endpoints",
        "20",
        "--duration",
        "120",
        "--discipline",
        "aws2025,cas",
        "--quiet",
        "--history",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["h.aws2025.jsonl", "h.cas.jsonl"]
    for name in written:
        assert _dnsrace("check", str(tmp_path / name)).returncode == 0
    r = _dnsrace("incident", "--store", "reference", "--history", str(out), "--quiet")
    assert r.returncode == 2 and "records no history" in r.stderr


def test_history_sinks_get_each_run_with_a_sample_of_its_endpoints() -> None:
    from dnsrace.sim import runner

    seen: list[Any] = []

    def sink(scenario: Any, discipline: Any, store: Any) -> None:
        seen.append((discipline.name, store.history_capacity, store.check_history(as_dict=True)))

    scenario = incident_scenario(seed=2, endpoints=100).replace(duration_s=120.0)
    runner.add_history_sink(sink)
    try:
        run_discipline(scenario, lookup("lww"))
    finally:
        runner.remove_history_sink(sink)
    assert len(seen) == 1
    name, capacity, result = seen[0]
    assert name == "lww" and capacity == runner.DEFAULT_HISTORY_CAPACITY
    assert result["verdict"] == "ok"
    # The regional endpoint and a sample of 32 (every endpoint's history is whole).
    assert 16 <= result["endpoints"] <= runner.SINK_FULL_ENDPOINTS + 1


def test_cli_explore_writes_the_replay_of_each_discipline(tmp_path: Path) -> None:
    out = tmp_path / "h.jsonl"
    spin = Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml"
    args = ["explore", str(spin), "--runs", "40", "--discipline", "aws2025,cas", "--quiet"]
    r = _dnsrace(*args, "--jobs", "1", "--history", str(out))
    assert r.returncode in (0, 1), r.stderr  # 1: a violating run (the replay is recorded)
    for name in ("h.aws2025.jsonl", "h.cas.jsonl"):
        result = history.check(tmp_path / name)
        assert result["verdict"] == "ok" and result["operations"] > 0


def test_cli_check_draws_the_page_with_html(tmp_path: Path) -> None:
    bad = tmp_path / "illegal.jsonl"
    bad.write_bytes(ILLEGAL)
    page = tmp_path / "h.html"
    out = tmp_path / "r.json"
    r = _dnsrace("check", str(bad), "--html", str(page), "--json", str(out))
    assert r.returncode == 1, r.stderr
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html") or text.lstrip().lower().startswith("<!doctype html")
    assert "illegal" in text
    assert "linearizations" not in orjson.loads(out.read_bytes())
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(ILLEGAL[:-5])
    r = _dnsrace("check", str(broken), "--html", str(tmp_path / "b.html"))
    assert r.returncode == 2 and not (tmp_path / "b.html").exists()


def test_the_history_functions_need_no_extra(tmp_path: Path) -> None:
    """``pip install dnsrace`` (no ``sim`` extra: no orjson) records, reads and checks."""
    code = (
        "import sys\n"
        "for name in ('orjson', 'rich', 'pydantic', 'uvloop', 'numpy'): sys.modules[name] = None\n"
        "import dnsrace\nfrom dnsrace import history\n"
        "store = dnsrace.RecordStore(history=10)\n"
        "[e] = store.add_endpoints(['a.example'])\n"
        "store.put_plan(dnsrace.Plan(1, {e: [('10.0.0.1', 1)]}))\n"
        "store.flip(e, 1)\n"
        "data = store.history_bytes()\n"
        "ops = history.read(data)\n"
        "assert [o['op'] for o in ops] == ['put_tree', 'flip'], ops\n"
        "assert history.dropped(data) == 0 and history.check(data)['verdict'] == 'ok'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
