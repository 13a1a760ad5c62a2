"""The doors of the CLI (issue 17): every example of the issue as a regression test.

Inputs: special files refused before a blocking open, sizes and depths capped before parsing,
every parse failure one line. Outputs: resolved before the run, never a special file, a
symlink or an input, atomic, a failed write one line with nothing left behind. Text: one safe
printer. Optional parts: one line naming the extra."""

from __future__ import annotations

import errno
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from dnsrace.app.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPIN = ROOT / "scenarios" / "spin.toml"
HISTORY = ROOT / "tests" / "data" / "history-illegal.jsonl"
FAST = ["--discipline", "cas", "--quiet"]


def cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one in-process command line."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(argv: list[Any], capsys: pytest.CaptureFixture[str], needle: str) -> None:
    """The command line exits 2 (usage or input) with one error line naming `needle`."""
    code, _, err = cli(argv, capsys)
    assert code == 2, err
    one_line(err, needle)


def one_line(err: str, needle: str) -> None:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("dnsrace: error: "), err
    assert lines[0].isprintable(), err
    assert needle in lines[0], err
    assert "Traceback" not in err


def subprocess_cli(argv: list[str], timeout: float = 60, prelude: str = "") -> Any:
    """The CLI in a child process (for what could hang, or needs a module hidden)."""
    code = f"import sys\n{prelude}\nfrom dnsrace.app.cli import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )


@pytest.fixture
def spin(tmp_path: Path) -> Path:
    copy = tmp_path / "spin.toml"
    copy.write_bytes(SPIN.read_bytes())
    return copy


@pytest.fixture
def history(tmp_path: Path) -> Path:
    copy = tmp_path / "h.jsonl"
    copy.write_bytes(HISTORY.read_bytes())
    return copy


# ------------------------------------------------------------------------- outputs


