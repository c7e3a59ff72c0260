"""What the results and events pages draw, as plain data: the "Δ% ±half-width" text, the
significance of an interval, the geometry of the scorecard's interval bars on one shared axis,
sparkline points, and Chart.js configurations. Templates turn these into inline SVG and JSON;
nothing here renders HTML."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

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


# One colour per test group, in the order of the experiment's groups (control excluded).
SERIES_COLOURS = ("#0b57d0", "#b3261e", "#146c2e", "#7c4dff", "#b06000")


def series_chart(
    labels: Sequence[str], series: Mapping[str, Sequence[float | None]], title: str
) -> dict[str, Any]:
    """A Chart.js line chart of one metric's Δ% per day, one dataset per test group."""
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
            "scales": {"y": {"title": {"display": True, "text": "Δ% vs control"}}},
        },
    }
