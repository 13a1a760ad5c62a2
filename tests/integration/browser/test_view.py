"""``dnsrace view``: the self-contained HTML timeline, its bad input, and the page in a real
headless browser (Debian's chromium and chromedriver, driven by selenium).

The browser tests count what the page drew against what the run's JSON holds (every flip of
the regional endpoint, every publication, pass, lock wait and clean-up, one lane per enactor
plus the planner and the operator), and for a hand-made illegal history with its checker
result, the bars, the failing window and the linearisation. Screenshots are kept under
``results/test-artifacts/``. ``make test`` installs the browser and sets
``DNSRACE_REQUIRE_BROWSER=1``: there a missing browser fails; elsewhere the tests skip.
"""

from __future__ import annotations

import functools
import importlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dnsrace.app.cli import main
from dnsrace.app.report import build_document, dumps
from dnsrace.app.view import read_history, render_history, render_run
from dnsrace.sim.disciplines import lookup
from dnsrace.sim.runner import run_discipline
from dnsrace.sim.scenario import incident_scenario
from requirements import require

DATA = Path(__file__).resolve().parents[3] / "tests" / "data"
HISTORY = DATA / "history-illegal.jsonl"
CHECK = DATA / "history-illegal.check.json"
ARTIFACTS = Path(__file__).resolve().parents[3] / "results" / "test-artifacts"


def _store() -> str:
    try:
        importlib.import_module("dnsrace._core")
    except ImportError:
        return "reference"
    return "rust"


@functools.cache
def run_document() -> dict[str, Any]:
    """The incident at 1,000 endpoints, seed 2: aws2025 (stale flips, a stuck window, the
    alarm and the repair, a stale flip published before the first view) beside cas. (Seed 1
    lost that late flip when enactors began to start from the applied plan.)"""
    scenario = incident_scenario(seed=2, endpoints=1000)
    results = [run_discipline(scenario, lookup(n), store=_store()) for n in ("aws2025", "cas")]
    doc: dict[str, Any] = json.loads(dumps(build_document(scenario, results)))
    return doc


# ------------------------------------------------------------------------------ the page


@pytest.mark.slow
def test_run_page_is_one_self_contained_file() -> None:
    page = render_run(run_document())
    assert page.startswith("<!DOCTYPE html>")
    # Nothing fetched: no external script, sheet, image or font; the only URL is the SVG
    # namespace the script names.
    for needle in ("<script src", '<link rel="stylesheet"', "<img", "@import", "url(http"):
        assert needle not in page
    assert page.replace("http://www.w3.org/2000/svg", "").count("http") == 0
    assert render_run(run_document()) == page  # same document, same bytes


@pytest.mark.slow
def test_run_json_carries_the_timeline_the_page_draws() -> None:
    doc = run_document()
    tl = doc["timelines"]["aws2025"]
    assert tl["enactor_names"] == ["A", "B", "C"]
    assert any(f["outcome"] == "stale" for f in tl["flips"])
    assert tl["stuck"] and tl["automation_off"] and tl["repairs"]
    assert {p["result"] for p in tl["passes"]} >= {"applied"}
    assert len(tl["lock_waits"]) == doc["results"]["aws2025"]["lock_retries"]
    assert len(tl["cleanups"]) == doc["results"]["aws2025"]["cleanups"]
    assert sum(c[3] for c in tl["cleanups"]) == doc["results"]["aws2025"]["deleted_trees"]
    # The stuck window opens at a clean-up's delete call.
    assert any(c[0] == tl["stuck"][0][0] for c in tl["cleanups"])


@pytest.mark.slow
def test_data_cannot_end_the_script_element() -> None:
    doc = json.loads(json.dumps(run_document()))
    doc["scenario"] = "</script><script>alert(1)</script>"
    page = render_run(doc)
    assert "</script><script>alert(1)" not in page
    assert page.count("</script>") == 2  # the data's and the code's own


# ------------------------------------------------------------------------------ command line


