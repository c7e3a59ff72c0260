"""Pulse for gate rules and holdouts: two groups compared on the entity's ``monitoringMetrics``.

* **Gate rule** (entity type ``gate_rule``, entity id = gate id, rule id = the rule's
  ``baseID``, stable across rollout changes): the units that reached the rule, i.e. whose
  gate exposure names the rule (its current id, its ``baseID`` or any earlier ``baseID:pct:n``
  id), split by the exposure's value: "true" passed the rollout (test), "false" failed it
  (control). A unit seen on both sides (the rollout grew past it) is a crossover and left out.
* **Holdout** (entity type ``holdout``): a holdout is a gate spec evaluated only as a nested
  ``pass_gate`` of the entities it covers, so SDKs never log an exposure of it; they log it
  as a secondary exposure ``{gate: <holdout id>, gateValue, ruleID}`` of every exposure of a
  covered gate, experiment or layer that evaluated it. A unit whose entry says "true" is held
  out (control), "false" is not held out and gets the features (test). Entries decided by a
  holdout override (``...:id_override``) are left out, as experiment overrides are.

Metrics are the entity's ``monitoringMetrics``. When it has none the result is an empty
metric list (with the units per group stored, for health): Pulse does not invent a metric set
such as every event the exposed units logged.

Loads keep their per-unit values for the next incremental load, as experiment loads do
(``incremental.load.load_group_sums``). Results requests never compute: they read the latest
stored sums (``repository.latest_result``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlalchemy.orm import Session

from lockgate.domains.pulse import jobs, repository
from lockgate.domains.pulse.engine import utc_day
from lockgate.domains.pulse.incremental.kept import StateKey
from lockgate.domains.pulse.incremental.load import load_group_sums
from lockgate.domains.pulse.jobs import ComputedResult, Progress
from lockgate.domains.pulse.results import ResultOptions, metric_results
from lockgate.domains.pulse.sql import Assignment, SecondaryGateValue, secondary_gate_filter
from lockgate.domains.rules.validation import find_rule as rule_index
from lockgate.errors import InvalidInput
from lockgate.kit.clock import Clock
from lockgate.storage.models import Exposure, Gate, Holdout, PulseJob

GATE_RULE = "gate_rule"
HOLDOUT = "holdout"
PASSED, FAILED = "Pass", "Fail"
HELD_OUT, NOT_HELD_OUT = "Holdout", "Not held out"


@dataclass(frozen=True)
class Comparison:
    control: str
    test: str


GATE_COMPARISON = Comparison(control=FAILED, test=PASSED)
HOLDOUT_COMPARISON = Comparison(control=HELD_OUT, test=NOT_HELD_OUT)


def find_rule(document: Mapping[str, Any], rule_id: str) -> dict[str, Any] | None:
    """The gate rule with this id or baseID."""
    rules = document.get("rules") or []
    index = rule_index(rules, rule_id)
    return None if index is None else dict(rules[index])


def gate_rule_assignment(
    document: Mapping[str, Any], rule: Mapping[str, Any], end_ms: int
) -> Assignment:
    base = str(rule.get("baseID") or rule["id"])
    return Assignment(
        experiment=document["id"],
        id_type=document.get("idType") or "userID",
        group_rules={},
        end_ms=end_ms,
        kind="gate",
        group_by_value={"true": PASSED, "false": FAILED},
        extra_filters=(
            or_(
                Exposure.rule_id.in_(sorted({rule["id"], base})),
                Exposure.rule_id.startswith(base + ":", autoescape=True),
            ),
        ),
    )


def holdout_assignment(document: Mapping[str, Any], end_ms: int) -> Assignment:
    holdout_id = document["id"]
    return Assignment(
        experiment=None,
        id_type=document.get("idType") or "userID",
        group_rules={},
        end_ms=end_ms,
        kind=None,
        group_by_value={"true": HELD_OUT, "false": NOT_HELD_OUT},
        value=SecondaryGateValue(Exposure.secondary_exposures, holdout_id),
        extra_filters=(secondary_gate_filter(holdout_id),),
    )


def _result(
    session: Session,
    job: PulseJob,
    assignment: Assignment,
    document: Mapping[str, Any],
    comparison: Comparison,
    now: int,
    progress: Progress,
    **extra: Any,
) -> list[ComputedResult]:
    progress(5, "assigning units to groups")
    refs = [("primary", m) for m in document.get("monitoringMetrics") or []]
    sums = load_group_sums(
        session.get_bind(),  # type: ignore[arg-type]
        StateKey(job.project_id, job.entity_type, job.entity_id, job.rule_id or ""),
        assignment,
        refs,
        progress,
        incremental=jobs.reload_type(job) == "incremental",
        job_id=job.id,
        now_ms=now,
    )
    result = {
        "ds": utc_day(now),
        "computedTime": now,
        "control": comparison.control,
        "test": comparison.test,
        **extra,
        **sums,
    }
    return [ComputedResult(ds=result["ds"], document=result, rule_id=job.rule_id or "")]


def make_gate_rule_computation(clock: Clock) -> jobs.Computation:
    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        row = repository.entity_row(session, Gate, job, "gate")
        rule = find_rule(row.document, job.rule_id or "")
        if rule is None:
            raise LookupError(f"gate {job.entity_id!r} no longer has rule {job.rule_id!r}")
        now = clock.now_ms()
        assignment = gate_rule_assignment(row.document, rule, now)
        return _result(
            session,
            job,
            assignment,
            row.document,
            GATE_COMPARISON,
            now,
            progress,
            ruleID=rule["id"],
        )

    return compute


def make_holdout_computation(clock: Clock) -> jobs.Computation:
    def compute(session: Session, job: PulseJob, progress: Progress) -> list[ComputedResult]:
        row = repository.entity_row(session, Holdout, job, "holdout")
        now = clock.now_ms()
        assignment = holdout_assignment(row.document, now)
        return _result(session, job, assignment, row.document, HOLDOUT_COMPARISON, now, progress)

    return compute


# -- results requests --------------------------------------------------------------------------


def bool_text(name: str, value: str | None) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidInput.field(
            name, f'must be "true" or "false", got {value!r}', location="query"
        )
    return value == "true"


def confidence_text(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput.field(
            "confidence", f"must be a number from 0 to 100, got {value!r}", location="query"
        ) from None
    if not 0 < number < 100:
        raise InvalidInput.field(
            "confidence",
            f"must be between 0 and 100 (exclusive), got {value!r}",
            location="query",
        )
    return number


def monitoring_results(
    session: Session,
    project_id: str,
    entity_type: str,
    entity_id: str,
    *,
    rule_id: str = "",
    cuped: bool | None,
    confidence: float | None,
    now_ms: int,
) -> dict[str, Any]:
    """``GatePulseResultsDto`` from the latest stored sums: ``{ds, monitoringMetrics}``; today
    and an empty list before any load."""
    stored = repository.latest_result(session, project_id, entity_type, entity_id, rule_id=rule_id)
    if stored is None:
        return {"ds": utc_day(now_ms), "monitoringMetrics": []}
    document = stored.document
    options = ResultOptions(
        control=document["control"],
        test=document["test"],
        cuped=True if cuped is None else cuped,
        confidence=95.0 if confidence is None else confidence,
    )
    return {
        "ds": stored.ds,
        "monitoringMetrics": metric_results(document, options)["primaryMetrics"],
    }
