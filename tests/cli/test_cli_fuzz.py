"""A seeded, deterministic fuzzer of the whole command line (issue 17).

Every case builds a fresh sandbox (valid inputs, copies mutated byte by byte, and special
files: a FIFO, a directory, symlinks, a hard link, a sparse 3 GiB file, ``/dev/zero``,
``/dev/null``), then one command line over a subcommand and any of its options (found by
walking ``build_parser()``, so a new option is fuzzed without being listed here) with values
drawn from hostile pools: empty, negative, zero, NaN, inf, 1e300, 400-digit integers, deep
nesting, escape and bidi characters, very long strings; outputs pointing at special files, at
missing folders, at an input of the same run, or ``-``.

Special files an output could replace are the sandbox's own (a FIFO, a device node made with
the null device's numbers): a door with a hole damages the sandbox, never the machine's
``/dev/null``.

The oracle, for every case: the exit status is 0, 1, 2 or 3; no traceback and no exception
escapes; exit 2 prints exactly one stderr line, ``dnsrace: error: ...``, with no raw control
character; nothing printed holds a raw control character; the case ends within
:data:`CASE_SECONDS`; every input is byte-identical afterwards, no special file or symlink is
replaced; a refused command leaves the sandbox as it was and no run leaves a temporary file.

Cases run in-process (fast); every :data:`SUBPROCESS_EVERY`-th runs ``python -m dnsrace`` in
a child (what a user runs, hangs and aborts included). Sizes are kept small (the spin
scenario, one discipline, few runs) so that the default :data:`CASES` fit in about a minute.

``DNSRACE_CLI_FUZZ_CASES`` (default 2000 under the ``ci`` hypothesis profile of ``make test``,
scaled with the profile like a hypothesis size: the first 400 of the same cases under ``dev``,
``make check``'s; ``make fuzz-cli``: 20000), ``DNSRACE_CLI_FUZZ_SEED``
(default 17); a failure names its case, its seed and its command line:
``DNSRACE_CLI_FUZZ_ONLY=N`` replays case N alone.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import os
import random
import re
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conftest import examples
from dnsrace.app.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[2]
SPIN = (ROOT / "scenarios" / "spin.toml").read_bytes()
HISTORY = (ROOT / "tests" / "data" / "history-illegal.jsonl").read_bytes()
CHECK = (ROOT / "tests" / "data" / "history-illegal.check.json").read_bytes()

CASES = int(os.environ.get("DNSRACE_CLI_FUZZ_CASES", examples(2000)))
SEED = int(os.environ.get("DNSRACE_CLI_FUZZ_SEED", "17"))
ONLY = os.environ.get("DNSRACE_CLI_FUZZ_ONLY")
BATCHES = 20
SUBPROCESS_EVERY = 100
CASE_SECONDS = 60.0
"""A case still running after this long has hung (small sizes take well under a second)."""

EXIT_CODES = {0, 1, 2, 3}
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# ----------------------------------------------------------------------- hostile pools

HOSTILE_NUMBERS = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "-5",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "Infinity",
    "1e300",
    "-1e300",
    "1e-300",
    "1e21",
    "1e9",
    "9" * 400,
    "-" + "9" * 400,
    "1" * 5000,
    "0x10",
    "1e",
    "1.5.2",
    "2**64",
    str(2**64),
    str(2**63),
    "\x1b[31m5",
    "\u202e5",
    "５",
]
HOSTILE_TEXT = [
    "",
    "-",
    "--",
    "--json",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "\x07\x08\x7f",
    "\u202eevil\u202c",
    "\u2066x\u2069",
    "[blink]b[/blink][link=http://x]l[/link]",
    "<!--</script>",
    "line\nbreak",
    "tab\there",
    "A" * 5000,
    "é" * 300,
    "../../no-such-folder/passwd",
    "'; rm -rf ~ #",
    "$(touch pwned)",
    "%s%n",
    "[" * 3000,
    "{" * 3000,
    "\ud800" if False else "\U0001f4a3",
]
HOSTILE_SET = [
    'seed=1\nname="x"',
    "seed=" + "9" * 400,
    "duration_s=" + "9" * 400,
    "duration_s=1e300",
    "duration_s=nan",
    "duration_s=inf",
    "duration_s=-1",
    "planner.interval_s=1e-9",
    "enactors.count=0",
    "enactors.count=" + "9" * 30,
    "endpoints.count=1000000000000",
    "endpoints.count=" + "[" * 3000 + "]" * 3000,
    "x=" + "{a=" * 200 + "1" + "}" * 200,
    ".".join(["a"] * 3000) + "=1",
    "name=" + '"' + "\\u001b[31m" + '"',
    'name="' + "n" * 200 + '"',
    'name="<!--</script>"',
    "noequals",
    "=3",
    "a..b=1",
    "disciplines.presets=[" + ",".join(['"cas"'] * 20000) + "]",
    'disciplines.presets=["\\u202eevil"]',
    "disciplines.trees_kept=9223372036854775807",
    "operator.detect_s=[nan, inf]",
    "clients.probe_interval_s=0",
    "faults=1",
    "planner=[1,2]",
    "collapse.horizon_s=1e21",
    "collapse.step_s=1e-9",
    "collapse.droplets=10",
    "v = 1",
    "seed=1 # comment",
    'seed="""a',
]
VALID_SET = [
    "seed=3",
    "endpoints.count=2",
    "duration_s=2.0",
    "planner.plans=3",
    'disciplines.presets=["cas"]',
    'name="fuzz"',
    "enactors.count=3",
]
HOSTILE_BACKENDS = [
    "embedded",
    "reference",
    "etcd://",
    "etcd://[::1",
    "etcd://h:99999",
    "redis://x",
]