def _view(tmp_path: Path, content: str | bytes, name: str, *extra: str) -> tuple[int, Path]:
    src = tmp_path / name
    if isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content)
    out = tmp_path / "out.html"
    return main(["view", str(src), "-o", str(out), *extra]), out


def _op(**over: Any) -> str:
    op: dict[str, Any] = {
        "client": 0,
        "endpoint": 0,
        "op": "read",
        "call": 10,
        "return": 20,
        "input": {},
        "output": {"alias": 1, "rollback": None, "version": 1},
    }
    op.update(over)
    return json.dumps(op)


GOOD = _op()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (GOOD + "\n" + GOOD[:30], "h.jsonl:2: truncated"),
        (GOOD + "\n" + GOOD[:30] + "\n", "h.jsonl:2: not JSON"),
        (GOOD + "\n" + _op(client="0") + "\n", "h.jsonl:2: client: must be an integer"),
        (_op(op="teleport") + "\n", "h.jsonl:1: op: unknown operation 'teleport'"),
        (_op(call=30, **{"return": 20}) + "\n", "h.jsonl:1: return 20 is before call 30"),
        (_op(call=50, **{"return": 60}) + "\n" + GOOD + "\n", "h.jsonl:2: client 0's call 10"),
        (_op(input=[]) + "\n", "h.jsonl:1: input: must be an object"),
        ("", "h.jsonl: no operations"),
        (GOOD + "\n\n", "h.jsonl:2: empty line"),
    ],
)
def test_bad_history_exits_2_naming_the_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, needle: str
) -> None:
    code, out = _view(tmp_path, content, "h.jsonl")
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err and err.count("\n") == 1, err
    assert not out.exists()


@pytest.mark.slow  # run_document(): the incident at 1,000 endpoints
def test_bad_run_document_exits_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = json.dumps(run_document(), indent=1)
    code, out = _view(tmp_path, text[: len(text) // 2], "run.json")
    err = capsys.readouterr().err
    assert code == 2 and "run.json:" in err and not out.exists(), err
    doc = json.loads(text)
    doc["timelines"]["cas"]["flips"][0]["t"] = "soon"
    code, out = _view(tmp_path, json.dumps(doc), "run.json")
    err = capsys.readouterr().err
    assert code == 2 and "timelines.cas.flips[0].t: must be a num" in err and not out.exists()
    del doc["timelines"]
    code, out = _view(tmp_path, json.dumps(doc), "run.json")
    assert code == 2 and "timelines: missing" in capsys.readouterr().err
    code, out = _view(
        tmp_path, json.dumps(run_document()), "run.json", "--check-result", str(CHECK)
    )
    assert code == 2 and "--check-result: only for a history" in capsys.readouterr().err


def test_bad_check_result_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = json.loads(CHECK.read_text())
    result["illegal"]["window"] = [2, 99]
    bad = tmp_path / "r.json"
    bad.write_text(json.dumps(result))
    code, out = _view(tmp_path, HISTORY.read_text(), "h.jsonl", "--check-result", str(bad))
    err = capsys.readouterr().err
    assert code == 2 and "illegal.window: must be a list of op numbers in 0..7" in err
    assert not out.exists()
    # A result that numbers ops from 1, as the checker writes them, is answered from 1 too.
    result["op_base"] = 1
    bad.write_text(json.dumps(result))
    code, out = _view(tmp_path, HISTORY.read_text(), "h.jsonl", "--check-result", str(bad))
    err = capsys.readouterr().err
    assert code == 2 and "illegal.window: must be a list of op numbers in 1..8" in err


def test_output_path_is_checked_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["view", str(HISTORY), "-o", str(tmp_path / "missing" / "x.html")])
    assert code == 2 and "-o" in capsys.readouterr().err


def test_history_view_without_a_result_says_so(tmp_path: Path) -> None:
    code, out = _view(tmp_path, HISTORY.read_text(), "h.jsonl")
    assert code == 0
    page = out.read_text()
    try:
        importlib.import_module("dnsrace.history")
    except ImportError:
        assert '"note":"no linearizability checker in this build' in page
    ops = read_history(HISTORY)
    assert page.count('"kind":"history"') == 1 and len(ops) == 8


# ------------------------------------------------------------------------------ the browser


def _browser_paths() -> tuple[str | None, str | None]:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    return binary, shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    binary, driver = _browser_paths()
    missing = []
    if binary is None:
        missing.append("chromium")
    if driver is None:
        missing.append("chromedriver (Debian: chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install selenium)")
    need = "headless browser test needs " + ", ".join(missing) + " (make test installs them)"
    require(not missing, "BROWSER", need)
    options = webdriver.ChromeOptions()
    options.binary_location = str(binary)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=options, service=Service(str(driver)))
    try:
        yield drv
    finally:
        drv.quit()


