"""``REPORT.md`` from one results document (``suite.json``): the machine, the date and the
commit, the targets, then one section per sweep, and the figures. The summary sits between
``SUMMARY_BEGIN`` and ``SUMMARY_END``; ``python -m bench.suite.readme`` copies it into the
docs site's benchmark guide (``make bench-summary``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.suite.peers.base import LEASE_OPS, MODES
from bench.suite.peers.registry import PEERS, REFERENCE
from bench.suite.targets import TARGET_SIZE, Verdict, check, ok_rows

SUMMARY_BEGIN = "<!-- bench-summary:begin -->"
SUMMARY_END = "<!-- bench-summary:end -->"
SECTION_TITLES = (
    "## Targets",
    "## 1. Peers side by side",
    "## 2. CAS vs last-write-wins",
    "## 3. Contention on the embedded store",
    "## 4. Simulation cost vs fleet size",
    "## 5. Violation curves",
    "## 6. Fit: 1M endpoints",
    "## 7. Campaigns: exploration runs per second by workers",
    "## 8. Samplers: runs to the first violation",
    "## Figures",
)
SIDE_TABLES = {
    "campaign.md": "python -m bench.campaign",
    "samplers.md": "python -m bench.samplers",
}
"""Tables that their own generators write beside ``suite.json`` (each takes minutes to tens of
minutes, so the suite does not rerun them): the report includes the latest of each."""


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out.extend("| " + " | ".join(r) + " |" for r in rows)
    return [*out, ""]


def _rate(x: float) -> str:
    return f"{x:,.0f}"


def _dur(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.2f} us"
    return f"{s * 1e9:.0f} ns"


def _not_ok(r: dict[str, Any]) -> str:
    return f"**{r['status']}**: {r['reason']}"


def _targets(verdicts: list[Verdict]) -> list[str]:
    return _table(
        ["target", "verdict", "figure (ratios from this run)"],
        [[v.target, f"**{v.verdict}**", v.figure] for v in verdicts],
    )


def _peer_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    order = {p: k for k, p in enumerate(PEERS)}
    rows = [r for r in doc.get("peers", []) if r["n"] in doc["settings"]["sizes"]]
    return sorted(rows, key=lambda r: (r["n"], order.get(r["peer"], 99)))


def _peers(doc: dict[str, Any]) -> list[str]:
    rows = []
    for r in _peer_rows(doc):
        name = f"{r['peer']}"
        if r["status"] != "ok":
            rows.append([f"{r['n']:,}", name, _not_ok(r), "", "", "", "", "", ""])
            continue
        cas, lww = r["batch_rate"]["if_newer"], r["batch_rate"]["lww"]
        ratio = f"{r['batch_vs_reference']['if_newer']:,.1f}x"
        read = r.get("read_vs_reference")
        rows.append(
            [
                f"{r['n']:,}",
                name,
                _rate(cas),
                ratio,
                "-" if read is None else f"{read:,.2f}x",
                _rate(lww),
                f"{r['batch_over_lww']['if_newer']:.2f}",
                f"{r['bytes_per_endpoint']:,.0f}",
                f"{r['load_s']:.1f}",
            ]
        )
    lines = [
        "Every store operation at every size on a fresh store (a child process of its own): the",
        "batch flip over every endpoint, generation CAS (`if_newer`) and last-write-wins (`lww`),",
        "interleaved round by round; every timed flip applied on every endpoint (checked). Rates",
        "are medians over rounds. RecordStore / store: the peer's time over that of a RecordStore",
        "of the same size in the same process, timed right after it in the same mode (median",
        "of 5), median over rounds: the machine is shared, and calls made moments apart see the",
        "same load, where two medians taken minutes apart need not. Bytes per endpoint: RSS",
        "growth (in-process stores, names included), `used_memory` growth (Redis), database growth",
        "after compaction and defragmentation (etcd); 3 live plans x 4 targets each.",
        "",
    ]
    return (
        lines
        + _table(
            [
                "endpoints",
                "store",
                "CAS batch endpoints/s",
                "RecordStore / store",
                "aliases read: RecordStore / store",
                "LWW batch endpoints/s",
                "CAS / LWW time",
                "bytes / endpoint",
                "load s",
            ],
            rows,
        )
        + _anchor(doc)
    )


def _anchor(doc: dict[str, Any]) -> list[str]:
    a = doc.get("anchor")
    if a is None:
        return []
    lines = [
        "**The physical anchor**: bare single-threaded Rust loops doing the work of the",
        "`if_newer` batch flip over every endpoint (`rust/bench/src/bin/anchor.rs`: newer than",
        "the alias? then rollback, alias, version; no locks, no validation, no tree look-up),",
        "in a process of their own, alternating round by round with `RecordStore.flip_many(None,",
        "g, 'if_newer')` called from Python here (median of 7 calls each per round); `store` is",
        "the core's own `flip_many` inside the anchor process (no Python).",
        "",
    ]
    if a.get("status") != "ok":
        return [*lines, f"Not run: {a.get('reason')}", ""]
    names = {
        "store": "core Store::flip_many (Rust, same process as the loops)",
        "rows56": "56-byte records (the store's layout before the hot columns), baseline target",
        "rows56_avx2": "56-byte records, AVX2",
        "columns": "alias, rollback, version columns, one fused pass, baseline target",
        "columns_avx2": "columns, one fused pass, AVX2 (the anchor of the targets)",
    }
    rows = [
        [names.get(k, k), _dur(v["seconds"]), f"{v['recordstore_over_this']:.2f}x"]
        for k, v in a["variants"].items()
    ]
    lines += _table(
        [
            f"loop ({a['n']:,} endpoints; AVX2 here: {a['avx2']})",
            "per call",
            "RecordStore / loop",
        ],
        rows,
    )
    return [*lines, f"RecordStore from Python: {_dur(a['recordstore_s'])} per call.", ""]


def _profile_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    n = doc["settings"]["cas_size"]
    order = {p: k for k, p in enumerate(PEERS)}
    rows = [r for r in doc.get("peers", []) if r["n"] == n and r["profile"]]
    return sorted(rows, key=lambda r: order.get(r["peer"], 99))


def _cas(doc: dict[str, Any]) -> list[str]:
    rows = _profile_rows(doc)
    n = doc["settings"]["cas_size"]
    lines = [
        f"At {n:,} endpoints, per store: each mode's time over `lww` in the same round (median of",
        "paired rounds), for one batch call over every endpoint and for single calls (one call",
        "per endpoint); fenced = `lww` with a fencing token checked by the store. Leases: time",
        "per endpoint of acquire, renew and release, over the time per endpoint of an `lww` flip",
        "of the same kind (batch or single). `-`: the store has no such batch call.",
        "",
    ]
    batch, single, leases = [], [], []
    for r in rows:
        if r["status"] != "ok":
            batch.append([r["peer"], _not_ok(r), "", "", ""])
            continue
        lww_b = r["batch_s"]["lww"] / r["n"]
        lww_s = r["single_s"]["lww"]
        batch.append(
            [r["peer"], _dur(lww_b)] + [f"{r['batch_over_lww'][m]:.2f}x" for m in MODES[1:]]
        )
        single.append(
            [r["peer"], _dur(lww_s)] + [f"{r['single_over_lww'][m]:.2f}x" for m in MODES[1:]]
        )
        cells = [r["peer"]]
        for op in LEASE_OPS:
            b = r["lease_batch_s"][op]
            cells.append("-" if b is None else f"{_dur(b)} ({b / lww_b:.2f}x)")
        for op in LEASE_OPS:
            s = r["lease_single_s"][op]
            cells.append(f"{_dur(s)} ({s / lww_s:.2f}x)")
        leases.append(cells)
    lines += ["**Batch flips** (time per endpoint of `lww`, then ratios over it):", ""]
    lines += _table(["store", "lww per endpoint", "if_newer", "exact", "fenced"], batch)
    lines += ["**Single calls** (time per call of `lww`, then ratios over it):", ""]
    lines += _table(["store", "lww per call", "if_newer", "exact", "fenced"], single)
    lines += ["**Leases** (per endpoint, and over an `lww` flip of the same kind):", ""]
    lines += _table(
        ["store", *[f"batch {op}" for op in LEASE_OPS], *[f"single {op}" for op in LEASE_OPS]],
        leases,
    )
    vs = []
    for r in rows:
        if r["status"] != "ok" or r["peer"] == REFERENCE:
            continue
        vs.append(
            [r["peer"]]
            + [f"{r['batch_vs_reference'][m]:,.1f}x" for m in MODES]
            + [f"{r['single_vs_reference'][m]:,.1f}x" for m in MODES]
            + [_lease_ratio(r, op) for op in LEASE_OPS]
        )
    if vs:
        lines += [
            "**Each store's time over RecordStore's**, same mode and call kind (a RecordStore",
            "timed right after it in the same process, median over rounds):",
            "",
        ]
        lines += _table(
            [
                "store",
                *[f"batch {m}" for m in MODES],
                *[f"single {m}" for m in MODES],
                *[f"batch {op}" for op in LEASE_OPS],
            ],
            vs,
        )
    return lines


def _lease_ratio(r: dict[str, Any], op: str) -> str:
    v = r.get("lease_batch_vs_reference", {}).get(op)
    return "-" if v is None else f"{v:,.2f}x"


def _contention(doc: dict[str, Any]) -> list[str]:
    rows = doc.get("contention", [])
    if not rows:
        return ["(not run in this profile)", ""]
    s = doc["settings"]
    one = {(r["kind"], r["mode"], r["sets"]): r["flips_per_s"] for r in rows if r["threads"] == 1}
    table = [
        [
            r["kind"],
            r["mode"],
            r["sets"],
            str(r["threads"]),
            _rate(r["flips_per_s"]),
            f"{r['flips_per_s'] / one[(r['kind'], r['mode'], r['sets'])]:.2f}x",
            f"{r['applied_share']:.0%}",
        ]
        for r in rows
    ]
    return [
        f"RecordStore, {s['contention_batch']:,} endpoints per thread: each thread flips its set",
        f"{s['contention_iters']} times in batch calls (`flip_many` of an `array('I')`), or makes",
        f"{s['contention_singles']:,} single `flip` calls; overlapping = every thread on the same",
        "endpoints, disjoint = a slice each. Aggregate endpoint flips attempted per second (best",
        f"of {s['contention_rounds']}), the scaling over one thread, and the share applied",
        "(`if_newer` refuses a thread's flip when another already put a newer plan there).",
        f"The machine has {doc['machine']['cores']} cores, shared: more threads than cores only",
        "show that contention costs little, not a speed-up.",
        "",
        *_table(["call", "mode", "sets", "threads", "flips/s", "vs 1 thread", "applied"], table),
    ]


def _where(doc: dict[str, Any]) -> list[str]:
    """Where the scenario sweeps' cells ran, when that is not this process alone (their
    timings are then of other processes or machines, next to other cells)."""
    c = doc.get("campaign")
    if c is None or (c["executor"] == "local" and c["workers"] == 1):
        return []
    at = f" at {c['address']}" if c.get("address") else ""
    return [
        f"Its cells ran as jobs of a {c['executor']} campaign{at}, {c['workers']} at a time: "
        "each wall time is of the process (and machine) that ran the cell, beside the others "
        "(docs/guide/campaigns.md).",
    ]


def _sim(doc: dict[str, Any]) -> list[str]:
    sim = doc.get("sim")
    if not sim:
        return ["(not run in this profile)", ""]
    rows = [
        [
            r["preset"],
            f"{r['endpoints']:,}",
            f"{r['timing']['wall_s']:.2f}",
            f"{r['timing']['store_s']:.2f}",
            f"{r['timing']['store_share']:.0%}",
            f"{r['flip_attempts']:,}",
        ]
        for r in sim["rows"]
    ]

    def fmt(e: float | None) -> str:
        return "-" if e is None else f"{e:.2f}"

    top = sim["timing"].get("exponent_top", {})
    exps = [[p, fmt(e), fmt(top.get(p))] for p, e in sim["timing"]["exponent"].items()]
    sizes = ", ".join(f"{n:,}" for n in doc["settings"]["sim_sizes"])
    hour = doc["settings"].get("sim_duration_s")
    span = "one simulated hour" if hour is None else f"{hour:g} s of publishing (shortened)"
    return [
        f"The incident replay (`dnsrace incident`'s scenario: {span} plus the drain,",
        f"virtual clock, seed 1) per preset at {sizes} endpoints: wall time, seconds",
        "inside store calls and their share of the wall time (the rest is the simulator's",
        "Python).",
        *_where(doc),
        "",
        *_table(["preset", "endpoints", "wall s", "store s", "store share", "flip attempts"], rows),
        "Fitted exponent of wall time against endpoints (least squares on log-log; 1.0 =",
        "linear), over every size and between the two largest (where the fixed cost of the",
        "simulated hour, the same at any fleet size, weighs least):",
        "",
        *_table(["preset", "exponent, all sizes", "exponent, two largest"], exps),
    ]


_AXIS_LABEL = {
    "pause": "pause median / lease TTL",
    "enactors": "enactors",
    "rate": "plans per minute",
}


def _violations(doc: dict[str, Any]) -> list[str]:
    rows = doc.get("violations", [])
    if not rows:
        return ["(not run in this profile)", ""]
    from bench.suite.sweeps.violations import DURATION_S, ENDPOINTS, TTL_S

    presets = list(dict.fromkeys(r["preset"] for r in rows))
    runs = rows[0]["runs"]
    lines = [
        f"`dnsrace explore` (its API, `dnsrace.sim.explore.explore_preset`): {runs} seeded runs",
        f"(random schedule, seeds 1..{runs}) per point and preset, on the incident scenario at",
        f"{ENDPOINTS} endpoints with {DURATION_S:g} s of publishing, lease TTL {TTL_S:g} s. A cell",
        "is violating runs / runs, then in brackets the seeds to the first violation (`-`: none).",
        "A violation is a stale flip, an empty answer, a stuck endpoint or a plan never converged.",
        "",
    ]
    for axis in dict.fromkeys(r["axis"] for r in rows):
        values = list(dict.fromkeys(r["value"] for r in rows if r["axis"] == axis))
        cell = {(r["value"], r["preset"]): r for r in rows if r["axis"] == axis}
        table = []
        for v in values:
            cells = [f"{v:g}"]
            for p in presets:
                r = cell[(v, p)]
                first = "-" if r["seeds_to_first"] is None else str(r["seeds_to_first"])
                cells.append(f"{r['violating_runs']}/{r['runs']} ({first})")
            table.append(cells)
        lines += [f"**{_AXIS_LABEL.get(axis, axis)}**", ""]
        lines += _table([_AXIS_LABEL.get(axis, axis), *presets], table)
    flat = [
        p
        for p in ("cas", "fenced")
        if p in presets and all(r["violating_runs"] == 0 for r in rows if r["preset"] == p)
    ]
    if flat:
        lines += [f"Measured flat at zero: {', '.join(flat)}.", ""]
    bad = [p for p in ("cas", "fenced") if p in presets and p not in flat]
    if bad:
        lines += [f"**Not flat at zero: {', '.join(bad)}** (see the cells above).", ""]
    return lines


def _fit(doc: dict[str, Any]) -> list[str]:
    f = doc.get("fit")
    if f is None:
        return ["(not run in this profile)", ""]
    return [
        f"One RecordStore in a fresh process: {f['n']:,} endpoints x {f['targets']} targets, plans",
        f"1..{f['live_plans']} stored, every endpoint flipped to 1 (`lww`), then to 2 and 3",
        f"(`if_newer`; applied: {', '.join(f'{a:,}' for a in f['flips_applied'])}). RSS after:",
        f"{f['rss_bytes'] / 2**20:,.0f} MiB (growth {f['rss_growth_bytes'] / 2**20:,.0f} MiB,",
        f"{f['bytes_per_endpoint']:.0f} B per endpoint with its name; peak",
        f"{f['max_rss_bytes'] / 2**20:,.0f} MiB); {f['wall_s']:.1f} s.",
        "",
    ]


FIGURES = (
    ("throughput.png", "Batch CAS flip throughput vs endpoints, per store (log-log)"),
    ("cas_overhead.png", "CAS, exact and fenced flips over LWW, per store"),
    ("contention.png", "Contention scaling on the embedded store"),
    ("sim_cost.png", "Simulation cost vs fleet size"),
    ("violations.png", "Violating runs vs pause/TTL, enactors and plan rate"),
)


def _summary(
    doc: dict[str, Any], verdicts: list[Verdict], command: str, location: str
) -> list[str]:
    m = doc["machine"]
    n = TARGET_SIZE
    ref = ok_rows(doc, REFERENCE).get(n)
    lines = [
        SUMMARY_BEGIN,
        f"Generated by `{command}` ({doc['profile']} profile, {doc['wall_s'] / 60:.1f} min) on "
        f"{m['date']}, commit `{m['commit']}`{' (uncommitted changes)' if m['dirty'] else ''}; "
        f"{m['cpu']}, {m['cores']} cores shared with other work (load {m['load_1m']:.1f} at "
        "the start). Every ratio is against `RecordStore` measured in the same run; full "
        f"report: [{location}]({location}).",
        "",
        *_targets(verdicts),
    ]
    if ref is not None:
        rows = []
        for r in _peer_rows(doc):
            if r["n"] != n:
                continue
            if r["status"] != "ok":
                rows.append([r["peer"], _not_ok(r), "", ""])
                continue
            cas = r["batch_rate"]["if_newer"]
            rows.append(
                [
                    r["peer"],
                    _rate(cas),
                    f"{r['batch_vs_reference']['if_newer']:,.1f}x",
                    f"{r['bytes_per_endpoint']:,.0f}",
                ]
            )
        lines += [f"Batch CAS flip at {n:,} endpoints:", ""]
        lines += _table(["store", "endpoints/s", "RecordStore / store", "bytes / endpoint"], rows)
    return [*lines, SUMMARY_END]


def _side_table(out: Path | None, name: str) -> list[str]:
    path = None if out is None else out / name
    if path is None or not path.is_file():
        return [f"Not measured in this folder: `{SIDE_TABLES[name]} --out DIR` writes it.", ""]
    return [path.read_text(encoding="utf-8").rstrip(), ""]


def render(
    doc: dict[str, Any],
    command: str,
    location: str = "bench/results/REPORT.md",
    out: Path | None = None,
) -> str:
    verdicts = check(doc)
    m = doc["machine"]
    s = doc["settings"]
    lines = [
        "# dnsrace benchmark report",
        "",
        f"- profile: **{doc['profile']}**, command `{command}`, {doc['wall_s'] / 60:.1f} min",
        f"- date: {m['date']}; commit `{m['commit']}`" + (" (dirty)" if m["dirty"] else ""),
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB, Linux {m['kernel']}, "
        f"Python {m['python']}; load {m['load_1m']:.2f} at the start (shared machine: absolute "
        "times are noisy, ratios within one run are the result)",
        f"- peer sizes: {', '.join(f'{n:,}' for n in s['sizes'])}"
        + "".join(f"; {p} up to {v:,}" for p, v in s["peer_max"].items())
        + f"; CAS profile at {s['cas_size']:,}",
        "",
        "## Targets",
        "",
        *_summary(doc, verdicts, command, location),
        "",
        "## 1. Peers side by side",
        "",
        *_peers(doc),
        "## 2. CAS vs last-write-wins",
        "",
        *_cas(doc),
        "## 3. Contention on the embedded store",
        "",
        *_contention(doc),
        "## 4. Simulation cost vs fleet size",
        "",
        *_sim(doc),
        "## 5. Violation curves",
        "",
        *_violations(doc),
        "## 6. Fit: 1M endpoints",
        "",
        *_fit(doc),
        "## 7. Campaigns: exploration runs per second by workers",
        "",
        *_side_table(out, "campaign.md"),
        "## 8. Samplers: runs to the first violation",
        "",
        *_side_table(out, "samplers.md"),
        "## Figures",
        "",
    ]
    for name, title in FIGURES:
        lines += [f"![{title}]({name})", ""]
    lines += [
        "## How it is measured",
        "",
        "- numpy: what a simulation author would write instead (`bench/suite/peers/numpy_store`),",
        "  int64 columns (alias, rollback, version, highest fence; lease holder, token, expiry),",
        "  each batch a few whole-array passes with one preallocated mask, in-place updates",
        "  (`np.greater(..., out=)`, `np.putmask`, the mask added to the version), the",
        "  per-endpoint tree test skipped for plans that cover every endpoint, the dangling test",
        "  skipped while no plan was deleted (cheaper than the store's check), no counters but",
        "  the applied count; the masked writes timed against their alternatives, fastest kept.",
        "  Reads return a copy of the alias column (the store returns a fresh array too); leases",
        "  gather, decide and scatter by fancy indexing over an int64 id array made untimed.",
        "- Redis (the strongest configuration we know): `redis-server` on a free loopback port,",
        "  no RDB or AOF, started and stopped by the benchmark; every batch is one server-side Lua",
        "  loop per chunk of 1,000 endpoints (one EVALSHA per chunk, all chunks in one pipeline):",
        "  flips (tree present unless the plan is marked full, fence, condition, then alias,",
        "  rollback, version and fence in one HSET), lease acquire (`HINCRBY` token, `SET PX`),",
        "  renew, release and alias reads; redis-py with the hiredis parser. No dangling test",
        "  (less work than the store). `Redis per-key pipelined`: the same data with one EVALSHA",
        "  per endpoint through pipelines of 1,000 (last-write-wins: pipelined `HSET` of the",
        "  alias alone), kept for comparison. Most of its time is redis-py encoding here.",
        "- Bare Rust loops: `cargo run --release -p dnsrace-bench --bin anchor` (release",
        "  profile, thin LTO), the AVX2 copies chosen at run time as the store's kernel is.",
        "- Reads (`aliases`) and batch leases (acquire, renew, release over the same ids) are",
        "  paired with a RecordStore in the same process as the flips are; RecordStore reads",
        "  with `output='numpy'` and takes numpy ids; its tokens come as a numpy array where the",
        "  binding offers `output=` on `acquire_leases`, otherwise as the list it returns.",
        "  Both copy a whole column on the calling thread (one core copies 4 MB at ~14 GB/s",
        "  here, the rate of a `memcpy`: reads plus read-for-ownership of the output).",
        "- EtcdStore: one loopback member (`LocalCluster`, data in memory), the store's own",
        "  batched Txns. Redis and etcd run 3 rounds up to 10,000 endpoints, then 1 (a median",
        "  of one round is one measurement: their ratios are coarser).",
        "- Single calls: at most 200 per mode for Redis and etcd (one round trip each).",
        "",
    ]
    return "\n".join(lines)


def write(doc: dict[str, Any], out: Path, command: str) -> tuple[Path, list[Verdict]]:
    path = out / "REPORT.md"
    path.write_text(render(doc, command, path.as_posix(), out))
    return path, check(doc)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.suite.report DIR [COMMAND]``: write DIR/REPORT.md again from
    DIR/suite.json (the same figures; after a change to the report's layout)."""
    import sys

    import orjson

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "bench/results")
    doc = orjson.loads((out / "suite.json").read_bytes())
    command = doc.get("command") or (args[1] if len(args) > 1 else "python -m bench.suite")
    path, _ = write(doc, out, command)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
