"""The issue's targets, checked on the ratios of one run. A target whose figures are missing
(a peer skipped, a size not in the profile) is a MISS that says why, never a PASS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGET_SIZE = 500_000
REDIS_FACTOR = 1000.0
PY_FACTOR = 50.0
CAS_OVERHEAD = 0.10
NUMPY_FACTOR = 1.5
ANCHOR_FACTOR = 1.5
ANCHOR = "columns_avx2"
"""The fastest bare loop: three columns, one fused pass, compiled for AVX2."""


@dataclass
class Verdict:
    target: str
    verdict: str
    """PASS, MISS or STATED (a figure the issue asks to state, with no threshold)."""
    figure: str


def ok_rows(doc: dict[str, Any], peer: str) -> dict[int, dict[str, Any]]:
    return {r["n"]: r for r in doc.get("peers", []) if r["peer"] == peer and r["status"] == "ok"}


def why_missing(doc: dict[str, Any], peer: str, n: int) -> str:
    for r in doc.get("peers", []):
        if r["peer"] == peer and r["n"] == n and r["status"] != "ok":
            return f"{peer} {r['status']}: {r['reason']}"
    return f"{peer} not measured at {n:,} endpoints in this profile"


def _speedup(doc: dict[str, Any], peer: str, factor: float) -> Verdict:
    label = f"RecordStore CAS batch flip at {TARGET_SIZE:,} >= {factor:g}x {peer}"
    emb, other = ok_rows(doc, "RecordStore").get(TARGET_SIZE), ok_rows(doc, peer).get(TARGET_SIZE)
    if emb is None:
        return Verdict(label, "MISS", why_missing(doc, "RecordStore", TARGET_SIZE))
    if other is None:
        return Verdict(label, "MISS", why_missing(doc, peer, TARGET_SIZE))
    ratio = other["batch_vs_reference"]["if_newer"]
    apart = emb["batch_rate"]["if_newer"] / other["batch_rate"]["if_newer"]
    return Verdict(
        label,
        "PASS" if ratio >= factor else "MISS",
        f"{ratio:,.0f}x (paired in one process; {apart:,.0f}x from the two separate medians)",
    )


def _etcd(doc: dict[str, Any]) -> Verdict:
    label = "RecordStore CAS batch flip vs EtcdStore (stated)"
    etcd = ok_rows(doc, "EtcdStore")
    common = sorted(n for n in etcd if n <= TARGET_SIZE)
    if not common:
        return Verdict(label, "MISS", why_missing(doc, "EtcdStore", TARGET_SIZE))
    n = common[-1]
    ratio = etcd[n]["batch_vs_reference"]["if_newer"]
    note = "" if n == TARGET_SIZE else f" (at {n:,}: the largest size etcd ran in this profile)"
    return Verdict(label, "STATED", f"{ratio:,.0f}x at {n:,} endpoints{note}")


def _overhead(doc: dict[str, Any]) -> Verdict:
    label = f"CAS over LWW overhead, RecordStore batch flip <= {CAS_OVERHEAD:.0%}"
    emb = ok_rows(doc, "RecordStore")
    if not emb:
        return Verdict(label, "MISS", why_missing(doc, "RecordStore", TARGET_SIZE))
    n = TARGET_SIZE if TARGET_SIZE in emb else max(emb)
    over = emb[n]["batch_over_lww"]["if_newer"] - 1.0
    where = "" if n == TARGET_SIZE else f" (at {n:,}: {TARGET_SIZE:,} not in this run)"
    return Verdict(
        label,
        "PASS" if over <= CAS_OVERHEAD else "MISS",
        f"{over:+.1%} at {n:,} endpoints (median of paired rounds){where}",
    )


def _fit(doc: dict[str, Any]) -> Verdict:
    label = "1M endpoints x 4 targets with 3 live plans fits and runs"
    f = doc.get("fit")
    if f is None:
        return Verdict(label, "MISS", "fit section not run")
    size_ok = f["n"] >= 1_000_000
    verdict = "PASS" if f["runs"] and size_ok else "MISS"
    note = "" if size_ok else f" (only {f['n']:,} endpoints in this run)"
    return Verdict(
        label,
        verdict,
        f"{f['n']:,} endpoints, {f['live_plans']} live plans, every flip applied: {f['runs']}; "
        f"RSS {f['rss_bytes'] / 2**20:,.0f} MiB ({f['bytes_per_endpoint']:.0f} B per endpoint "
        f"of growth, peak {f['max_rss_bytes'] / 2**20:,.0f} MiB){note}",
    )


def _numpy(doc: dict[str, Any], what: str, figure: str, size: int) -> Verdict:
    """RecordStore at least NUMPY_FACTOR times the numpy peer on one paired figure."""
    label = f"RecordStore {what} >= {NUMPY_FACTOR:g}x the numpy peer"
    row = ok_rows(doc, "numpy").get(size)
    if row is None:
        return Verdict(label, "MISS", why_missing(doc, "numpy", size))
    value: Any = row
    for key in figure.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    if value is None:
        return Verdict(label, "MISS", f"no {figure} in the numpy row at {size:,}")
    best = ""
    if figure == "batch_vs_reference.if_newer":
        best = f"; {row['batch_best_vs_reference']['if_newer']:.2f}x between the best calls"
    return Verdict(
        label,
        "PASS" if float(value) >= NUMPY_FACTOR else "MISS",
        f"{float(value):.2f}x at {size:,} endpoints (paired in one process{best})",
    )


def _anchor(doc: dict[str, Any]) -> Verdict:
    label = f"RecordStore CAS batch flip within {ANCHOR_FACTOR:g}x of the fused columnar Rust loop"
    a = doc.get("anchor")
    if a is None or a.get("status") != "ok":
        return Verdict(label, "MISS", "anchor not run" if a is None else a["reason"])
    v = a["variants"].get(ANCHOR)
    if v is None:
        return Verdict(label, "MISS", f"no {ANCHOR} variant (AVX2: {a['avx2']})")
    # From Python (another process than the loops' own) and the core store in the loops'
    # process (same process, no binding): the verdict takes the worse.
    ratio = v["recordstore_over_this"]
    best = a["recordstore_best_s"] / v["best_seconds"]
    core = a["variants"]["store"]["seconds"] / v["seconds"]
    return Verdict(
        label,
        "PASS" if max(ratio, core) <= ANCHOR_FACTOR else "MISS",
        f"from Python {ratio:.2f}x at {a['n']:,} endpoints ({a['recordstore_s'] * 1e3:.2f} ms "
        f"vs {v['seconds'] * 1e3:.2f} ms, medians of paired rounds; {best:.2f}x between the "
        f"best calls); the core's flip_many in the loops' own process {core:.2f}x",
    )


def check(doc: dict[str, Any]) -> list[Verdict]:
    cas = doc.get("settings", {}).get("cas_size", TARGET_SIZE)
    return [
        _numpy(
            doc, f"CAS batch flip at {TARGET_SIZE:,}", "batch_vs_reference.if_newer", TARGET_SIZE
        ),
        _anchor(doc),
        _numpy(
            doc, f"aliases(output='numpy') at {TARGET_SIZE:,}", "read_vs_reference", TARGET_SIZE
        ),
        _numpy(doc, "batch acquire_leases", "lease_batch_vs_reference.acquire", cas),
        _speedup(doc, "Redis", REDIS_FACTOR),
        _speedup(doc, "PyRecordStore", PY_FACTOR),
        _etcd(doc),
        _overhead(doc),
        _fit(doc),
    ]
