"""Every bad input answered: one table of bad calls over every public store function (both
stores), one of bad command lines over every CLI command.

API: each bad call raises its typed exception (a ``DnsraceError`` subclass) and leaves the
store exactly as it was. CLI: each bad command line exits 2 with one line on stderr that names
the option or field and the value, runs nothing and writes no file. The user-reported failures
of issue 10 are rows of the CLI table.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import StoreImpl
from dnsrace import (
    DnsraceError,
    InvalidAddress,
    InvalidArgument,
    InvalidGeneration,
    InvalidName,
    InvalidToken,
    InvalidWeight,
    LeaseHeld,
    LeaseLost,
    SnapshotError,
    UnknownEndpoint,
    UnknownPlan,
)
from dnsrace.app.cli import main as cli_main

HUGE = 2**200
MAX = 2**63 - 1
NAN, INF = math.nan, math.inf
NAMES = ["a.bad.example", "b.bad.example", "c.bad.example"]


def setup(impl: StoreImpl) -> tuple[Any, int]:
    store = impl.Store()
    store.add_endpoints(NAMES)
    store.put_plan(impl.Plan(1, {n: [("10.0.0.1", 1)] for n in NAMES}))
    store.put_plan(impl.Plan(2, {0: [("10.0.0.2", 2)]}))
    store.flip_many(None, 1, "lww")
    token = store.acquire_lease(0, "holder-a", 10.0, 0.0)
    return store, token


def observe(store: Any) -> tuple[Any, ...]:
    return (
        len(store),
        store.stats(),
        store.plan_generations(),
        [store.state(i) for i in range(len(store))],
    )


# (description, method, args, kwargs, expected exception class). "TOKEN" is replaced by the
# live lease token of endpoint 0 (held by "holder-a" until 10.0).
API_CASES: list[tuple[str, str, tuple[Any, ...], dict[str, Any], type[Exception]]] = [
    # add_endpoints
    ("names not a list", "add_endpoints", (5,), {}, InvalidArgument),
    ("name None", "add_endpoints", ([None],), {}, InvalidName),
    ("empty name", "add_endpoints", ([""],), {}, InvalidName),
    ("name with space", "add_endpoints", (["a b.example"],), {}, InvalidName),
    ("name with escape", "add_endpoints", (["\x1b[31m.example"],), {}, InvalidName),
    ("huge name", "add_endpoints", (["a" * 10_000],), {}, InvalidName),
    ("huge label", "add_endpoints", (["a" * 64 + ".example"],), {}, InvalidName),
    ("one bad among good", "add_endpoints", (["new.example", "bad..name"],), {}, InvalidName),
    # endpoint lookups
    ("endpoint_id of int", "endpoint_id", (0,), {}, InvalidArgument),
    ("unknown name", "endpoint_id", ("nobody.example",), {}, UnknownEndpoint),
    ("negative id", "endpoint_name", (-1,), {}, UnknownEndpoint),
    ("huge id", "endpoint_name", (HUGE,), {}, UnknownEndpoint),
    ("float id", "endpoint_name", (0.0,), {}, InvalidArgument),
    ("NaN id", "endpoint_name", (NAN,), {}, InvalidArgument),
    ("bool id", "endpoint_name", (True,), {}, InvalidArgument),
    ("state of unknown", "state", (3,), {}, UnknownEndpoint),
    ("resolve of None", "resolve", (None,), {}, InvalidArgument),
    # plans
    ("put a dict", "put_plan", ({},), {}, InvalidArgument),
    ("has_tree gen 0", "has_tree", (0, 0), {}, InvalidGeneration),
    ("has_tree gen huge", "has_tree", (0, HUGE), {}, InvalidGeneration),
    ("has_tree gen NaN", "has_tree", (0, NAN), {}, InvalidGeneration),
    ("delete gen -1", "delete_plans", ([-1],), {}, InvalidGeneration),
    ("delete gen inf", "delete_plans", ([INF],), {}, InvalidGeneration),
    ("delete safe not bool", "delete_plans", ([1],), {"safe": 1}, InvalidArgument),
    # flips
    ("flip gen 0", "flip", (0, 0), {}, InvalidGeneration),
    ("flip gen 2**63", "flip", (0, MAX + 1), {}, InvalidGeneration),
    ("flip unknown endpoint", "flip", (7, 1), {}, UnknownEndpoint),
    ("flip unknown plan", "flip", (0, 9), {}, UnknownPlan),
    ("flip bad mode", "flip", (0, 2, "newest"), {}, InvalidArgument),
    ("flip exact without version", "flip", (0, 2, "exact"), {}, InvalidArgument),
    ("flip version with lww", "flip", (0, 2, "lww"), {"expected_version": 1}, InvalidArgument),
    ("flip negative version", "flip", (0, 2, "exact"), {"expected_version": -1}, InvalidToken),
    ("flip fence 0", "flip", (0, 2), {"fence": 0}, InvalidToken),
    ("flip fence huge", "flip", (0, 2), {"fence": HUGE}, InvalidToken),
    ("flip fence NaN", "flip", (0, 2), {"fence": NAN}, InvalidToken),
    ("flip rollback not bool", "flip", (0, 2), {"rollback": "no"}, InvalidArgument),
    ("flip_many endpoints str", "flip_many", ("abc", 2), {}, InvalidArgument),
    ("flip_many unknown", "flip_many", ([0, 9], 2), {}, UnknownEndpoint),
    ("flip_many gen NaN", "flip_many", ([0], NAN), {}, InvalidGeneration),
    ("flip_many fences short", "flip_many", ([0, 1], 2), {"fence": [5]}, InvalidArgument),
    ("flip_many fence -1", "flip_many", ([0], 2), {"fence": [-1]}, InvalidToken),
    (
        "flip_many versions long",
        "flip_many",
        ([0], 2, "exact"),
        {"expected_versions": [1, 1]},
        InvalidArgument,
    ),
    ("flip_many outcomes bad", "flip_many", ([0], 2), {"outcomes": "yes"}, InvalidArgument),
    # reads
    ("aliases bad output", "aliases", (), {"output": "csv"}, InvalidArgument),
    ("rollbacks unknown", "rollbacks", ([5],), {}, UnknownEndpoint),
    ("versions float ids", "versions", ([0.5],), {}, InvalidArgument),
    ("dangling huge id", "dangling_aliases", ([HUGE],), {}, UnknownEndpoint),
    ("resolve_many mixed", "resolve_many", ([0, None],), {}, InvalidArgument),
    # leases
    ("lease held", "acquire_lease", (0, "holder-b", 1.0, 5.0), {}, LeaseHeld),
    ("lease empty holder", "acquire_lease", (1, "", 1.0, 5.0), {}, InvalidArgument),
    ("lease huge holder", "acquire_lease", (1, "h" * 129, 1.0, 5.0), {}, InvalidArgument),
    ("lease holder not str", "acquire_lease", (1, 7, 1.0, 5.0), {}, InvalidArgument),
    ("lease ttl 0", "acquire_lease", (1, "h", 0.0, 5.0), {}, InvalidArgument),
    ("lease ttl NaN", "acquire_lease", (1, "h", NAN, 5.0), {}, InvalidArgument),
    ("lease ttl inf", "acquire_lease", (1, "h", INF, 5.0), {}, InvalidArgument),
    ("lease now NaN", "acquire_lease", (1, "h", 1.0, NAN), {}, InvalidArgument),
    ("lease now -inf", "acquire_lease", (1, "h", 1.0, -INF), {}, InvalidArgument),
    ("lease now str", "acquire_lease", (1, "h", 1.0, "5"), {}, InvalidArgument),
    ("leases unknown", "acquire_leases", ([0, 4], "h", 1.0, 5.0), {}, UnknownEndpoint),
    ("leases ttl -1", "acquire_leases", ([1], "h", -1.0, 5.0), {}, InvalidArgument),
    ("renew wrong holder", "renew_lease", (0, "holder-b", "TOKEN", 1.0, 5.0), {}, LeaseLost),
    ("renew wrong token", "renew_lease", (0, "holder-a", 999, 1.0, 5.0), {}, LeaseLost),
    ("renew expired", "renew_lease", (0, "holder-a", "TOKEN", 1.0, 10.0), {}, LeaseLost),
    ("renew token 0", "renew_lease", (0, "holder-a", 0, 1.0, 5.0), {}, InvalidToken),
    ("renew token huge", "renew_lease", (0, "holder-a", HUGE, 1.0, 5.0), {}, InvalidToken),
    ("release wrong holder", "release_lease", (0, "holder-b", "TOKEN"), {}, LeaseLost),
    ("release wrong token", "release_lease", (0, "holder-a", 12345), {}, LeaseLost),
    ("release token float", "release_lease", (0, "holder-a", 1.0), {}, InvalidToken),
    ("releases misaligned", "release_leases", ([0, 1], "holder-a", [1]), {}, InvalidArgument),
    ("releases None", "release_leases", (None, "holder-a", []), {}, InvalidArgument),
    # snapshots
    ("snapshot path int", "snapshot", (5,), {}, InvalidArgument),
    ("snapshot path None", "snapshot", (None,), {}, InvalidArgument),
    ("snapshot to directory", "snapshot", ("DIR",), {}, SnapshotError),
    ("snapshot missing parent", "snapshot", ("DIR/missing/x.snap",), {}, SnapshotError),
    ("snapshot parent is a file", "snapshot", ("DIR/file/x.snap",), {}, SnapshotError),
    ("snapshot unwritable", "snapshot", ("/proc/x.snap",), {}, SnapshotError),
]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "error"),
    [pytest.param(m, a, k, e, id=d) for d, m, a, k, e in API_CASES],
)
def test_bad_api_calls_raise_typed_errors_and_change_nothing(
    any_store: StoreImpl,
    tmp_path: Path,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
) -> None:
    store, token = setup(any_store)
    (tmp_path / "file").write_text("x")

    def concrete(value: Any) -> Any:
        if value == "TOKEN":
            return token
        if isinstance(value, str) and value.startswith("DIR"):
            return str(tmp_path) + value[3:]
        return value

    args = tuple(concrete(a) for a in args)
    before = observe(store)
    with pytest.raises(error) as info:
        getattr(store, method)(*args, **kwargs)
    assert isinstance(info.value, DnsraceError)
    assert str(info.value)
    after = observe(store)
    # Refusals of valid requests are counted (docs/guide/store.md); nothing else moves.
    counted = {LeaseHeld: "lease_conflicts", UnknownPlan: "missing_rejections"}
    if error in counted:
        after[1][counted[error]] -= 1
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ["file"]


PLAN_CASES: list[tuple[str, tuple[Any, ...], type[Exception]]] = [
    ("generation 0", (0, {}), InvalidGeneration),
    ("generation NaN", (NAN, {}), InvalidGeneration),
    ("generation huge", (HUGE, {}), InvalidGeneration),
    ("targets not a mapping", (1, [1, 2]), InvalidArgument),
    ("bad address", (1, {"a.example": [("10.0.0.256", 1)]}), InvalidAddress),
    ("address with zone", (1, {"a.example": [("fe80::1%eth0", 1)]}), InvalidAddress),
    ("weight 256", (1, {"a.example": [("10.0.0.1", 256)]}), InvalidWeight),
    ("weight NaN", (1, {"a.example": [("10.0.0.1", NAN)]}), InvalidWeight),
    ("duplicate address", (1, {"a.example": [("10.0.0.1", 1), ("10.0.0.1", 2)]}), InvalidArgument),
    ("target not a pair", (1, {"a.example": [("10.0.0.1",)]}), InvalidArgument),
    ("bad endpoint name", (1, {"a b": []}), InvalidName),
    ("endpoint float", (1, {1.5: []}), InvalidArgument),
]


@pytest.mark.parametrize(("args", "error"), [pytest.param(a, e, id=d) for d, a, e in PLAN_CASES])
def test_bad_plans_raise_typed_errors(
    any_store: StoreImpl, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error) as info:
        any_store.Plan(*args)
    assert isinstance(info.value, DnsraceError)


def test_unknown_plans_and_endpoints_in_plans(any_store: StoreImpl) -> None:
    store, _ = setup(any_store)
    before = observe(store)
    plan = any_store.Plan(3, {"nobody.example": []})
    with pytest.raises(UnknownEndpoint):
        store.put_plan(plan)
    with pytest.raises(UnknownEndpoint):
        any_store.Plan(3, {0: []}).targets(1)
    with pytest.raises(InvalidArgument):
        store.put_plan(any_store.Plan(1, {0: []}))  # generation 1 is stored already
    assert observe(store) == before


# ------------------------------------------------------------------------------------ CLI

SPIN = str(Path(__file__).resolve().parents[2] / "scenarios" / "spin.toml")


DFS = ["explore", SPIN, "--schedule", "dfs", "--quiet", "--discipline", "cas"]
"""``dnsrace explore`` with the bounded search, before its bad option."""
COLLAPSE = ["collapse", "--droplets", "1000", "--managers", "4", "--horizon-s", "5400"]
"""A small ``dnsrace collapse``, before its bad option."""
COLLAPSE_OUT = ["--json", "OUT/out.json", "--plot", "OUT/out.png"]
"""The outputs a refused collapse must not write."""


def run_with(*settings: str) -> list[str]:
    """``dnsrace run spin.toml`` with each of ``settings`` given by ``--set``."""
    return ["run", SPIN, *(arg for setting in settings for arg in ("--set", setting))]


# (description, argv, text the one error line must contain). "OUT" is a fresh directory;
# "FILE" an existing file in it.
CLI_CASES: list[tuple[str, list[str], str]] = [
    # The failures a new user reported (issue 10).
    ("regional empty", run_with('endpoints.regional=""'), "endpoints.regional"),
    (
        "domain with space",
        run_with('endpoints.domain="lb example"'),
        "endpoints.domain: not a valid DNS name: 'lb example'",
    ),
    (
        "regional equal to e1.<domain>",
        run_with("endpoints.count=3", 'endpoints.regional="E1.lb.us-east-1.example"'),
        "endpoints.regional: 'E1.lb.us-east-1.example' is also the name of generated endpoint 1",
    ),
    ("--json a directory", ["run", SPIN, "--json", "OUT"], "--json"),
    ("--plot a directory", ["run", SPIN, "--plot", "OUT"], "is a directory"),
    ("--snapshot a directory", ["run", SPIN, "--snapshot", "OUT"], "--snapshot"),
    ("--json missing parent", ["run", SPIN, "--json", "OUT/no/x.json"], "does not exist"),
    ("--json parent is a file", ["run", SPIN, "--json", "FILE/x.json"], "does not exist"),
    ("--json = --plot", ["run", SPIN, "--json", "OUT/a", "--plot", "OUT/a"], "same file"),
    (
        "1e12 endpoints",
        run_with("endpoints.count=1000000000000"),
        "endpoints.count: must be <= 5000000, got 1000000000000",
    ),
    (
        "23-digit count",
        run_with("endpoints.count=10000000000000000000000"),
        "got 10000000000000000000000",
    ),
    (
        "interval 1e-9",
        run_with("planner.interval_s=1e-9"),
        "planner.interval_s: must be 0 (back to back) or >= 0.001, got 1e-09",
    ),
    ("duration 1e300", run_with("duration_s=1e300"), "duration_s: must be <="),
    ("duration nan", run_with("duration_s=nan"), "duration_s: must be finite"),
    ("duration inf", run_with("duration_s=inf"), "duration_s: must be finite"),
    (
        "burst of 1e8 plans",
        run_with("planner.bursts=[{plans=100000000}]"),
        "planner.bursts[0].plans: must be <= 100000, got 100000000",
    ),
    (
        "1e8 load balancers",
        run_with("fleet.load_balancers=100000000"),
        "fleet.load_balancers: must be <= 100000, got 100000000",
    ),
    (
        "probe 1e-9",
        run_with("clients.probe_interval_s=1e-9"),
        "clients.probe_interval_s: must be >= 0.001, got 1e-09",
    ),
    (
        "too many plans by interval",
        run_with("planner.plans=0", "planner.interval_s=0.001", "duration_s=1000"),
        "planner.interval_s: the planner would publish about 1,000,000 plans",
    ),
    (
        "lease ttl 1e308",
        run_with("enactors.lease_ttl_s=1e308"),
        "enactors.lease_ttl_s: must be <= 604800, got 1e+308",
    ),
    (
        "trees_kept 2**63-1",
        run_with("disciplines.trees_kept=9223372036854775807"),
        "disciplines.trees_kept: must be <= 100, got 9223372036854775807",
    ),
    (
        "escape in name",
        run_with('name="\\u001b[31mred"'),
        "name: must hold printable characters only, got '\\x1b[31mred'",
    ),
    ("name too long", run_with(f'name="{"n" * 101}"'), "name: must be at most 100"),
    ("seed 2**64", ["run", SPIN, "--seed", str(2**64)], "seed"),
    ("seed negative", ["run", SPIN, "--seed", "-1"], "--seed"),
    ("wrong type", run_with('endpoints.count="many"'), "endpoints.count"),
    ("unknown field", run_with("endpoints.colour=1"), "endpoints.colour"),
    ("bad TOML value", run_with("duration_s=1e"), "duration_s"),
    ("missing scenario", ["run", "OUT/none.toml"], "cannot read"),
    ("scenario a directory", ["run", "OUT"], "cannot read"),
    ("duration flag 0", ["run", SPIN, "--duration", "0"], "--duration"),
    ("duration flag nan", ["run", SPIN, "--duration", "nan"], "--duration"),
    ("duration flag huge", ["run", SPIN, "--duration", "1e300"], "--duration: must be <="),
    ("jobs 0", ["run", SPIN, "--jobs", "0"], "--jobs"),
    ("jobs huge", ["run", SPIN, "--jobs", str(2**70)], "--jobs"),
    ("unknown discipline", ["run", SPIN, "--discipline", "fastest"], "fastest"),
    ("incident 1e12 endpoints", ["incident", "--endpoints", "1000000000000"], "--endpoints"),
    ("incident 0 enactors", ["incident", "--enactors", "0"], "--enactors"),
    ("incident --json dir", ["incident", "--endpoints", "0", "--json", "OUT"], "--json"),
    ("explore 1e12 runs", ["explore", SPIN, "--runs", "1000000000000"], "--runs"),
    ("explore depth 0", ["explore", SPIN, "--depth", "0"], "--depth"),
    ("explore --json dir", ["explore", SPIN, "--json", "OUT"], "--json"),
    ("explore real clock", ["explore", SPIN, "--set", 'clock="real"'], "virtual"),
    ("explore bad set", ["explore", SPIN, "--set", "noequals"], "--set"),
    ("modes 0 endpoints", ["modes", "--endpoints", "0"], "--endpoints"),
    ("modes huge endpoints", ["modes", "--endpoints", str(10**12)], "--endpoints"),
    ("modes --json dir", ["modes", "--endpoints", "10", "--json", "OUT"], "--json"),
    ("explore dfs preemptions -1", [*DFS, "--preemptions", "-1"], "--preemptions"),
    ("explore dfs preemptions 99", [*DFS, "--preemptions", "99"], "--preemptions"),
    ("explore dfs max-schedules 0", [*DFS, "--max-schedules", "0"], "--max-schedules"),
    ("explore dfs replay empty decision", [*DFS, "--replay", "main,,B"], "--replay"),
    ("explore dfs replay unknown task", [*DFS, "--replay", "main,nobody"], "--replay"),
    ("explore dfs shrink", [*DFS, "--shrink"], "--schedule dfs"),
    ("explore dfs unknown kind", [*DFS, "--kind", "nope"], "--kind"),
    ("collapse 0 droplets", [*COLLAPSE, "--droplets", "0", *COLLAPSE_OUT], "--droplets"),
    ("collapse 0 managers", [*COLLAPSE, "--managers", "0", *COLLAPSE_OUT], "--managers"),
    ("collapse trigger -5", [*COLLAPSE, "--trigger-s", "-5", *COLLAPSE_OUT], "--trigger-s"),
    ("collapse deadline 0", [*COLLAPSE, "--deadline-s", "0", *COLLAPSE_OUT], "--deadline-s"),
    ("collapse bad recovery", [*COLLAPSE, "--recovery", "nope", *COLLAPSE_OUT], "--recovery"),
    ("unknown command", ["launch"], "launch"),
]


@pytest.mark.parametrize(("argv", "expected"), [pytest.param(a, e, id=d) for d, a, e in CLI_CASES])
def test_bad_command_lines_exit_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    expected: str,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "file").write_text("x")
    argv = [a.replace("OUT", str(out)).replace("FILE", str(out / "file")) for a in argv]
    assert run_cli(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("dnsrace: error:"), lines[0]
    assert expected in lines[0], lines[0]
    assert lines[0].isprintable()
    assert captured.out == ""
    assert sorted(p.name for p in out.iterdir()) == ["file"]


def run_cli(argv: list[str]) -> int:
    """The exit status of a command line (argparse reports its errors by SystemExit)."""
    try:
        return cli_main(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def test_the_real_command_prints_no_traceback_and_no_escape(tmp_path: Path) -> None:
    """The installed command, as a user runs it: exit 2, one escaped line, no traceback."""
    proc = subprocess.run(
        [sys.executable, "-m", "dnsrace", "run", SPIN, "--set", 'name="\\u001b]0;pwned\\u0007"'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_snapshot_with_a_store_that_cannot_save_one_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import dnsrace.backends as backends
    from dnsrace.backends import Backend

    def store_without_snapshots() -> Any:
        return object()

    monkeypatch.setattr(
        backends, "backend", lambda name: Backend(name, store_without_snapshots, None)
    )
    code = run_cli(["run", SPIN, "--snapshot", str(tmp_path / "x.snap")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "dnsrace: error: --snapshot: the 'rust' store cannot save snapshots"
    assert list(tmp_path.iterdir()) == []
