"""Experiment lifecycle (`docs/console.md` §Experiment lifecycle): start, schedule, ship, abandon,
reset, restart as new, archive, and enabling or disabling groups.

Which action is legal from which status is one table, ``ALLOWED``; every other combination is
a 400 whose message comes from ``REFUSALS``.
"""

from __future__ import annotations

import re
import uuid
from copy import deepcopy
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import EXPERIMENT, LAYER
from lockgate.domains.entities.namespaces import DYNAMIC_CONFIGS
from lockgate.domains.events import incoming
from lockgate.domains.experiments import documents
from lockgate.domains.experiments.documents import ABANDONED, ACTIVE, ARCHIVED, DECIDED, SETUP
from lockgate.domains.experiments.schemas import (
    AbandonIn,
    ArchiveIn,
    DecisionIn,
    ExperimentFields,
    GroupNamesIn,
    NameIn,
    ScheduleIn,
    StartIn,
)
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

STATUSES = (SETUP, ACTIVE, DECIDED, ABANDONED, ARCHIVED)
NOT_STARTED = "Experiment has not yet started"
ALREADY_STARTED = "Experiment has already started"
CONCLUDED = "Experiment has already concluded"
IS_ARCHIVED = "Experiment is archived. Unarchive it first"

ALLOWED: dict[str, frozenset[str]] = {
    "start": frozenset({SETUP}),
    "schedule_start": frozenset({SETUP}),
    "make_decision": frozenset({ACTIVE}),
    "abandon": frozenset({ACTIVE}),
    "reset": frozenset({ACTIVE, DECIDED, ABANDONED}),
    "restart_as_new": frozenset({ACTIVE, DECIDED, ABANDONED}),
    "archive": frozenset({SETUP, DECIDED, ABANDONED}),
    "unarchive": frozenset({ARCHIVED}),
    "enable_groups": frozenset({SETUP, ACTIVE, DECIDED, ABANDONED}),
    "disable_groups": frozenset({SETUP, ACTIVE, DECIDED, ABANDONED}),
}
# (action, status) -> message; a missing pair falls back to the status' general refusal.
REFUSALS: dict[tuple[str, str], str] = {
    ("start", ACTIVE): ALREADY_STARTED,
    ("schedule_start", ACTIVE): ALREADY_STARTED,
    ("archive", ACTIVE): (
        "Experiment is running. Make a decision or abandon it before archiving it"
    ),
    ("archive", ARCHIVED): "Experiment is already archived",
    ("unarchive", SETUP): "Experiment is not archived",
    ("unarchive", ACTIVE): "Experiment is not archived",
    ("unarchive", DECIDED): "Experiment is not archived",
    ("unarchive", ABANDONED): "Experiment is not archived",
}
_BY_STATUS = {
    SETUP: NOT_STARTED,
    ACTIVE: ALREADY_STARTED,
    DECIDED: CONCLUDED,
    ABANDONED: CONCLUDED,
    ARCHIVED: IS_ARCHIVED,
}


def check_transition(action: str, status: str) -> None:
    if status not in ALLOWED[action]:
        raise InvalidInput(REFUSALS.get((action, status), _BY_STATUS.get(status, CONCLUDED)))


def _locked(
    session: Session, change: Change, experiment_id: str, action: str
) -> tuple[Any, dict[str, Any]]:
    row = documents.load(session, change.project_id, experiment_id, lock=True)
    check_transition(action, row.document["status"])
    return row, entities.editable(row)


def _save(
    session: Session, change: Change, row: Any, document: dict[str, Any], action: str, text: str
) -> Any:
    return documents.save_document(session, change, row, document, action, text)


def start(
    session: Session, change: Change, experiment_id: str, body: StartIn | None = None
) -> None:
    """Start an experiment; ``analysisStartTime`` / ``analysisEndTime`` of ``body`` set the
    analysis window of one bound to a warehouse assignment source, checked before anything
    changes (docs/warehouse.md §Analysis windows); ``turboMode`` the turbo mode of its loads
    (docs/warehouse.md §Turbo mode)."""
    row, document = _locked(session, change, experiment_id, "start")
    if body is not None:
        sent = {key: getattr(body, attribute) for key, attribute in _WINDOW_FIELDS}
        set_analysis_window(document, {k: v for k, v in sent.items() if v is not None})
        if body.turbo_mode is not None:
            document[TURBO_MODE] = body.turbo_mode
    _start(session, change, row, document)


