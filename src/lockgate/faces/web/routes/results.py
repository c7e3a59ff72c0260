"""An experiment's results page: exposures, the settings strip, the scorecard with interval bars,
the daily series and the metric detail. Every figure is what the Console API answers for the same
settings (``pulse_results``, ``cumulative_exposures``, the experiment's health checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lockgate.cores.stats.srm import HEALTH_CHECK_TYPE, srm_check
from lockgate.domains.experiments import documents, exposures
from lockgate.domains.experiments import service as experiments_service
from lockgate.domains.pulse import service as pulse_service
from lockgate.errors import InvalidInput
from lockgate.faces.web import figures
from lockgate.faces.web.pages import WebRoute, render
from lockgate.faces.web.session import Web, WebContext

router = APIRouter(route_class=WebRoute)

CONFIDENCES = ("80", "90", "95", "99")
VIEWS = {
    "cumulative": "Cumulative",
    "daily": "Daily",
    "days_since_exposure": "Days since exposure",
}
ROLES = (("primaryMetrics", "Primary metrics"), ("secondaryMetrics", "Secondary metrics"))


@dataclass(frozen=True)
class Settings:
    control: str
    test: str  # as asked: one test group, or "" for every one
    tests: tuple[str, ...]
    confidence: str
    cuped: bool
    view: str
    metric: str


def _settings(document: dict[str, Any], query: dict[str, str]) -> Settings:
    groups = [g["id"] for g in document.get("groups") or []]
    control = query.get("control") or (groups[0] if groups else "")
    if control not in groups:
        raise InvalidInput.field("control", f"{control!r} is not a group of this experiment")
    test = query.get("test") or ""
    if test and (test not in groups or test == control):
        raise InvalidInput.field("test", f"{test!r} is not a test group of this experiment")
    tests = (test,) if test else tuple(g for g in groups if g != control)
    confidence = query.get("ci") or str(document.get("defaultConfidenceInterval") or 95)
    if confidence not in CONFIDENCES:
        raise InvalidInput.field("ci", f"must be one of {', '.join(CONFIDENCES)}")
    cuped = query.get("cuped") or "1"
    if cuped not in ("0", "1"):
        raise InvalidInput.field("cuped", 'must be "1" or "0"')
    view = query.get("view") or "cumulative"
    if view not in VIEWS:
        raise InvalidInput.field("view", f"must be one of {', '.join(VIEWS)}")
    metric = query.get("metric") or ""
    return Settings(control, test, tests, confidence, cuped == "1", view, metric)


@dataclass
class MetricView:
    """One scorecard metric: a row per test group, and what its detail dialog shows."""

    metric_id: str
    name: str
    number: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    series: list[dict[str, Any]] = field(default_factory=list)
    series_loaded: bool = False


Section = tuple[str, list[MetricView]]


def scorecard(
    answers: dict[str, dict[str, Any]],
    names: dict[str, str],
    control: str,
    roles: tuple[tuple[str, str], ...],
    confidence: str,
) -> tuple[list[Section], dict[str, MetricView]]:
    """The scorecard of Pulse answers, one per test group (``{group id: answer}``): a section
    per role with metrics, each metric with a row per test group and an interval bar on one
    axis shared by every row. The holdout page draws its results with it too."""
    metrics: dict[str, MetricView] = {}
    sections: list[Section] = []
    intervals: list[tuple[float, float]] = []
    for key, title in roles:
        members: list[MetricView] = []
        for test, answer in answers.items():
            for found in answer.get(key) or []:
                view = metrics.get(found["metricID"])
                if view is None:
                    view = MetricView(found["metricID"], found.get("metricName") or "", 0)
                    metrics[found["metricID"]] = view
                    members.append(view)
                    view.groups.append(_group_figures(names[control], True, found, "control"))
                view.groups.append(_group_figures(names[test], False, found, "test"))
                change = found.get("percentChange")
                half = found.get("percentConfidenceIntervalDelta")
                view.rows.append(
                    {"group": names[test], "test": test, "change": change, "half": half}
                )
                if change is not None and half is not None:
                    intervals.append((change, half))
        if members:
            sections.append((title, members))
    axis = figures.axis_for(intervals)
    number = 0
    for _, members in sections:
        for view in members:
            number += 1
            view.number = number
            label = f"{view.name or view.metric_id} ({view.metric_id.split('::')[-1]})"
            for row in view.rows:
                if row["change"] is not None and row["half"] is not None:
                    row["bar"] = figures.bar(
                        axis,
                        row["change"],
                        row["half"],
                        metric=label,
                        group=row["group"],
                        confidence=float(confidence),
                    )
    return sections, metrics


def _exposures(
    session: Any, project_id: str, document: dict[str, Any], health: dict[str, Any]
) -> dict[str, Any]:
    found = exposures.cumulative_exposures(session, project_id, document["id"])
    sizes = {g["id"]: g.get("size") or 0 for g in document["groups"]}
    counts = [(g, (g["results"][-1]["exposures"] if g["results"] else 0)) for g in found]
    total = sum(c for _, c in counts)
    rows = [
        {
            "name": g["groupName"],
            "id": g["groupID"],
            "count": count,
            "share": f"{count / total * 100:.1f}%" if total else figures.MISSING,
        }
        for g, count in counts
    ]
    # Every group's results cover the same days (the first to the last day with an exposure).
    dates = [r["date"] for r in found[0]["results"]] if found else []
    daily = {g["groupName"]: [r["exposures"] for r in g["results"]] for g in found}
    checked = [(c, sizes[g["groupID"]]) for g, c in counts if sizes.get(g["groupID"], 0) > 0]
    srm = srm_check([c for c, _ in checked], [s for _, s in checked])
    balance = next(
        (c for c in health.get("healthChecks") or [] if c["type"] == HEALTH_CHECK_TYPE), None
    )
    return {
        "rows": rows,
        "total": total,
        "srm_status": balance["status"] if balance else "WAITING",
        "srm_description": balance["description"] if balance else "",
        "srm_p": f"{srm.p_value:.3g}" if srm.p_value is not None else None,
        "dates": dates,
        "daily": daily,
        "chart": figures.series_chart(
            dates, daily, "Cumulative exposures per group", y_title="Exposures"
        )
        if dates
        else None,
    }


def _query(settings: Settings, **changes: str) -> str:
    values = {
        "control": settings.control,
        "test": settings.test,
        "ci": settings.confidence,
        "cuped": "1" if settings.cuped else "0",
        "view": settings.view,
        **changes,
    }
    return urlencode({k: v for k, v in values.items() if v})


def _number(value: Any) -> str:
    return figures.MISSING if value is None else f"{value:,.4g}"


def _api_query(settings: Settings, test: str, **extra: str) -> dict[str, str | None]:
    return {
        "control": settings.control,
        "test": test,
        "cuped": "true" if settings.cuped else "false",
        "confidence": settings.confidence,
        **extra,
    }


def results_page(
    request: Request, ctx: WebContext, experiment_id: str, query: dict[str, str]
) -> HTMLResponse:
    session, project_id, now = ctx.session, ctx.project_id, ctx.clock.now_ms()
    experiment = experiments_service.read(session, project_id, experiment_id)
    document = documents.load(session, project_id, experiment_id).document
    settings = _settings(document, query)
    names = {g["id"]: g["name"] for g in document["groups"]}
    answers = {
        test: pulse_service.experiment_results(
            session, project_id, document, _api_query(settings, test), now
        )
        for test in settings.tests
    }
    sections, metrics = scorecard(answers, names, settings.control, ROLES, settings.confidence)
    days = _series_days(ctx, experiment_id, settings)
    _add_series(ctx, document, settings, names, days, metrics)
    health = experiment if "healthChecks" in experiment else {}
    decided = experiment.get("status") == "decision_made" and experiment.get("decisionTime")
    frozen = (
        datetime.fromtimestamp(int(decided) / 1000, tz=UTC).strftime("%Y-%m-%d")
        if decided
        else None
    )
    path = f"/ui/experiments/{quote(experiment_id, safe='')}"
    return render(
        request,
        "results.html",
        ctx,
        title=f"Results: {experiment['name']}",
        section="experiments",
        experiment=experiment,
        experiment_href=path,
        results_href=f"{path}/results",
        settings=settings,
        views=VIEWS,
        confidences=CONFIDENCES,
        groups=document["groups"],
        control_name=names[settings.control],
        exposures=_exposures(session, project_id, document, health),
        sections=sections,
        ds=next(iter(answers.values()), {}).get("ds"),
        days=days,
        frozen=frozen,
        open_metric=settings.metric,
        detail_link=lambda metric_id: f"{path}/results?{_query(settings, metric=metric_id)}",
        series_link=lambda metric_id: f"{path}/results/series?{_query(settings, metric=metric_id)}",
        bar_width=figures.BAR_WIDTH,
        bar_height=figures.BAR_HEIGHT,
    )


def _group_figures(name: str, control: bool, found: dict[str, Any], side: str) -> dict[str, Any]:
    units, mean = found.get(f"{side}Units"), found.get(f"{side}Mean")
    total = units * mean if units is not None and mean is not None else None
    return {
        "name": name,
        "control": control,
        "units": figures.MISSING if units is None else f"{units:,}",
        "mean": _number(mean),
        "total": _number(total),
    }


@dataclass
class Series:
    """Metrics' Δ% per day with data, per test group (``view=daily`` of ``pulse_results``, or
    ``view=days_since_exposure``)."""

    points: dict[str, dict[str, list[float | None]]]
    rows: dict[str, list[dict[str, Any]]]


@dataclass(frozen=True)
class SeriesDays:
    """The days of a page's series: their labels, and what ``pulse_results`` is asked for
    each (``daily`` by date, or ``days_since_exposure`` by day number, answered from the stored
    daily views read once, ``daily_views``)."""

    labels: list[str]
    queries: list[dict[str, str]]
    daily_views: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.labels)


def _series_days(ctx: WebContext, experiment_id: str, settings: Settings) -> SeriesDays:
    if settings.view == "days_since_exposure":
        daily = pulse_service.experiment_daily_views(ctx.session, ctx.project_id, experiment_id)
        count = pulse_service.since_exposure_day_count(daily)
        return SeriesDays(
            [f"Day {k}" for k in range(count)],
            [{"view": "days_since_exposure", "day": str(k)} for k in range(count)],
            daily,
        )
    dates = pulse_service.experiment_result_days(ctx.session, ctx.project_id, experiment_id)
    return SeriesDays(dates, [{"view": "daily", "date": ds} for ds in dates])


def _daily_series(
    ctx: WebContext,
    document: dict[str, Any],
    settings: Settings,
    names: dict[str, str],
    days: SeriesDays,
    metric_ids: list[str],
) -> Series:
    points: dict[str, dict[str, list[float | None]]] = {m: {} for m in metric_ids}
    rows: dict[str, list[dict[str, Any]]] = {m: [] for m in metric_ids}
    for test in settings.tests:
        for metric_id in metric_ids:
            points[metric_id][names[test]] = []
        for order, (label, extra) in enumerate(zip(days.labels, days.queries, strict=True)):
            answer = pulse_service.experiment_results(
                ctx.session,
                ctx.project_id,
                document,
                _api_query(settings, test, **extra),
                ctx.clock.now_ms(),
                daily_views=days.daily_views,
            )
            by_id = {m["metricID"]: m for key, _ in ROLES for m in answer.get(key) or []}
            for metric_id in metric_ids:
                found = by_id.get(metric_id) or {}
                change = found.get("percentChange")
                half = found.get("percentConfidenceIntervalDelta")
                points[metric_id][names[test]].append(change)
                rows[metric_id].append(
                    {
                        "order": order,
                        "day": label,
                        "group": names[test],
                        "text": figures.percent_text(change, half)
                        if change is not None and half is not None
                        else "no data",
                    }
                )
    for metric_id in metric_ids:
        rows[metric_id].sort(key=lambda r: (r["order"], r["group"]))
    return Series(points, rows)


def _add_series(
    ctx: WebContext,
    document: dict[str, Any],
    settings: Settings,
    names: dict[str, str],
    days: SeriesDays,
    metrics: dict[str, MetricView],
) -> None:
    """The daily views chart every metric; the cumulative view computes only the metric whose
    detail is asked for by ``metric=`` (the page without JavaScript): with JavaScript, a
    detail dialog fetches its own series when it opens, so the page costs no more per day."""
    if settings.view == "cumulative":
        wanted = [settings.metric] if settings.metric in metrics else []
    else:
        wanted = list(metrics)
    if not days or not wanted:
        return
    series = _daily_series(ctx, document, settings, names, days, wanted)
    labels = days.labels
    for metric_id in wanted:
        view = metrics[metric_id]
        view.series = series.rows[metric_id]
        view.series_loaded = True
        if settings.view != "cumulative":
            title = f"{view.name or metric_id}: Δ% per day"
            view.chart = figures.series_chart(labels, series.points[metric_id], title)


@router.get("/ui/experiments/{experiment_id}/results", include_in_schema=False)
def results(request: Request, ctx: Web, experiment_id: str) -> HTMLResponse:
    query = {k: v for k, v in request.query_params.items()}
    return results_page(request, ctx, experiment_id, query)


@router.get("/ui/experiments/{experiment_id}/results/series", include_in_schema=False)
def series(request: Request, ctx: Web, experiment_id: str) -> HTMLResponse:
    """One metric's daily series: the rows its detail dialog fetches when it opens."""
    query = {k: v for k, v in request.query_params.items()}
    document = documents.load(ctx.session, ctx.project_id, experiment_id).document
    settings = _settings(document, query)
    names = {g["id"]: g["name"] for g in document["groups"]}
    days = _series_days(ctx, experiment_id, settings)
    rows = _daily_series(ctx, document, settings, names, days, [settings.metric]).rows
    return render(
        request,
        "_series_rows.html",
        ctx,
        title="Daily series",
        series=rows[settings.metric] if days else [],
    )