@pytest.mark.parametrize("kind", ["fifo", "symlink", "device"])
@pytest.mark.parametrize("flag", ["--json", "--plot", "--snapshot", "--history"])
def test_an_output_that_is_a_special_file_is_refused_and_left_alone(
    tmp_path: Path, spin: Path, capsys: pytest.CaptureFixture[str], kind: str, flag: str
) -> None:
    target = tmp_path / "out"
    pointed = tmp_path / "pointed.json"
    pointed.write_text("keep me")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "symlink":
        target.symlink_to(pointed)
    else:
        # A device node of the test's own: with the check removed, the machine's /dev/null
        # would be the one replaced.
        try:
            os.mknod(target, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            target = Path("/dev/null")  # not root: nothing here can replace it
    code, out, err = cli(["run", spin, *FAST, flag, target], capsys)
    assert code == 2
    one_line(err, flag)
    assert out == ""
    if kind == "fifo":
        assert target.is_fifo()
    elif kind == "symlink":
        assert target.is_symlink() and pointed.read_text() == "keep me"
    else:
        assert target.is_char_device()


@pytest.mark.parametrize(
    ("argv", "same"),
    [
        (["check", "{h}", "--json", "{h}"], "h"),
        (["view", "{h}", "-o", "{h}"], "h"),
        (["run", "{s}", *FAST, "--json", "{s}"], "s"),
        (["run", "{s}", *FAST, "--history", "{s}"], "s"),
        (["run", "{s}", *FAST, "--snapshot", "{s}"], "s"),
        (["explore", "{s}", "--runs", "1", "--quiet", "--json", "{s}"], "s"),
        (["view", "{h}", "-o", "{link}"], "h"),  # a hard link to the input
        (["check", "{h}", "--html", "{link}"], "h"),
        (["view", "{hsym}", "-o", "{h}"], "h"),  # the input given through a symlink
    ],
)
def test_an_output_that_is_an_input_is_refused(
    tmp_path: Path,
    spin: Path,
    history: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    same: str,
) -> None:
    link = tmp_path / "link.jsonl"
    os.link(history, link)
    hsym = tmp_path / "hsym.jsonl"
    hsym.symlink_to(history)
    places = {"h": history, "s": spin, "link": link, "hsym": hsym}
    before = {p: p.read_bytes() for p in (spin, history)}
    code, _out, err = cli([a.format(**places) for a in argv], capsys)
    assert code == 2
    one_line(err, "is the same file as the input")
    assert {p: p.read_bytes() for p in (spin, history)} == before


def test_dash_means_stdout_and_writes_no_file_named_dash(
    tmp_path: Path, history: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(["view", history, "-o", "-"], capsys)
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>")
    code, out, err = cli(["check", history, "--json", "-"], capsys)
    assert code == 1
    assert orjson.loads(out)["verdict"] == "illegal"
    assert err.startswith("illegal:")  # the human summary moved to stderr
    assert not (tmp_path / "-").exists()


def test_two_outputs_cannot_both_be_stdout(history: Path, capsys: Any) -> None:
    refused(
        ["check", history, "--json", "-", "--html", "-"],
        capsys,
        "standard output is already taken by --json",
    )


def test_a_picture_cannot_go_to_stdout(spin: Path, capsys: Any) -> None:
    refused(["run", spin, *FAST, "--plot", "-"], capsys, "--plot -: this output is not text")


@pytest.mark.parametrize("name", ["p.txt", "p", "p.html"])
def test_a_picture_whose_suffix_names_no_format_is_refused_before_the_run(
    tmp_path: Path, spin: Path, capsys: Any, name: str
) -> None:
    """Found by the CLI fuzzer (case 3676 of seed 17): matplotlib refused '.txt' after the run."""
    refused(
        ["run", spin, *FAST, "--plot", tmp_path / name],
        capsys,
        "the picture's format comes from its suffix: .png",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spin.toml"]


@pytest.mark.parametrize("error", [errno.ENOSPC, errno.EROFS, errno.EIO])
def test_a_write_that_fails_after_the_checks_is_one_line_and_leaves_no_partial_file(
    tmp_path: Path,
    spin: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    error: int,
) -> None:
    """Disk full (or a read-only or failing disk) while the document is written: exit 2, one
    line, the earlier file under the name intact, no temporary file left."""
    out = tmp_path / "r.json"
    out.write_text("earlier run")
    real_replace = os.replace

    def failing_replace(src: Any, dst: Any) -> None:
        if Path(dst) == out:
            raise OSError(error, os.strerror(error))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    refused(
        ["run", spin, *FAST, "--json", out],
        capsys,
        f"--json {out}: cannot write: {os.strerror(error)}",
    )
    assert out.read_text() == "earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "spin.toml"]


def test_a_write_into_proc_is_one_line(spin: Path, capsys: Any) -> None:
    refused(
        ["run", spin, *FAST, "--json", "/proc/dnsrace-test.json"],
        capsys,
        "--json /proc/dnsrace-test.json",
    )


def test_an_output_folder_that_is_missing_or_a_file_is_refused(
    tmp_path: Path, spin: Path, capsys: Any
) -> None:
    for path in (tmp_path / "no" / "x.json", spin / "x.json"):
        refused(["run", spin, *FAST, "--json", path], capsys, "does not exist")


# -------------------------------------------------------------------------- inputs


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "{fifo}"],
        ["view", "{fifo}", "-o", "{out}"],
        ["run", "{fifo}"],
        ["explore", "{fifo}"],
        ["view", "{hist}", "-o", "{out}", "--check-result", "{fifo}"],
    ],
)
def test_a_fifo_as_input_is_refused_without_blocking(tmp_path: Path, argv: list[str]) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    places = {"fifo": fifo, "out": tmp_path / "o.html", "hist": HISTORY}
    proc = subprocess_cli([a.format(**places) for a in argv], timeout=60)
    assert proc.returncode == 2, proc.stderr
    one_line(proc.stderr, "is a FIFO (named pipe), not a regular file")
    assert not (tmp_path / "o.html").exists()


@pytest.mark.parametrize(
    "argv",
    [["check", "/dev/zero"], ["view", "/dev/zero", "-o", "{out}"], ["run", "/dev/zero"]],
)
def test_dev_zero_as_input_is_refused_before_reading(
    tmp_path: Path, capsys: Any, argv: list[str]
) -> None:
    refused(
        [a.format(out=tmp_path / "o.html") for a in argv],
        capsys,
        "is a character device, not a regular file",
    )