_WINDOW_FIELDS = (
    ("analysisStartTime", "analysis_start_time"),
    ("analysisEndTime", "analysis_end_time"),
)


# The experiment's turbo mode: the setting of its last load, which scheduled loads use
# (docs/warehouse.md §Turbo mode).
TURBO_MODE = "turboMode"


def turbo_mode(session: Session, change: Change, experiment_id: str, sent: bool | None) -> bool:
    """The turbo mode of a load of the experiment: ``sent`` (the request's), remembered in the
    experiment for the loads that follow when it changes it, else the remembered one."""
    row = documents.load(session, change.project_id, experiment_id, lock=sent is not None)
    if sent is None or bool(row.document.get(TURBO_MODE)) == sent:
        return bool(row.document.get(TURBO_MODE)) if sent is None else sent
    document = entities.editable(row)
    document[TURBO_MODE] = sent
    _save(
        session,
        change,
        row,
        document,
        "experiment_update",
        f"Turbo mode {'enabled' if sent else 'disabled'} for Pulse loads",
    )
    return sent


def clear_analysis_window(document: dict[str, Any]) -> None:
    """Remove the analysis window stored on ``document`` (on unbinding it from its source)."""
    for key, _ in _WINDOW_FIELDS:
        document.pop(key, None)


def set_analysis_window(document: dict[str, Any], sent: dict[str, Any]) -> None:
    """Write the analysis window fields of ``sent`` into ``document``: each a ``YYYY-MM-DD``
    day, on an experiment bound to an assignment source only, or None to remove it; the end
    on or after the start, whichever of them was stored before. A bad one is a 400 naming it
    and ``document`` is left as it was."""
    days: dict[str, date | None] = {}
    for key, value in sent.items():
        if value is None:
            days[key] = None
            continue
        if not document.get("assignmentSourceName"):
            raise InvalidInput.field(
                key,
                "applies only to a warehouse-native experiment bound to an assignment source "
                "(assignmentSourceName)",
            )
        if not isinstance(value, str) or not _DAY.fullmatch(value):
            raise InvalidInput.field(key, f"must be a date YYYY-MM-DD, got {value!r}")
        try:
            days[key] = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput.field(key, f"is not a calendar date, got {value!r}") from None
    stored = {
        key: date.fromisoformat(document[key])
        for key, _ in _WINDOW_FIELDS
        if document.get(key) and key not in days
    }
    window = stored | days
    start, end = window.get("analysisStartTime"), window.get("analysisEndTime")
    if start is not None and end is not None and end < start:
        if "analysisEndTime" in days:
            raise InvalidInput.field(
                "analysisEndTime",
                f"must be on or after analysisStartTime ({start.isoformat()}), "
                f"got {sent['analysisEndTime']!r}",
            )
        raise InvalidInput.field(
            "analysisStartTime",
            f"must be on or before analysisEndTime ({end.isoformat()}), "
            f"got {sent['analysisStartTime']!r}",
        )
    for key, day in days.items():
        if day is None:
            document.pop(key, None)
        else:
            document[key] = day.isoformat()


def _start(session: Session, change: Change, row: Any, document: dict[str, Any]) -> None:
    document["status"] = ACTIVE
    document["startTime"] = change.now_ms
    document.pop("scheduledTime", None)
    documents.allocate_buckets(session, change.project_id, document)
    _save(session, change, row, document, "experiment_start", "Started Experiment")


def schedule_start(session: Session, change: Change, experiment_id: str, body: ScheduleIn) -> None:
    row, document = _locked(session, change, experiment_id, "schedule_start")
    if body.scheduled_time <= change.now_ms:
        raise InvalidInput.field(
            "scheduledTime",
            f"must be in the future (epoch milliseconds), got {body.scheduled_time}",
        )
    document["scheduledTime"] = body.scheduled_time
    _save(session, change, row, document, "experiment_schedule_start", "Scheduled Experiment start")


def start_scheduled(session: Session, change: Change, experiment_id: str) -> bool:
    """Start the experiment if it is still in setup and its scheduled start has come; returns
    whether it started.

    The row lock serialises every process that checks the same experiment: the first starts it
    and commits, the next reads it started and does nothing.

    See docs/console.md §Experiment lifecycle."""
    row = entities.find(session, EXPERIMENT, change.project_id, experiment_id, lock=True)
    if row is None:
        return False
    due = row.document.get("scheduledTime")
    if row.document["status"] != SETUP or due is None or due > change.now_ms:
        return False
    _start(session, change, row, entities.editable(row))
    return True


