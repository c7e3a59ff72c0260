"""The days-since-exposure view (docs/statistics.md §Views), assembled from the stored daily
views: day ``k`` holds, for every unit, its events of the ``k``-th UTC day after the day of
its first exposure (day 0 is the exposure day itself).

Every daily view keeps its sums split by the day each unit was first exposed (``cohorts``)
and the units first exposed that day (``newUnits``), so day ``k`` is the sum over exposure
days ``c`` of the cohort of ``c`` on day ``c + k``. A mean metric averages over every unit
that has reached day ``k`` (first exposed at least ``k`` days before the last day with data),
0 for the units that logged nothing that day; a ratio metric keeps to the units with a
non-zero denominator that day, as in the daily view. No CUPED, no winsorization, never
sequential."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

# What a day's metric entry keeps of the stored daily entries, besides its own sums.
ENTRY_KEYS = ("metricID", "metricName", "type", "directionality", "role", "ratio")


def _ordinal(ds: str) -> int:
    return date.fromisoformat(ds).toordinal()


def _add(total: dict[str, float], sums: Mapping[str, float]) -> None:
    for key, value in sums.items():
        total[key] = total.get(key, 0.0) + float(value)


def day_count(daily: Sequence[Mapping[str, Any]]) -> int:
    """How many days since exposure the stored daily views cover: from the first exposure day
    to the last day with data."""
    exposure_days = [_ordinal(d["ds"]) for d in daily if d.get("newUnits")]
    if not exposure_days:
        return 0
    return max(_ordinal(d["ds"]) for d in daily) - min(exposure_days) + 1


def since_exposure_view(daily: Sequence[Mapping[str, Any]], k: int) -> dict[str, Any] | None:
    """Day ``k`` since exposure as a result document ``results.metric_results`` reads
    (``units`` and ``metrics`` with per-group ``sums``), from the stored daily views
    (``daily``, any order); None when no unit has reached day ``k``."""
    if not daily or k < 0:
        return None
    last = max(_ordinal(d["ds"]) for d in daily)
    reached: dict[str, int] = {}
    for view in daily:
        if _ordinal(view["ds"]) + k <= last:
            for grp, count in (view.get("newUnits") or {}).items():
                reached[grp] = reached.get(grp, 0) + int(count)
    if not reached:
        return None
    latest = max(daily, key=lambda d: d["ds"])
    entries: dict[str, dict[str, Any]] = {}
    for entry in latest.get("metrics") or []:
        entries[entry["metricID"]] = {
            **{key: entry.get(key) for key in ENTRY_KEYS},
            "sums": {},
        }
    for view in daily:
        day = _ordinal(view["ds"])
        for entry in view.get("metrics") or []:
            target = entries.get(entry["metricID"])
            if target is None:
                continue
            for cohort, by_group in (entry.get("cohorts") or {}).items():
                if day - _ordinal(cohort) != k:
                    continue
                for grp, sums in by_group.items():
                    _add(target["sums"].setdefault(grp, {}), sums)
    for target in entries.values():
        if not target["ratio"]:  # every unit that reached day k counts, 0 where it logged nothing
            target["sums"] = {
                grp: {**target["sums"].get(grp, {"sx": 0.0, "sxx": 0.0}), "n": float(count)}
                for grp, count in reached.items()
            }
    return {
        "ds": latest["ds"],
        "groups": latest.get("groups") or [],
        "units": reached,
        "metrics": list(entries.values()),
    }