def _load(browser: Any, path: Path) -> list[dict[str, Any]]:
    """Open ``path``; the console messages it logged (the log is emptied first)."""
    browser.get_log("browser")
    browser.get(path.as_uri())
    assert browser.execute_script("return document.body.getAttribute('data-ready')") == "1"
    logs: list[dict[str, Any]] = browser.get_log("browser")
    return logs


def _count(browser: Any, selector: str, within: str = "") -> int:
    script = "return (arguments[1] ? document.querySelector(arguments[1]) : document)"
    script += ".querySelectorAll(arguments[0]).length"
    n: int = browser.execute_script(script, selector, within)
    return n


def _shot(browser: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    browser.save_screenshot(str(path))
    print(f"screenshot: {path}")
    return path


def test_run_page_in_the_browser(browser: Any, tmp_path: Path) -> None:
    doc = run_document()
    page = tmp_path / "run.html"
    page.write_text(render_run(doc))
    logs = _load(browser, page)
    assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == []
    assert _shot(browser, "view-run.png").stat().st_size > 10_000
    assert _count(browser, "section.panel") == len(doc["timelines"]) == 2
    # The first view is the span of interest: around the stuck window.
    lo, hi = browser.execute_script("return dnsraceView.getWindow()")
    stuck = doc["timelines"]["aws2025"]["stuck"][0]
    assert lo <= stuck[0] <= hi and hi - lo < doc["timelines"]["aws2025"]["end"]
    zoomed_pubs = _count(browser, ".pub")
    # What a window shows: the flips whose arrow (publication -> write) crosses it, so a late
    # stale flip published before the window still appears.
    tl = doc["timelines"]["aws2025"]
    crossing = [f for f in tl["flips"] if min(f["t"], f["published_at"]) <= hi and f["t"] >= lo]
    assert any(f["published_at"] < lo for f in crossing)
    assert _count(browser, "line.flip", 'section[data-discipline="aws2025"]') == len(crossing)
    # Everything: each element of the JSON drawn once, per discipline.
    browser.execute_script("dnsraceView.setWindow(...dnsraceView.range())")
    assert _count(browser, ".pub") > zoomed_pubs
    for name, tl in doc["timelines"].items():
        panel = f'section[data-discipline="{name}"]'
        assert _count(browser, ".lane", panel) == len(tl["enactor_names"]) + 2
        assert _count(browser, "line.flip", panel) == len(tl["flips"])
        assert _count(browser, "line.flip-stale", panel) == sum(
            f["outcome"] == "stale" for f in tl["flips"]
        )
        assert _count(browser, ".pub", panel) == len(tl["publications"])
        assert _count(browser, ".pass", panel) == len(tl["passes"])
        assert _count(browser, ".lockwait", panel) == len(tl["lock_waits"])
        assert _count(browser, ".cleanup", panel) == len(tl["cleanups"])
        assert _count(browser, "rect.stuck", panel) == len(tl["stuck"])
        assert _count(browser, ".alarm", panel) == len(tl["automation_off"])
        assert _count(browser, ".repair-mark", panel) == len(tl["repairs"])
    # The clean-up that emptied the endpoint is marked.
    assert _count(browser, ".cleanup-hit", 'section[data-discipline="aws2025"]') >= 1
    # Zoom (the + button) narrows the window; hovering a stale flip shows its details.
    before = browser.execute_script("return dnsraceView.getWindow()")
    browser.find_element("css selector", "#controls button[title^='zoom in']").click()
    after = browser.execute_script("return dnsraceView.getWindow()")
    assert after[1] - after[0] == pytest.approx((before[1] - before[0]) / 2)
    browser.execute_script("dnsraceView.setWindow(arguments[0], arguments[1])", lo, hi)
    from selenium.webdriver.common.action_chains import ActionChains

    stale = browser.find_element("css selector", "line.flip-stale")
    ActionChains(browser).move_to_element(stale).perform()
    tip = browser.find_element("id", "tip")
    assert tip.is_displayed() and "STALE" in tip.text
    _shot(browser, "view-run-hover.png")
    # Side by side: two columns, each panel narrower, nothing lost.
    width = browser.execute_script("return document.querySelector('svg.chart').clientWidth")
    flips = _count(browser, "line.flip")
    browser.find_element("css selector", "#controls button[title^='panels side by side']").click()
    browser.execute_script("dnsraceView.setWindow(...dnsraceView.getWindow())")
    assert browser.execute_script("return document.querySelector('svg.chart').clientWidth") < (
        width * 0.6
    )
    assert _count(browser, "line.flip") == flips
    _shot(browser, "view-run-columns.png")
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_history_page_in_the_browser(browser: Any, tmp_path: Path) -> None:
    ops = read_history(HISTORY)
    result = json.loads(CHECK.read_text())
    page = tmp_path / "history.html"
    page.write_text(render_history(ops, result))
    logs = _load(browser, page)
    assert [e for e in logs if e["level"] in ("SEVERE", "WARNING")] == []
    _shot(browser, "view-history.png")
    endpoints = {op["endpoint"] for op in ops}
    assert _count(browser, "section.panel") == len(endpoints)
    assert _count(browser, "rect.op") == len(ops)
    for e in endpoints:
        clients = {op["client"] for op in ops if op["endpoint"] == e}
        assert _count(browser, ".lane", f'section[data-endpoint="{e}"]') == len(clients)
    window = result["illegal"]["window"]
    fails = browser.execute_script(
        "return [...document.querySelectorAll('rect.op-fail')].map(r => +r.dataset.op)"
    )
    assert sorted(fails) == sorted(window)
    assert _count(browser, ".fail-window", 'section[data-endpoint="0"]') == 1
    assert _count(browser, "section.illegal") == 1
    assert _count(browser, ".lin-point") == sum(len(v) for v in result["linearizations"].values())
    assert browser.find_element("id", "verdict").text == "illegal"
    assert "alias was 5" in browser.find_element("css selector", "section.illegal .reason").text


def test_history_view_asks_the_checker_for_linearisations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --check-result the viewer calls ``dnsrace.history.check`` (here a stand-in
    returning the saved result) and draws what it says."""
    import inspect
    import types

    from dnsrace import history

    real = inspect.signature(history.check)
    calls: list[tuple[Any, Any]] = []

    def check(*args: Any, **kwargs: Any) -> Any:
        # The viewer's call must fit the real check's signature (not a copy of it here).
        call = real.bind(*args, **kwargs)
        call.apply_defaults()
        given = call.arguments
        calls.append((given["source"], (given["timeout"], given["linearizations"])))
        return json.loads(CHECK.read_text())

    fake = types.ModuleType("dnsrace.history")
    fake.check = check  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "dnsrace.history", fake)
    src = tmp_path / "h.jsonl"
    src.write_text(HISTORY.read_text())
    out = tmp_path / "h.html"
    assert main(["view", str(src), "-o", str(out), "--timeout", "5"]) == 0
    assert calls == [(src.read_bytes(), (5.0, True))]  # the bytes the input door read
    page = out.read_text()
    assert '"verdict":"illegal"' in page and '"fail":[2,3]' in page
    assert '"note":""' in page