def drop_schedule(session: Session, change: Change, experiment_id: str, reason: str) -> None:
    """A scheduled start that could not happen: the experiment stays in setup without its
    ``scheduledTime``, and the audit log says why."""
    row = entities.find(session, EXPERIMENT, change.project_id, experiment_id, lock=True)
    if row is None or row.document["status"] != SETUP or "scheduledTime" not in row.document:
        return
    document = entities.editable(row)
    document.pop("scheduledTime")
    _save(
        session,
        change,
        row,
        document,
        "edit_experiment_scheduled_start",
        f"Scheduled start failed: {reason}",
    )


def _conclude(document: dict[str, Any], change: Change, status: str, reason: str) -> None:
    document["status"] = status
    document["decisionReason"] = reason
    document["decisionTime"] = change.now_ms
    document["endTime"] = change.now_ms
    document["buckets"] = []


def make_decision(session: Session, change: Change, experiment_id: str, body: DecisionIn) -> None:
    row, document = _locked(session, change, experiment_id, "make_decision")
    group = documents.find_group(document["groups"], body.id)
    if group is None:
        raise InvalidInput.field("id", f"{body.id!r} is not a group of this experiment")
    _conclude(document, change, DECIDED, body.decision_reason)
    document["launchedGroupID"] = group["id"]
    document["keepTargeting"] = not body.remove_targeting
    if document.get("layerID"):
        _ship_into_layer(session, change, document["layerID"], group["parameterValues"])
    _save(
        session, change, row, document, "experiment_make_decision", f"Shipped group {group['name']}"
    )


def _ship_into_layer(
    session: Session, change: Change, layer_id: str, values: dict[str, Any]
) -> None:
    """The shipped group's parameters become the layer's defaults
    (docs/compiling.md §Experiment lifecycle)."""
    row = entities.load(session, LAYER, change.project_id, layer_id, lock=True)
    layer = entities.editable(row)
    for parameter in layer.get("parameters") or []:
        if parameter["name"] in values:
            parameter["defaultValue"] = values[parameter["name"]]
    entities.save(
        session,
        LAYER,
        change,
        row,
        layer,
        action="layer_update",
        change_log="Layer defaults set by a shipped experiment",
    )


def abandon(session: Session, change: Change, experiment_id: str, body: AbandonIn) -> None:
    row, document = _locked(session, change, experiment_id, "abandon")
    _abandon(document, change, body.decision_reason)
    _save(session, change, row, document, "experiment_abandon", "Abandoned Experiment")


def _abandon(document: dict[str, Any], change: Change, reason: str) -> None:
    _conclude(document, change, ABANDONED, reason)
    # A later restart must re-randomise users (docs/console.md §Experiment lifecycle).
    document["salt"] = str(uuid.uuid4())


def reset(session: Session, change: Change, experiment_id: str) -> None:
    row, document = _locked(session, change, experiment_id, "reset")
    document.update(
        status=SETUP,
        startTime=None,
        endTime=None,
        decisionTime=None,
        decisionReason=None,
        launchedGroupID=None,
        salt=str(uuid.uuid4()),
    )
    document.pop("keepTargeting", None)
    documents.allocate_buckets(session, change.project_id, document)
    _save(session, change, row, document, "experiment_reset", "Reset Experiment")


def restart_as_new(
    session: Session, change: Change, experiment_id: str, body: NameIn
) -> dict[str, Any]:
    """A copy under a new name with a fresh salt. A running original is abandoned so the copy
    can take over its traffic, and the copy starts at once; otherwise the copy is in setup."""
    incoming.settle_before(session)
    row, document = _locked(session, change, experiment_id, "restart_as_new")
    name, new_id = entities.derive_id(body.name, None, "plain")
    entities.ensure_free(session, DYNAMIC_CONFIGS, change.project_id, new_id)
    was_running = document["status"] == ACTIVE
    if was_running:
        _abandon(document, change, f"Restarted as new experiment {new_id}")
        _save(session, change, row, document, "experiment_abandon", "Abandoned Experiment")
    copy = documents.new_document(new_id, name)
    copy.update({k: deepcopy(v) for k, v in document.items() if k in _COPIED})
    documents.allocate_buckets(session, change.project_id, copy)
    new_row = entities.insert(
        session,
        EXPERIMENT,
        change,
        copy,
        action="experiment_create",
        change_log=f"Restarted {experiment_id} as a new Experiment",
    )
    if was_running:
        _start(session, change, new_row, entities.editable(new_row))
    return documents.dtos(session, change.project_id, [new_row.document])[0]