def test_a_directory_as_input_is_refused(tmp_path: Path, capsys: Any) -> None:
    refused(["check", tmp_path], capsys, "is a directory")


def test_an_oversized_scenario_is_refused_by_its_size_before_parsing(
    tmp_path: Path, capsys: Any
) -> None:
    """50 MB of scenario: refused by its size, without being parsed (was 93 s, 0.5 GB)."""
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.write(SPIN.read_bytes())
        f.write(b"# padding\n" * 5_000_000)
    refused(["run", big], capsys, "more than the 4 MiB a scenario may have")


def test_a_short_proc_file_is_read_with_the_bound(capsys: Any) -> None:
    """/proc files say size 0; the door reads at most limit + 1 bytes of them."""
    refused(["run", "/proc/self/status"], capsys, "/proc/self/status")


@pytest.mark.parametrize("where", ["toml", "json", "set"])
def test_3000_deep_nesting_is_one_line(tmp_path: Path, spin: Path, capsys: Any, where: str) -> None:
    deep = "[" * 3000 + "]" * 3000
    if where == "toml":
        path = tmp_path / "deep.toml"
        path.write_text(f"x = {deep}\n")
        argv = ["run", path]
    elif where == "json":
        path = tmp_path / "deep.json"
        path.write_text('{"x": ' + deep + "}")
        argv = ["run", path]
    else:
        argv = ["run", spin, "--set", f"endpoints.count={deep}"]
    refused(argv, capsys, "nested more than")


def test_deep_dotted_keys_are_one_line(tmp_path: Path, spin: Path, capsys: Any) -> None:
    path = tmp_path / "dotted.toml"
    path.write_text(".".join(["a"] * 3000) + " = 1\n")
    refused(["run", path], capsys, "nested more than")
    refused(["run", spin, "--set", ".".join(["a"] * 3000) + "=1"], capsys, "dotted parts")


@pytest.mark.parametrize("field", ["duration_s", "planner.interval_s", "enactors.lease_ttl_s"])
def test_a_400_digit_integer_in_a_float_field_is_one_line(
    tmp_path: Path, spin: Path, capsys: Any, field: str
) -> None:
    digits = "9" * 400
    refused(["run", spin, "--set", f"{field}={digits}"], capsys, "must fit in 64 bits")
    table, _, key = field.rpartition(".")
    path = tmp_path / "wide.toml"
    text = SPIN.read_text()
    if table:
        text = text.replace(f"[{table}]\n", f"[{table}]\n{key} = {digits}\n", 1)
        text = text.replace(f"\n{key} = ", f"\n#{key} = ", 2).replace(
            f"#{key} = {digits}", f"{key} = {digits}", 1
        )
    else:
        text = f"{key} = {digits}\n" + text.replace(f"\n{key} = ", f"\n#{key} = ")
    path.write_text(text)
    refused(["run", path], capsys, "must fit in 64 bits")


def test_a_5000_digit_integer_is_one_line(tmp_path: Path, capsys: Any) -> None:
    """tomllib's int() refuses more than 4,300 digits with a plain ValueError."""
    path = tmp_path / "huge.toml"
    path.write_text("seed = " + "7" * 5000 + "\n")
    refused(["run", path], capsys, "malformed TOML")


