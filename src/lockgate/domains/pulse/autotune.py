"""Autotune Pulse: per variant, exposed units and successes counted in the database, then
Thompson sampling moves traffic towards the variant most likely to be best, or ships it.

How the AutotuneCreateDto settings act (Statsig documents their meaning, not their arithmetic):

* ``explorationWindow`` ("24hr", "168", ...; hours from start): traffic keeps its initial split
  and no winner is declared until it has passed;
* ``attributionWindow`` with ``attributionWindowUnit`` (default hours): a success counts only
  within that long after the unit's exposure, and an exposure counts only once its window has
  closed (Statsig: "an exposure at 1pm with a 6 hr attribution window is not counted until 7pm");
* ``winnerThreshold`` ("95%"): when a variant's probability of being best exceeds it, the
  autotune ships that variant (``make_decision``: all traffic to it);
* ``longtermExplorationAllocation`` (a share, 0.001-1): the traffic kept apart for exploration
  after the window, split equally, so a variant that fell behind early can still recover; when
  unset the weights are pure probability of best;
* ``explorationWindowRate`` has no published arithmetic and is not used.

Weights are each variant's probability of best (the share of posterior draws in which it wins,
``stats.autotune.thompson_weights``) from a generator seeded by the autotune, its salt and the
day, so a rerun on the same day with the same data gives the same weights. They are stored with
``autotunes.service.set_traffic_weights`` (a versioned, audited change that bumps the spec
revision, so SDKs see the new split on their next poll), in the transaction that stores the
result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from sqlalchemy.orm import Session

from lockgate.cores.stats.autotune import VariantOutcomes, thompson_weights
from lockgate.domains.autotunes import service as autotunes
from lockgate.domains.autotunes.schemas import DecisionIn
from lockgate.domains.pulse import repository
from lockgate.domains.pulse.engine import utc_day
from lockgate.domains.pulse.jobs import Computation, ComputedResult, Progress
from lockgate.domains.pulse.sql import autotune_outcomes
from lockgate.errors import NotFound
from lockgate.kit.actor import Actor, Change
from lockgate.kit.clock import Clock
from lockgate.storage.models import Autotune, PulseJob

HOUR_MS = 3_600_000
UNIT_MS = {"min": 60_000, "hour": HOUR_MS, "day": 24 * HOUR_MS}
ACTOR = Actor(id="autotune", name="Autotune")
Action = Literal["exploring", "reallocated", "decided"]


@dataclass(frozen=True)
class AutotuneSettings:
    """The document's settings in milliseconds and shares."""

    exploration_end_ms: int
    attribution_ms: int
    winner_threshold: float
    exploration_share: float


@dataclass(frozen=True)
class Reallocation:
    """What the bandit decided: per-variant probability of best and new weights (shares)."""

    action: Action
    probability_best: tuple[float, ...]
    weights: tuple[float, ...] | None
    winner: int | None = None


def _number(raw: Any) -> int:
    found = re.match(r"\d+", str(raw or ""))
    if found is None:
        raise ValueError(f"not a window: {raw!r}")
    return int(found.group())


def settings_of(document: Mapping[str, Any]) -> AutotuneSettings:
    unit_ms = UNIT_MS.get(str(document.get("attributionWindowUnit") or "hour"), HOUR_MS)
    return AutotuneSettings(
        exploration_end_ms=int(document.get("startTime") or 0)
        + _number(document.get("explorationWindow")) * HOUR_MS,
        attribution_ms=_number(document.get("attributionWindow")) * unit_ms,
        winner_threshold=_number(document.get("winnerThreshold")) / 100,
        exploration_share=float(document.get("longtermExplorationAllocation") or 0.0),
    )


def daily_rng(project_id: str, autotune_id: str, salt: str, ds: str) -> np.random.Generator:
    """One generator per autotune, salt (a reset changes it) and day."""
    digest = hashlib.sha256(f"{project_id}\0{autotune_id}\0{salt}\0{ds}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def reallocate(
    outcomes: Sequence[VariantOutcomes],
    rng: np.random.Generator,
    *,
    exploring: bool,
    winner_threshold: float,
    exploration_share: float,
) -> Reallocation:
    """Probability of best for every variant; during exploration nothing moves, after it a
    variant above the threshold wins, else traffic follows probability of best above the
    exploration floor."""
    best = thompson_weights(outcomes, rng)
    if exploring:
        return Reallocation("exploring", best, None)
    leader = max(range(len(best)), key=best.__getitem__)
    if best[leader] > winner_threshold:
        return Reallocation("decided", best, None, leader)
    floor = exploration_share / len(best)
    weights = tuple(floor + (1 - exploration_share) * p for p in best)
    return Reallocation("reallocated", best, weights)