# Configuration carried into a restarted copy (statuses, times and salts are not).
_COPIED = frozenset(
    {
        "description",
        "idType",
        "hypothesis",
        "links",
        "groups",
        "controlGroupID",
        "allocation",
        "primaryMetrics",
        "secondaryMetrics",
        "otherMetrics",
        "primaryMetricTags",
        "secondaryMetricTags",
        "targetApps",
        "tags",
        "duration",
        "targetExposures",
        "targetingGateID",
        "sequentialTesting",
        "bonferroniCorrection",
        "bonferroniCorrectionPerMetric",
        "benjaminiHochbergPerVariant",
        "benjaminiHochbergPerMetric",
        "benjaminiPrimaryMetricsOnly",
        "defaultConfidenceInterval",
        "layerID",
        "holdoutIDs",
        "team",
        "teamID",
        "analyticsType",
        "inlineTargetingRules",
        "overrides",
    }
)


def archive(session: Session, change: Change, experiment_id: str, body: ArchiveIn) -> None:
    row, document = _locked(session, change, experiment_id, "archive")
    document["statusBeforeArchive"] = document["status"]
    document["status"] = ARCHIVED
    document["buckets"] = []
    text = "Archived Experiment" + (f": {body.archive_reason}" if body.archive_reason else "")
    _save(session, change, row, document, "experiment_archive", text)


def unarchive(session: Session, change: Change, experiment_id: str) -> None:
    row, document = _locked(session, change, experiment_id, "unarchive")
    document["status"] = document.pop("statusBeforeArchive", None) or SETUP
    documents.allocate_buckets(session, change.project_id, document)
    _save(session, change, row, document, "experiment_unarchive", "Unarchived Experiment")


def enable_groups(
    session: Session, change: Change, experiment_id: str, body: GroupNamesIn
) -> dict[str, Any]:
    return _set_groups_disabled(session, change, experiment_id, body, False)


def disable_groups(
    session: Session, change: Change, experiment_id: str, body: GroupNamesIn
) -> dict[str, Any]:
    return _set_groups_disabled(session, change, experiment_id, body, True)


def _set_groups_disabled(
    session: Session, change: Change, experiment_id: str, body: GroupNamesIn, disabled: bool
) -> dict[str, Any]:
    incoming.settle_before(session)
    row, document = _locked(
        session, change, experiment_id, "disable_groups" if disabled else "enable_groups"
    )
    if not body.group_names:
        raise InvalidInput.field("group_names", "name at least one group")
    for name in body.group_names:
        group = documents.find_group(document["groups"], name)
        if group is None:
            known = ", ".join(g["name"] for g in document["groups"])
            raise InvalidInput.field(
                "group_names", f"{name!r} is not a group of this experiment (groups: {known})"
            )
        if disabled:
            group["disabled"] = True
        else:
            group.pop("disabled", None)
    if all(g.get("disabled") for g in document["groups"]):
        raise InvalidInput.field("group_names", "at least one group must stay enabled")
    verb = "Disabled" if disabled else "Enabled"
    saved = _save(
        session,
        change,
        row,
        document,
        "experiment_update",
        f"{verb} groups {', '.join(body.group_names)}",
    )
    return documents.dtos(session, change.project_id, [saved.document])[0]


def drive_status(session: Session, change: Change, row: Any, body: ExperimentFields) -> None:
    """``status`` set through create or update (Terraform drives experiments this way)."""
    target, current = body.status, row.document["status"]
    if target == current:
        return
    experiment_id = row.id
    if target == ACTIVE:
        start(session, change, experiment_id)
    elif target == DECIDED:
        if not body.launched_group_id:
            raise InvalidInput.field("launchedGroupID", "is required to set status decision_made")
        make_decision(
            session,
            change,
            experiment_id,
            DecisionIn(id=body.launched_group_id, decision_reason=body.decision_reason or ""),
        )
    elif target == ABANDONED:
        abandon(
            session, change, experiment_id, AbandonIn(decision_reason=body.decision_reason or "")
        )
    elif target == ARCHIVED:
        archive(session, change, experiment_id, ArchiveIn())
    elif target == SETUP and current == ARCHIVED:
        unarchive(session, change, experiment_id)
    elif target == SETUP:
        reset(session, change, experiment_id)
    else:
        raise InvalidInput.field("status", f"{target!r} cannot be set through the Console API")