VALID: dict[str, list[str]] = {
    "endpoints": ["0", "3"],
    "enactors": ["1", "2", "3"],
    "duration": ["1", "5"],
    "runs": ["1", "3"],
    "depth": ["1", "3", "100"],
    "seed": ["0", "1", "12345", str(2**63 - 1)],
    "jobs": ["1"],
    "timeout": ["0.001", "5"],
    "max_endpoints": ["1", "24"],
    "droplets": ["10", "100"],
    "managers": ["1", "2"],
    "horizon_s": ["60", "600"],
    "deadline_s": ["none", "30"],
    "load_cost": ["0", "2"],
    "utilisation": ["0.5", "0.9"],
    "trigger_s": ["0", "60"],
    "trigger_at_s": ["0", "30"],
    "triggers": ["60", "0,60"],
    "loads": ["0.5", "0.2,0.9"],
    "discipline": ["cas", "aws2025", "fenced,cas", "lww"],
    "recovery": ["aws2025", "throttle", "aws2025,backoff"],
    "name": ["e1", "enactor-1"],
    "kind": ["scenario", "collapse"],
    "preemptions": ["0", "1"],
    "max_schedules": ["1", "20"],
    "clock": ["virtual"],  # a real-clock run takes real minutes: not fuzzed with valid values
}
INPUT_DESTS = {"scenario", "input", "check_result"}
OUTPUT_DESTS = {"json", "plot", "snapshot", "html", "output", "table", "events", "workdir"}
TEXT_OUTPUTS = {"json", "html", "output", "table"}

# Cheap sizes first; a fuzzed option given later overrides them (argparse keeps the last).
BASE: dict[str, list[str]] = {
    "incident": [
        *("--endpoints", "0", "--duration", "5", "--discipline", "cas", "--jobs", "1"),
        *("--droplets", "100", "--managers", "2", "--horizon-s", "600", "--quiet"),
    ],
    "run": ["--discipline", "cas", "--jobs", "1", "--quiet"],
    "explore": [
        *("--runs", "2", "--discipline", "cas", "--jobs", "1", "--quiet"),
        *("--preemptions", "0", "--max-schedules", "20"),  # --schedule dfs: a short search
    ],
    "collapse": ["--droplets", "100", "--managers", "2", "--horizon-s", "600", "--quiet"],
    "modes": ["--endpoints", "20", "--no-reference"],
    "check": ["--timeout", "10"],
    "view": ["--timeout", "10"],
    "cluster-run": ["--quiet"],
}


# ----------------------------------------------------------------------- the sandbox


def mutate(rng: random.Random, data: bytes) -> bytes:
    """``data`` with one to four random damages: flipped, dropped, duplicated bytes, hostile
    fragments, numbers replaced by hostile ones, a truncation."""
    fragments = [
        b"[" * 3000,
        b"{" * 3000,
        b"9" * 400,
        b"nan",
        b"inf",
        b"1e300",
        b"-1",
        b"\xff\xfe",
        b"\x00",
        b"<!--",
        b"</script>",
        "\u2028".encode(),
        b'"\x1b[31m"',
        b"\n",
        b'{"a":',
        b"]]]",
        str(2**64).encode(),
    ]
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        how = rng.randrange(6)
        pos = rng.randrange(len(out) + 1)
        if how == 0 and out:
            out[min(pos, len(out) - 1)] ^= 1 << rng.randrange(8)
        elif how == 1:
            del out[pos : pos + rng.randint(1, 40)]
        elif how == 2:
            out[pos:pos] = rng.choice(fragments)
        elif how == 3:
            numbers = [m.span() for m in re.finditer(rb"\d+(\.\d+)?", bytes(out))]
            if numbers:
                a, b = rng.choice(numbers)
                out[a:b] = rng.choice(HOSTILE_NUMBER_BYTES)
        elif how == 4:
            lines = bytes(out).split(b"\n")
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            out = bytearray(b"\n".join(lines))
        else:
            del out[pos:]
    return bytes(out)