@pytest.mark.parametrize("text", ["3", '"spin"', "[1, 2]", "null", "true"])
def test_a_json_scenario_that_is_not_an_object_is_one_line(
    tmp_path: Path, capsys: Any, text: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    refused(["run", path], capsys, "a scenario must be a table (a JSON object)")


def test_a_json_scenario_runs(tmp_path: Path, capsys: Any) -> None:
    import tomllib

    path = tmp_path / "s.json"
    path.write_bytes(orjson.dumps(tomllib.loads(SPIN.read_text())))
    code, _, err = cli(["run", path, *FAST], capsys)
    assert code == 0, err


def test_a_json_integer_of_2_64_given_to_view_is_one_line(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"schema": ' + str(2**64) + "}")
    refused(["view", path, "-o", tmp_path / "o.html"], capsys, str(path))
    hist = tmp_path / "h.jsonl"
    hist.write_text(HISTORY.read_text().replace('"call": 1000', f'"call": {2**64}', 1))
    refused(["view", hist, "-o", tmp_path / "o.html"], capsys, "h.jsonl:1")


def test_check_timeout_1e9_is_refused(history: Path, capsys: Any) -> None:
    refused(
        ["check", history, "--timeout", "1e9"],
        capsys,
        "--timeout: must be > 0 and <= 86400 seconds",
    )


def test_a_set_value_of_two_lines_is_refused(spin: Path, capsys: Any) -> None:
    """TOML would read the second line as a second key, which --set used to drop silently."""
    refused(
        ["run", spin, "--set", 'seed=1\nname="x"'], capsys, "--set seed: the value must be one line"
    )


@pytest.mark.parametrize("value", ["1e21", "1e300", "inf", "nan", "-1", "0"])
def test_collapse_horizon_is_bounded(capsys: Any, value: str) -> None:
    # The option's type (not finite, <= 0) or the schema's bound.
    refused(["collapse", "--horizon-s", value, "--quiet"], capsys, "horizon")


@pytest.mark.parametrize(("key", "value"), [("step_s", "1e-9"), ("sample_s", "1e-6")])
def test_a_collapse_section_too_fine_to_finish_is_refused(
    tmp_path: Path, capsys: Any, key: str, value: str
) -> None:
    path = tmp_path / "c.toml"
    path.write_text(SPIN.read_text() + f"\n[collapse]\n{key} = {value}\n")
    refused(["run", path, *FAST], capsys, key)


# ---------------------------------------------------------------------------- text


def test_argparse_errors_escape_control_characters(spin: Path, capsys: Any) -> None:
    for argv in (
        ["run", spin, "--schedule", "\x1b[31mred\x07"],
        ["run", spin, "--jobs", "\x1b]8;;http://x\x1b\\"],
        ["\x1b[5mblink"],
        ["run", spin, "--seed", "\u202eevil"],
    ):
        code, _, err = cli(argv, capsys)
        assert code == 2
        one_line(err, "")
        assert "\x1b" not in err and "\u202e" not in err


def test_progress_labels_and_cells_are_not_markup() -> None:
    from rich.console import Console

    from dnsrace.app.doors.text import markup

    console = Console(record=True, width=200, force_terminal=True, color_system="truecolor")
    console.print(markup("[link=http://evil]x[/link][blink]y[/blink]\x1b[2J"))
    text = console.export_text()
    assert "[link=http://evil]x[/link][blink]y[/blink]\\x1b[2J" in text
    assert "\x1b]8;" not in console.export_text(styles=True)


def test_the_replay_line_quotes_every_argument() -> None:
    from dnsrace.app.commands.explore import replay_argv
    from dnsrace.app.doors.text import shell_line

    argv = replay_argv(
        "my scenarios/$(rm -rf ~)/spin's.toml",
        "aws2025",
        seed=7,
        schedule="pct",
        depth=2,
        overrides={"name": "a b;c", "operator.detect_s": [5.0, 1.5]},
    )
    line = shell_line(argv)
    assert shlex.split(line) == argv
    escaped = shell_line(["dnsrace", "run", "x\x1b[31m.toml"])
    assert "\x1b" not in escaped
    # bash's $'...' gives the same argument back.
    back = subprocess.run(
        ["bash", "-c", f"printf '%s' {escaped.split(' ', 2)[2]}"], capture_output=True
    )
    assert back.stdout == b"x\x1b[31m.toml"


def test_the_viewer_data_cannot_end_or_comment_out_its_script(tmp_path: Path, capsys: Any) -> None:
    """`<!--`, `</script>`, `&`, U+2028 in a lease holder and in a scenario name: the page
    keeps one script element and its JSON parses back to the same strings."""
    import json
    import re

    hostile = "<!--</script><script>alert(1)</script>&amp;\u2028\u2029-->"
    hist = tmp_path / "h.jsonl"
    hist.write_text(
        HISTORY.read_text().replace('"holder": "A"', f'"holder": {json.dumps(hostile)}')
    )
    assert hostile in "".join(
        op["input"].get("holder", "") for op in map(json.loads, hist.read_text().splitlines())
    )
    spin = tmp_path / "spin.toml"
    spin.write_text(SPIN.read_text().replace('name = "spin"', 'name = "spin <!-- x"'))
    run = tmp_path / "r.json"
    assert cli(["run", spin, *FAST, "--json", run], capsys)[0] == 0
    doc = orjson.loads(run.read_bytes())
    assert doc["scenario"] == "spin <!-- x"
    doc["scenario"] = hostile
    run.write_bytes(orjson.dumps(doc))
    for source in (hist, run):
        out = tmp_path / "o.html"
        code, _, err = cli(["view", source, "-o", out], capsys)
        assert code == 0, err
        page = out.read_text()
        assert page.count("<script") == 2 and page.count("</script>") == 2
        assert "<!--" not in page
        data = re.search(r'id="dnsrace-data">(.*?)</script>', page, re.S)
        assert data is not None
        assert not set("<>&\u2028\u2029") & set(data.group(1))
        assert hostile in json.dumps(json.loads(data.group(1)), ensure_ascii=False)


# ------------------------------------------------------------------------- extras


@pytest.mark.parametrize(
    ("argv", "hidden", "extra"),
    [
        (["run", "{spin}", "--backend", "etcd://127.0.0.1:1"], "grpc", "etcd"),
        (["cluster-run", "{spin}", "--backend", "etcd://127.0.0.1:1"], "aetcd", "etcd"),
        (["collapse", "--droplets", "100", "--horizon-s", "60"], "numpy", "numpy"),
        (["run", "{spin}", "--discipline", "cas", "--plot", "{out}"], "matplotlib", "plot"),
        (["incident", "--then", "collapse", "--endpoints", "0"], "numpy", "numpy"),
        (["check", "{hist}"], "orjson", "sim"),
        (["view", "{hist}", "-o", "{out}"], "orjson", "sim"),
        (["explore", "{spin}", "--runs", "1"], "rich", "sim"),
        (["run", "{spin}"], "pydantic", "sim"),
        (["run", "{spin}", "--discipline", "cas", "--clock", "real"], "uvloop", "sim"),
        (
            ["planner", "{spin}", "--backend", "etcd://127.0.0.1:1", "--events", "{out}"],
            "uvloop",
            "sim",
        ),
    ],
)
def test_a_missing_optional_part_names_its_extra(
    tmp_path: Path, argv: list[str], hidden: str, extra: str
) -> None:
    places = {"spin": SPIN, "out": tmp_path / "p.png", "hist": HISTORY}
    proc = subprocess_cli(
        [a.format(**places) for a in argv], prelude=f"sys.modules[{hidden!r}] = None"
    )
    assert proc.returncode == 2, proc.stderr
    one_line(proc.stderr, f"pip install 'dnsrace[{extra}]'")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------- CLI


def test_every_command_is_one_subparser_of_build_parser() -> None:
    """One dispatch path: planner, enactor, cluster-run and modes are parsed like the rest."""
    from dnsrace.app.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == {  # type: ignore[arg-type]
        "incident",
        "run",
        "explore",
        "check",
        "view",
        "collapse",
        "modes",
        "planner",
        "enactor",
        "cluster-run",
        "schema",
    }
    for name, p in sub.choices.items():  # type: ignore[union-attr]
        assert p.get_default("handler") is not None, name


def test_schema_command_prints_a_schema_or_says_not_available(capsys: Any) -> None:
    code, out, err = cli(["schema", "scenario"], capsys)
    if code == 0:
        assert isinstance(orjson.loads(out), dict)
    else:
        assert code == 2
        one_line(err, "not available")


def test_cli_and_collapse_do_not_import_each_other() -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import dnsrace.app.commands.collapse as c, sys; "
            "print('dnsrace.app.cli' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip() == "False", proc.stderr


@pytest.mark.parametrize(("path", "needle"), [("", "empty path"), ("a\0b", "NUL character")])
def test_a_path_no_file_can_have_is_refused_at_both_doors(
    history: Path, capsys: Any, path: str, needle: str
) -> None:
    # One check (inputfile.check_path_text) serves the input door and the output door.
    refused(["check", path], capsys, needle)
    refused(["check", history, "--json", path], capsys, needle)