def _outcomes(
    session: Session,
    project_id: str,
    document: Mapping[str, Any],
    settings: AutotuneSettings,
    now_ms: int,
) -> list[VariantOutcomes]:
    variants = document["variants"]
    statement = autotune_outcomes(
        project_id,
        document["id"],
        str(document.get("idType") or "userID"),
        [v["id"] for v in variants],
        success_event=str(document["successEvent"]),
        success_value=document.get("successEventValue") or None,
        attribution_ms=settings.attribution_ms,
        exposed_from_ms=int(document.get("startTime") or 0),
        exposed_before_ms=now_ms - settings.attribution_ms,
    )
    found = {
        str(row.variant): (int(row.units), int(row.successes or 0))
        for row in session.execute(statement)
    }
    return [VariantOutcomes(*found.get(v["id"], (0, 0))) for v in variants]


def _percent(share: float) -> float:
    return round(share * 100, 4)


def _applier(
    project_id: str, document: Mapping[str, Any], plan: Reallocation, result: dict[str, Any]
) -> Any:
    """The change to make when the result is stored, unless the autotune changed meanwhile (a
    reset, a decision, new variants): then the next run decides afresh."""
    variant_ids = [v["id"] for v in document["variants"]]
    now_ms = int(result["computedTime"])

    def apply(session: Session) -> None:
        try:
            row = autotunes.load(session, project_id, document["id"], lock=True)
        except NotFound:
            result["applied"] = False
            return
        current = row.document
        if (
            current.get("status") != autotunes.ACTIVE
            or current.get("startTime") != document.get("startTime")
            or [v["id"] for v in current["variants"]] != variant_ids
        ):
            result["applied"] = False
            return
        change = Change(project_id, ACTOR, now_ms)
        if plan.winner is not None:
            winner = document["variants"][plan.winner]
            reason = (
                f"Autotune: {winner['name']} is best with probability "
                f"{plan.probability_best[plan.winner]:.1%}, above the winner threshold "
                f"{document.get('winnerThreshold')}"
            )
            autotunes.make_decision(
                session,
                change,
                document["id"],
                DecisionIn(id=winner["id"], decision_reason=reason),
            )
        elif plan.weights is not None:
            weights = {v: _percent(w) for v, w in zip(variant_ids, plan.weights, strict=True)}
            # A rerun of the same day computes the same weights: no version for no change.
            if weights != current.get("trafficWeights"):
                autotunes.set_traffic_weights(session, change, document["id"], weights)
        result["applied"] = True

    return apply


def make_autotune_computation(clock: Clock) -> Computation:
    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        row = repository.entity_row(session, Autotune, job, "autotune")
        document = row.document
        now = clock.now_ms()
        ds = utc_day(now)
        result: dict[str, Any] = {
            "ds": ds,
            "computedTime": now,
            "startTime": document.get("startTime"),
            "status": document.get("status"),
        }
        if document.get("status") != autotunes.ACTIVE:
            # Not running (never started, reset, or already decided): nothing to learn.
            return [ComputedResult(ds=ds, document={**result, "action": "inactive"})]
        settings = settings_of(document)
        progress(10, "counting exposures and successes")
        outcomes = _outcomes(session, job.project_id, document, settings, now)
        rng = daily_rng(job.project_id, document["id"], str(document.get("salt") or ""), ds)
        plan = reallocate(
            outcomes,
            rng,
            exploring=now < settings.exploration_end_ms,
            winner_threshold=settings.winner_threshold,
            exploration_share=settings.exploration_share,
        )
        result.update(
            action=plan.action,
            explorationEndTime=settings.exploration_end_ms,
            attributionWindowMs=settings.attribution_ms,
            exposedBefore=now - settings.attribution_ms,
            variants=[
                {
                    "id": variant["id"],
                    "name": variant["name"],
                    "units": outcome.trials,
                    "successes": outcome.successes,
                    "successRate": outcome.successes / outcome.trials if outcome.trials else None,
                    "probabilityBest": best,
                    "weight": None if plan.weights is None else _percent(plan.weights[index]),
                }
                for index, (variant, outcome, best) in enumerate(
                    zip(document["variants"], outcomes, plan.probability_best, strict=True)
                )
            ],
            winner=None
            if plan.winner is None
            else {k: document["variants"][plan.winner][k] for k in ("id", "name")},
        )
        apply = None
        if plan.action != "exploring":
            apply = _applier(job.project_id, document, plan, result)
        return [ComputedResult(ds=ds, document=result, apply=apply)]

    return compute
