"""One meaning per word (issue 18): a *stale flip* is an applied flip that lowered the alias
(``stats()["stale_flips"]``); a flip refused by its mode's condition is *outdated*
(``FlipCounts.outdated``, ``Outcome.OUTDATED``, ``stats()["outdated_rejections"]``). The old
names of the refused kind work for one release with a DeprecationWarning. Both stores."""

from __future__ import annotations

from typing import Any

import pytest

from dnsrace import FlipCounts, Outcome


def _store(any_store: Any) -> Any:
    s = any_store.Store()
    s.add_endpoints(["a.example", "b.example"])
    for g in (1, 2):
        s.put_plan(any_store.Plan(g, {0: [(f"10.0.0.{g}", 1)], 1: [(f"10.0.1.{g}", 1)]}))
    return s


def test_outdated_and_stale_are_counted_apart(any_store: Any) -> None:
    s = _store(any_store)
    s.flip_many([0, 1], 2)
    refused = s.flip_many([0, 1], 1, outcomes=True)  # if_newer refuses: outdated
    assert refused.counts.outdated == 2 and refused.counts.applied == 0
    assert list(refused.outcomes) == [Outcome.OUTDATED] * 2
    lowered = s.flip_many([0], 1, "lww")  # applied, lowers the alias: a stale flip
    assert lowered.applied == 1 and lowered.outdated == 0
    stats = s.stats()
    assert stats["outdated_rejections"] == 2 and stats["stale_flips"] == 1
    assert "stale_rejections" not in stats


def test_old_names_warn_and_still_work(any_store: Any) -> None:
    s = _store(any_store)
    s.flip(0, 2)
    counts = s.flip_many([0], 1)
    with pytest.warns(DeprecationWarning, match="outdated"):
        assert counts.stale == 1
    with pytest.warns(DeprecationWarning, match="OUTDATED"):
        assert Outcome.STALE is Outcome.OUTDATED
    stats = s.stats()
    with pytest.warns(DeprecationWarning, match="outdated_rejections"):
        assert stats["stale_rejections"] == 1
    with pytest.warns(DeprecationWarning):
        assert stats.get("stale_rejections") == 1
    assert stats.get("no_such_key", -1) == -1
    with pytest.raises(KeyError):
        stats["no_such_key"]


def test_flip_counts_fields() -> None:
    assert FlipCounts._fields == ("applied", "outdated", "fenced", "missing", "dangling")
