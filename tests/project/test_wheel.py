"""The release wheel: one abi3 file for every CPython >= 3.11, stripped, the store alone.

``make wheel`` builds it into dist/ (``make test`` does so first); run alone, this module builds
it itself when dist/ holds no wheel newer than the sources. Each CPython >= 3.11 found on the
machine (pyenv's versions, ``python3.X`` on PATH, ``DNSRACE_WHEEL_PYTHONS``) gets a fresh venv,
the wheel is installed with ``--no-deps --no-index`` and no Rust toolchain on PATH, and
tests/project/wheel_smoke.py must print what it prints on the development build. 3.11, 3.12 and 3.13
must all be found: a missing one fails the run instead of skipping it.

Select with ``-m wheel``.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# Slow: make test builds the wheel first (make wheel); make check, the fast tier, leaves these
# out.
pytestmark = [pytest.mark.wheel, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SMOKE = Path(__file__).with_name("wheel_smoke.py")
REQUIRED = ((3, 11), (3, 12), (3, 13))
TOOLCHAIN = ("cargo", "rustc", "rustup", "maturin")


def _version_of(python: str) -> tuple[int, int] | None:
    """(major, minor) of a GIL-enabled CPython at ``python``, else None (free-threaded builds
    cannot load abi3 extensions)."""
    probe = (
        "import sys, sysconfig; print(sys.implementation.name, *sys.version_info[:2], "
        "int(bool(sysconfig.get_config_var('Py_GIL_DISABLED'))))"
    )
    try:
        out = subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None  # e.g. a pyenv shim for a version that is not selected
    if len(out) != 4 or out[0] != "cpython" or out[3] != "0":
        return None
    return int(out[1]), int(out[2])


@functools.cache
def interpreters() -> dict[tuple[int, int], str]:
    """Every CPython >= 3.11 on this machine, one per minor version."""
    candidates: list[str] = []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for home in sorted(pyenv.glob("3.*")):
        if re.fullmatch(r"3\.(1[1-9]|[2-9]\d)\.\d+", home.name):  # released CPythons >= 3.11
            candidates.append(str(home / "bin" / "python3"))
    for minor in range(11, 40):
        found = shutil.which(f"python3.{minor}")
        if found:
            candidates.append(found)
    candidates += [p for p in os.environ.get("DNSRACE_WHEEL_PYTHONS", "").split(os.pathsep) if p]
    found_versions: dict[tuple[int, int], str] = {}
    for python in candidates:
        version = _version_of(python)
        if version is not None and version >= (3, 11):
            found_versions.setdefault(version, python)
    return dict(sorted(found_versions.items()))


def _newest_source() -> float:
    """Newest modification time of what goes into the wheel (the Makefile's list)."""
    files = [ROOT / "Cargo.toml", ROOT / "Cargo.lock", ROOT / "pyproject.toml"]
    files += [p for p in (ROOT / "rust").rglob("*") if p.suffix in (".rs", ".toml")]
    files += [
        p
        for p in (ROOT / "python").rglob("*")
        if p.is_file() and p.suffix != ".so" and "__pycache__" not in p.parts
    ]
    return max(p.stat().st_mtime for p in files if p.exists())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    built = sorted((ROOT / "dist").glob("dnsrace-*.whl"))
    if len(built) == 1 and built[0].stat().st_mtime >= _newest_source():
        return built[0]
    # No fresh wheel from make wheel: build one here (release, no test-only features). One
    # build at a time: xdist workers building at once race in maturin's staging folder.
    out = tmp_path_factory.mktemp("dist")
    maturin = shutil.which("maturin", path=str(Path(sys.executable).parent)) or "maturin"
    (ROOT / "target").mkdir(exist_ok=True)
    with open(ROOT / "target" / ".wheel-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [maturin, "build", "--release", "--quiet", "--out", str(out)], cwd=ROOT, check=True
        )
    [fresh] = out.glob("dnsrace-*.whl")
    return fresh


def _elf_sections(data: bytes) -> list[str]:
    """Section names of a 64-bit little-endian ELF file (what ``readelf -S`` lists)."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LE ELF"
    shoff = struct.unpack_from("<Q", data, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_offset = headers[shstrndx][4]
    return [
        data[names_offset + h[0] : data.index(b"\0", names_offset + h[0])].decode() for h in headers
    ]


def test_this_machine_has_cpython_3_11_to_3_13() -> None:
    found = interpreters()
    missing = [f"{a}.{b}" for a, b in REQUIRED if (a, b) not in found]
    assert not missing, (
        f"CPython {', '.join(missing)} not found (found: {found}); install them with pyenv or "
        "name them in DNSRACE_WHEEL_PYTHONS (paths separated by ':')"
    )


def test_wheel_is_abi3_stripped_and_depends_on_nothing(wheel: Path) -> None:
    name, version, python_tag, abi_tag, platform_tag = wheel.name[: -len(".whl")].split("-")
    assert (name, python_tag, abi_tag) == ("dnsrace", "cp311", "abi3"), wheel.name
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = f"dnsrace-{version}.dist-info"
        tags = [
            line.split(": ", 1)[1]
            for line in archive.read(f"{info}/WHEEL").decode().splitlines()
            if line.startswith("Tag: ")
        ]
        metadata = archive.read(f"{info}/METADATA").decode().splitlines()
        [extension] = [n for n in names if n.endswith((".so", ".pyd"))]
        library = archive.read(extension)
    assert tags == [f"cp311-abi3-{platform_tag}"]
    assert extension == "dnsrace/_core.abi3.so"  # no version-specific build slipped in
    assert "dnsrace/_core.pyi" in names and "dnsrace/py.typed" in names
    sections = _elf_sections(library)
    assert ".text" in sections  # the parse found the real section table
    assert ".symtab" not in sections and not [s for s in sections if s.startswith(".debug")]

    requires = [line.split(": ", 1)[1] for line in metadata if line.startswith("Requires-Dist: ")]
    assert [r for r in requires if "extra ==" not in r] == []  # the store needs nothing
    extras = {line.split(": ", 1)[1] for line in metadata if line.startswith("Provides-Extra: ")}
    assert {"sim", "etcd", "numpy", "plot", "all"} <= extras
    sim = [r for r in requires if r.endswith("extra == 'sim'")]
    assert any(r.startswith("uvloop") and "sys_platform != 'win32'" in r for r in sim), sim
    assert {r.split(">=")[0] for r in sim} == {"uvloop", "orjson", "rich", "pydantic"}


@pytest.fixture(scope="module")
def expected_smoke() -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, str(SMOKE)], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    result: dict[str, object] = json.loads(out)
    return result


@pytest.mark.parametrize(
    "version", [f"{a}.{b}" for a, b in interpreters()] or ["none found"], ids=str
)
def test_wheel_installs_and_runs_without_a_toolchain(
    wheel: Path, version: str, tmp_path: Path, expected_smoke: dict[str, object]
) -> None:
    found = {f"{a}.{b}": python for (a, b), python in interpreters().items()}
    assert version in found, "no CPython >= 3.11 found (see test_this_machine_has_...)"
    venv = tmp_path / "venv"
    subprocess.run([found[version], "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # Only the venv and the system's own directories: no cargo, rustc or maturin reachable.
    path = os.pathsep.join([str(venv / "bin"), "/usr/bin", "/bin"])
    assert [t for t in TOOLCHAIN if shutil.which(t, path=path)] == []
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CARGO", "RUSTUP", "PYTHON", "VIRTUAL_ENV", "MATURIN", "PYO3"))
    }
    env["PATH"] = path
    # The host pip installs into the venv's interpreter (pip --python): no pip in each venv.
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-deps",
         "--no-index", "--disable-pip-version-check", str(wheel)],
        env=env, check=True,
    )  # fmt: skip
    out = subprocess.run(
        [str(python), "-I", str(SMOKE)], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert Path(got.pop("installed_at")).is_relative_to(venv)
    assert got.pop("testing_module") is False  # the release wheel has no test-only module
    assert got["optional_imported"] == []
    expected = dict(expected_smoke)
    del expected["installed_at"], expected["testing_module"]
    assert got == expected
    # The store alone (no sim extra): the command line says which extra, in one line, exit 2.
    for argv in (["-m", "dnsrace", "--help"], [str(venv / "bin" / "dnsrace"), "--help"]):
        cmd = [str(python), "-I", *argv] if argv[0] == "-m" else argv
        cli = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert cli.returncode == 2, (cli.stdout, cli.stderr)
        assert cli.stderr.count("\n") == 1 and "pip install 'dnsrace[sim]'" in cli.stderr
