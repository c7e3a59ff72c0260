"""What the console's pages draw, as plain data: the "Δ% ±half-width" text, the significance
of an interval, the geometry of the scorecard's interval bars on one shared axis, sparkline
points, the bars of the checks sparklines, and Chart.js configurations. Templates turn these
into inline SVG and JSON; nothing here renders HTML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Significance = Literal["pos", "neg", "none"]

BAR_WIDTH = 240
BAR_HEIGHT = 22
SPARK_WIDTH = 112
SPARK_HEIGHT = 24
MISSING = "\u2013"  # an en dash, where there is no figure


def percent_text(change: float, half_width: float) -> str:
    """The scorecard's figure for a relative delta: ``+12.34% ±3.21%``."""
    return f"{change:+.2f}% ±{half_width:.2f}%"


def significance(change: float, half_width: float) -> Significance:
    """``pos`` when the whole interval lies above zero, ``neg`` below it, else ``none``."""
    if change - half_width > 0:
        return "pos"
    if change + half_width < 0:
        return "neg"
    return "none"


@dataclass(frozen=True)
class Axis:
    """A shared percent axis for every bar of one scorecard, zero always inside it."""

    low: float
    high: float

    def x(self, value: float, width: int = BAR_WIDTH) -> float:
        span = self.high - self.low
        return round((value - self.low) / span * width, 2)


def axis_for(intervals: Sequence[tuple[float, float]]) -> Axis:
    """The axis covering every ``(change, half_width)`` and zero, with a margin of 5%."""
    ends = [0.0]
    for change, half in intervals:
        ends += [change - half, change + half]
    low, high = min(ends), max(ends)
    if high - low == 0:
        return Axis(-1.0, 1.0)
    margin = (high - low) * 0.05
    return Axis(low - margin, high + margin)


@dataclass(frozen=True)
class Bar:
    """One interval bar: its ends, its point estimate and the zero line, in SVG x units."""

    lower: float
    upper: float
    point: float
    zero: float
    sig: Significance
    label: str
    text: str


def bar(
    axis: Axis, change: float, half_width: float, *, metric: str, group: str, confidence: float
) -> Bar:
    sig = significance(change, half_width)
    verdict = {
        "pos": "significant increase",
        "neg": "significant decrease",
        "none": "not significant",
    }[sig]
    text = percent_text(change, half_width)
    label = (
        f"{metric}, {group}: {text} ({confidence:g}% interval {change - half_width:+.2f}% "
        f"to {change + half_width:+.2f}%), {verdict}"
    )
    return Bar(
        lower=axis.x(change - half_width),
        upper=axis.x(change + half_width),
        point=axis.x(change),
        zero=axis.x(0.0),
        sig=sig,
        label=label,
        text=text,
    )


def sparkline(counts: Sequence[int]) -> str:
    """SVG polyline points of daily counts, scaled into the sparkline's box (oldest left)."""
    if not counts:
        return ""
    top = max(counts) or 1
    step = SPARK_WIDTH / max(1, len(counts) - 1)
    return " ".join(
        f"{round(i * step, 1)},{round(SPARK_HEIGHT - 2 - c / top * (SPARK_HEIGHT - 4), 1)}"
        for i, c in enumerate(counts)
    )


@dataclass(frozen=True)
class ChecksSparkline:
    """Daily checks (gates: passed and failed stacked; experiments: exposures, all "passed")
    over the last days, oldest first, as two SVG paths of one rectangle per day with checks
    (the passed part at the bottom), with the accessible name that says the total."""

    passed_path: str
    failed_path: str
    totals: list[int]
    passed: list[int]
    label: str
    width: int = SPARK_WIDTH
    height: int = SPARK_HEIGHT


class DayCount(Protocol):
    @property
    def passed(self) -> int: ...
    @property
    def total(self) -> int: ...


def _rect(x: float, bottom: float, width: float, height: float) -> str:
    """An SVG path's closed rectangle from ``(x, bottom)`` up by ``height``."""
    return f"M{x:g} {bottom:g}h{width:g}v{-height:g}h{-width:g}z"


def checks_sparkline(days: Sequence[DayCount], what: str = "Checks") -> ChecksSparkline:
    """A sparkline of checks per day, oldest first, named "Checks over 14 days: 1,234".

    Two paths rather than a rectangle per day: a catalog page draws fifty of these."""
    totals = [day.total for day in days]
    passed = [day.passed for day in days]
    scale = (SPARK_HEIGHT - 2) / (max(totals, default=0) or 1)
    slot = SPARK_WIDTH / max(1, len(days))
    width = round(max(1.0, slot - 1), 2)
    passed_parts, failed_parts = [], []
    for i, (total, ok) in enumerate(zip(totals, passed, strict=True)):
        if not total:
            continue
        x = round(i * slot, 2)
        ok_height = round(ok * scale, 2)
        if ok:
            passed_parts.append(_rect(x, SPARK_HEIGHT, width, ok_height))
        if total > ok:
            failed_height = round((total - ok) * scale, 2)
            failed_parts.append(_rect(x, round(SPARK_HEIGHT - ok_height, 2), width, failed_height))
    return ChecksSparkline(
        passed_path="".join(passed_parts),
        failed_path="".join(failed_parts),
        totals=totals,
        passed=passed,
        label=f"{what} over {len(days)} days: {sum(totals):,}",
    )


# One colour per test group, in the order of the experiment's groups (control excluded).
SERIES_COLOURS = ("#0b57d0", "#b3261e", "#146c2e", "#7c4dff", "#b06000")


def series_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    y_title: str = "Δ% vs control",
) -> dict[str, Any]:
    """A Chart.js line chart of one figure per day, one dataset per series: a metric's Δ% per
    test group and the cumulative exposures per group on the results page, its daily value per
    unit type on the metric's page."""
    return {
        "type": "line",
        "data": {
            "labels": list(labels),
            "datasets": [
                {
                    "label": name,
                    "data": list(values),
                    "borderColor": SERIES_COLOURS[i % len(SERIES_COLOURS)],
                    "backgroundColor": SERIES_COLOURS[i % len(SERIES_COLOURS)],
                    "spanGaps": True,
                }
                for i, (name, values) in enumerate(series.items())
            ],
        },
        "options": {
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "plugins": {"title": {"display": True, "text": title}},
            "scales": {"y": {"title": {"display": True, "text": y_title}}},
        },
    }