HOSTILE_NUMBER_BYTES = [b"9" * 400, b"1e300", b"nan", b"-1", b"0", str(2**64).encode()]


@dataclass
class Sandbox:
    root: Path
    inputs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls, root: Path, rng: random.Random) -> Sandbox:
        box = cls(root)
        root.mkdir()
        files = {
            "spin.toml": SPIN,
            "spin.json": _spin_json(),
            "h.jsonl": HISTORY,
            "check.json": CHECK,
            "run.json": _run_json(),
            "m.toml": mutate(rng, SPIN),
            "m.json": mutate(rng, _spin_json()),
            "m.jsonl": mutate(rng, HISTORY),
            "mcheck.json": mutate(rng, CHECK),
            "mrun.json": mutate(rng, _run_json()),
            "old.txt": b"an earlier output\n",
            "pointed.txt": b"a symlink points here\n",
        }
        for name, data in files.items():
            (root / name).write_bytes(data)
            box.inputs[name] = root / name
        os.mkfifo(root / "fifo")
        # A device of the sandbox's own (the null device's numbers): a door that let a device
        # through would replace this node, never the machine's /dev/null.
        make_device(root / "null")
        (root / "dir").mkdir()
        (root / "link.toml").symlink_to(root / "spin.toml")
        (root / "outlink").symlink_to(root / "pointed.txt")
        (root / "dangling").symlink_to(root / "nowhere")
        os.link(root / "h.jsonl", root / "hard.jsonl")
        with open(root / "sparse.big", "wb") as f:
            f.truncate(3 << 30)  # sparse: 3 GiB said, nothing stored
        return box

    def input_path(self, rng: random.Random, dest: str) -> str:
        valid = {
            "scenario": ["spin.toml", "spin.json", "link.toml"],
            "input": ["h.jsonl", "run.json", "hard.jsonl"],
            "check_result": ["check.json"],
            "history": ["h.jsonl", "hard.jsonl"],
        }.get(dest, ["spin.toml"])
        roll = rng.random()
        if roll < 0.45:
            name = rng.choice(valid)
        elif roll < 0.75:
            name = rng.choice(["m.toml", "m.json", "m.jsonl", "mcheck.json", "mrun.json"])
        else:
            name = rng.choice(
                [
                    *("fifo", "dir", "sparse.big", "dangling", "missing.toml", "/dev/zero"),
                    *("/dev/null", "/proc/self/status", "dir/", "", "-"),
                    rng.choice(HOSTILE_TEXT),
                ]
            )
        return name if name.startswith("/") or name in ("", "-") else str(self.root / name)

    def output_path(self, rng: random.Random, dest: str, inputs: list[str]) -> str:
        roll = rng.random()
        if roll < 0.4:
            return str(self.root / f"out-{dest}.{rng.choice(['json', 'png', 'html', 'txt'])}")
        choices = ["old.txt", "fifo", "dir", "outlink", "dangling", "null", "-"]
        choices += ["missing/x.json", "old.txt/x", "/proc/dnsrace-fuzz.json", ""]
        choices += [rng.choice(HOSTILE_TEXT)]
        if inputs:
            choices += [inputs[0], inputs[-1]]
        name = rng.choice(choices)
        return name if name.startswith("/") or name in ("", "-") else str(self.root / name)


def make_device(path: Path) -> None:
    """A character device node at ``path`` (root only); else a symlink to /dev/null, which an
    unprivileged process cannot replace."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        path.symlink_to("/dev/null")


_CACHE: dict[str, bytes] = {}


def _spin_json() -> bytes:
    if "spin.json" not in _CACHE:
        import tomllib

        import orjson

        _CACHE["spin.json"] = orjson.dumps(tomllib.loads(SPIN.decode()))
    return _CACHE["spin.json"]


def _run_json() -> bytes:
    if "run.json" not in _CACHE:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            spin = Path(tmp) / "spin.toml"
            spin.write_bytes(SPIN)
            out = Path(tmp) / "r.json"
            with contextlib.redirect_stdout(io.StringIO()):
                assert main(["run", str(spin), *BASE["run"], "--json", str(out)]) == 0
            _CACHE["run.json"] = out.read_bytes()
    return _CACHE["run.json"]


# ----------------------------------------------------------------------- command lines


@dataclass
class Case:
    number: int
    argv: list[str]
    outputs: list[str]
    inputs: list[str]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBPARSERS = _subparsers()
COMMANDS = sorted(SUBPARSERS)
# The commands that do most go deeper more often; every command is drawn.
WEIGHTS = {"run": 4, "explore": 3, "incident": 3, "check": 3, "view": 3, "collapse": 2}


def _value(rng: random.Random, action: argparse.Action, box: Sandbox, inputs: list[str]) -> str:
    dest = action.dest
    if dest in OUTPUT_DESTS or (dest == "history" and action.option_strings):
        return box.output_path(rng, dest, inputs)
    if dest in INPUT_DESTS or dest == "history":
        path = box.input_path(rng, dest)
        inputs.append(path)
        return path
    if dest == "set":
        return rng.choice(HOSTILE_SET if rng.random() < 0.7 else VALID_SET)
    if dest == "backend":
        if rng.random() < 0.02:
            return "etcd://127.0.0.1:1"  # nothing listens: refused within the connect timeout
        return rng.choice(HOSTILE_BACKENDS + HOSTILE_TEXT[:6])
    if dest == "executor":
        # Not ray: each run would start a Ray instance (tests/sim/test_campaign.py covers its
        # bad addresses, tests/integration/processes/test_ray_campaign.py a real cluster).
        return "local" if rng.random() < 0.7 else rng.choice(HOSTILE_TEXT)
    if action.choices is not None and dest != "command":
        valid = [str(c) for c in action.choices if not (dest == "clock" and c == "real")]
        return rng.choice(valid) if rng.random() < 0.7 else rng.choice(HOSTILE_TEXT)
    if dest in VALID and rng.random() < 0.5:
        return rng.choice(VALID[dest])
    if action.type is not None:
        return rng.choice(HOSTILE_NUMBERS)
    return rng.choice(HOSTILE_TEXT + HOSTILE_NUMBERS)


def make_case(number: int, rng: random.Random, box: Sandbox) -> Case:
    command = rng.choices(COMMANDS, [WEIGHTS.get(c, 1) for c in COMMANDS])[0]
    parser = SUBPARSERS[command]
    actions = [a for a in parser._actions if not isinstance(a, argparse._HelpAction)]
    positionals = [a for a in actions if not a.option_strings]
    options = [a for a in actions if a.option_strings]
    inputs: list[str] = []
    head = [_value(rng, a, box, inputs) for a in positionals]
    chosen = rng.sample(options, k=min(len(options), rng.choice([0, 1, 1, 2, 2, 3, 4, 6])))
    # Options an argument parser requires, given valid-looking values most of the time.
    for a in options:
        if a.required and a not in chosen and rng.random() < 0.9:
            chosen.append(a)
    base = list(BASE.get(command, []))
    if any(a.dest == "sweep" for a in chosen):
        base += ["--triggers", "60", "--loads", "0.5"]
    if any(a.dest == "plot" for a in chosen) and rng.random() < 0.8:
        # A picture costs a matplotlib import and render: draw few of them.
        chosen = [a for a in chosen if a.dest != "plot"]
    tail: list[str] = []
    outputs: list[str] = []
    for a in chosen:
        flag = rng.choice(a.option_strings)
        if a.nargs == 0:
            tail.append(flag)
            continue
        value = _value(rng, a, box, inputs)
        if a.dest in OUTPUT_DESTS or a.dest == "history":
            outputs.append(value)
        if rng.random() < 0.1 and flag.startswith("--"):
            tail.append(f"{flag}={value}")
        else:
            tail += [flag, value]
    extra = rng.random()
    if extra < 0.03:
        tail.append(rng.choice(["--no-such-option", "-x", "--json"]))
    elif extra < 0.05:
        tail.append(rng.choice(HOSTILE_TEXT))
    return Case(number, [command, *head, *base, *tail], outputs, inputs)


# ----------------------------------------------------------------------- the oracle


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """Every entry under ``root``: its kind and content hash (symlink: its target)."""
    out: dict[str, tuple[str, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                out[p] = ("symlink", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                if st.st_size > 1 << 20 and name == "sparse.big":
                    out[p] = ("file", str(st.st_size))
                else:
                    out[p] = ("file", hashlib.sha256(Path(p).read_bytes()).hexdigest())
            elif stat.S_ISFIFO(st.st_mode):
                out[p] = ("fifo", "")
            elif stat.S_ISDIR(st.st_mode):
                out[p] = ("dir", "")
            elif stat.S_ISCHR(st.st_mode):
                out[p] = ("device", str(st.st_rdev))
            else:
                out[p] = ("other", "")
    return out


class CaseTimeout(BaseException):
    """A case ran past CASE_SECONDS (raised by SIGALRM, so no except Exception catches it)."""


@contextlib.contextmanager
def time_bound(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, "utf-8", "backslashreplace", write_through=True)
    err = io.TextIOWrapper(err_bytes, "utf-8", "backslashreplace", write_through=True)
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                with time_bound(CASE_SECONDS):
                    code = main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
            except CaseTimeout:
                code = -1
                print(f"HUNG: past {CASE_SECONDS} s", file=err)
            except BaseException as exc:  # the oracle: nothing may escape
                import traceback

                code = -2
                print("Traceback (escaped exception)", file=err)
                traceback.print_exception(exc, file=err)
    finally:
        os.chdir(old)
    return (
        code,
        out_bytes.getvalue().decode("utf-8", "replace"),
        err_bytes.getvalue().decode("utf-8", "replace"),
    )


def run_subprocess(argv: list[str], cwd: Path) -> tuple[int, str, str]:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "dnsrace", *argv],
            capture_output=True,
            cwd=cwd,
            timeout=CASE_SECONDS,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )
    except subprocess.TimeoutExpired:
        return -1, "", f"HUNG: past {CASE_SECONDS} s"
    return (
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
    )


def judge(case: Case, code: int, out: str, err: str, before: Any, after: Any, box: Sandbox) -> str:
    """The first broken rule of the oracle, or ''."""
    if code not in EXIT_CODES:
        return f"exit status {code}"
    if "Traceback" in err or "Traceback" in out:
        return "a traceback"
    if code == 2:
        lines = err.splitlines()
        if len(lines) != 1 or not lines[0].startswith("dnsrace: error: "):
            return f"exit 2 with {len(lines)} stderr lines"
        if not lines[0].isprintable():
            return "a non-printable character in the error line"
    for name, text in (("stdout", out), ("stderr", err)):
        if CONTROL.search(text):
            return f"a raw control character on {name}"
    outputs = {os.path.abspath(os.path.join(box.root, o)) for o in case.outputs if o}
    outputs -= {os.path.abspath(os.path.join(box.root, i)) for i in case.inputs if i}
    for path, (kind, digest) in before.items():
        now = after.get(path)
        # Only a regular file named as an output (and not as an input) of a command that went
        # through may change.
        replaceable = kind == "file" and path in outputs and code != 2
        if not replaceable and now != (kind, digest):
            return f"{path} changed ({kind} -> {now and now[0]})"
    if code == 2 and set(after) != set(before):
        return f"refused, but left {sorted(set(after) - set(before))}"
    leftovers = [p for p in set(after) - set(before) if ".tmp" in os.path.basename(p)]
    if leftovers:
        return f"temporary files left: {leftovers}"
    if not os.path.exists("/dev/null") or not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        return "/dev/null was replaced"
    return ""


def fuzz_batch(batch: int, tmp_path: Path) -> list[str]:
    per_batch = -(-CASES // BATCHES)
    failures: list[str] = []
    for number in range(batch * per_batch, min(CASES, (batch + 1) * per_batch)):
        if ONLY is not None and number != int(ONLY):
            continue
        rng = random.Random(f"{SEED}:{number}")
        box = Sandbox.create(tmp_path / f"case{number}", rng)
        case = make_case(number, rng, box)
        before = snapshot(box.root)
        t0 = time.perf_counter()
        child = number % SUBPROCESS_EVERY == SUBPROCESS_EVERY - 1
        code, out, err = (run_subprocess if child else run_in_process)(case.argv, box.root)
        elapsed = time.perf_counter() - t0
        broken = judge(case, code, out, err, before, snapshot(box.root), box)
        if broken:
            failures.append(
                f"case {number} (seed {SEED}, {'subprocess' if child else 'in-process'}, "
                f"{elapsed:.1f} s): {broken}\n  argv: {case.argv!r}\n  exit {code}\n"
                f"  stderr: {err[-3000:]!r}"
            )
        with contextlib.suppress(OSError):
            import shutil

            shutil.rmtree(box.root)
    return failures


@pytest.mark.parametrize("batch", range(BATCHES))
def test_cli_fuzz(batch: int, tmp_path: Path) -> None:
    failures = fuzz_batch(batch, tmp_path)
    assert not failures, "\n".join(failures[:5]) + f"\n({len(failures)} failing cases)"
