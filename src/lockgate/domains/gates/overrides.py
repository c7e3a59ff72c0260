"""Gate overrides: ids forced to pass or fail, overall and per environment
(docs/console.md §Overrides).

``POST`` replaces, ``PATCH`` adds, ``DELETE`` removes the listed ids. Each section of the body
(the id lists, the environment overrides) is only touched when the body carries it. The result
is stored in the gate document under ``overrides``; every change is a new gate version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredEnvironmentOverride, StoredGateOverrides
from lockgate.domains.gates import service
from lockgate.domains.gates.schemas import EnvironmentOverrideIn, OverridesIn
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Change

Mode = Literal["replace", "add", "remove"]
IdList = Literal["passingUserIDs", "failingUserIDs", "passingCustomIDs", "failingCustomIDs"]
MAX_IDS = 2000
ID_LISTS: tuple[tuple[IdList, str], ...] = (
    ("passingUserIDs", "passing_user_ids"),
    ("failingUserIDs", "failing_user_ids"),
    ("passingCustomIDs", "passing_custom_ids"),
    ("failingCustomIDs", "failing_custom_ids"),
)
PAIRS: tuple[tuple[IdList, IdList], ...] = (
    ("passingUserIDs", "failingUserIDs"),
    ("passingCustomIDs", "failingCustomIDs"),
)


def overrides_of(document: Mapping[str, Any]) -> StoredGateOverrides:
    """A gate's (or holdout's) stored overrides, every list present (and a copy)."""
    stored = document.get("overrides") or {}
    return {
        "passingUserIDs": list(stored.get("passingUserIDs") or []),
        "failingUserIDs": list(stored.get("failingUserIDs") or []),
        "passingCustomIDs": list(stored.get("passingCustomIDs") or []),
        "failingCustomIDs": list(stored.get("failingCustomIDs") or []),
        "environmentOverrides": list(stored.get("environmentOverrides") or []),
    }


def _clean_ids(values: Sequence[str], where: str) -> list[str]:
    ids: list[str] = []
    for index, value in enumerate(values):
        if not value.strip():
            raise InvalidInput.field(f"{where}[{index}]", "ids must be non-empty strings")
        ids.append(value)
    if len(ids) > MAX_IDS:
        raise InvalidInput.field(where, f"at most {MAX_IDS} ids, got {len(ids)}")
    return list(dict.fromkeys(ids))


def _combine(current: list[str], incoming: list[str], mode: Mode) -> list[str]:
    if mode == "replace":
        return incoming
    if mode == "add":
        return list(dict.fromkeys([*current, *incoming]))
    gone = set(incoming)
    return [i for i in current if i not in gone]


def _check_result(passing: list[str], failing: list[str], where: str) -> None:
    for name, ids in ((f"{where} passing", passing), (f"{where} failing", failing)):
        if len(ids) > MAX_IDS:
            raise InvalidInput.field(name, f"would hold {len(ids)} ids; at most {MAX_IDS} allowed")
    both = sorted(set(passing) & set(failing))
    if both:
        raise InvalidInput.field(where, f"ids {both} would be both passing and failing")


def _env_key(entry: StoredEnvironmentOverride) -> tuple[str | None, str | None]:
    return entry.get("environment"), entry.get("unitID")


def _merge_environments(
    current: list[StoredEnvironmentOverride],
    incoming: Sequence[EnvironmentOverrideIn],
    mode: Mode,
) -> list[StoredEnvironmentOverride]:
    merged: dict[tuple[str | None, str | None], StoredEnvironmentOverride] = (
        {} if mode == "replace" else {_env_key(e): e.copy() for e in current}
    )
    for index, item in enumerate(incoming):
        where = f"environmentOverrides[{index}]"
        key = (item.environment, item.unit_id)
        passing = _clean_ids(item.passing_ids, f"{where}.passingIDs")
        failing = _clean_ids(item.failing_ids, f"{where}.failingIDs")
        old = merged.get(key)
        passing = _combine(old["passingIDs"] if old else [], passing, mode)
        failing = _combine(old["failingIDs"] if old else [], failing, mode)
        _check_result(passing, failing, where)
        merged[key] = {
            "environment": item.environment,
            "unitID": item.unit_id,
            "passingIDs": passing,
            "failingIDs": failing,
        }
    return [e for e in merged.values() if e["passingIDs"] or e["failingIDs"]]


def apply(current: StoredGateOverrides, body: OverridesIn, mode: Mode) -> StoredGateOverrides:
    """The overrides after applying ``body`` in ``mode``; raises InvalidInput on bad input."""
    given = {attr for _, attr in ID_LISTS if getattr(body, attr) is not None}
    if not given and body.environment_overrides is None:
        raise InvalidInput.because(
            "Give passingUserIDs and failingUserIDs (optionally "
            "passingCustomIDs, failingCustomIDs), or environmentOverrides"
        )
    result: StoredGateOverrides = {
        "passingUserIDs": list(current["passingUserIDs"]),
        "failingUserIDs": list(current["failingUserIDs"]),
        "passingCustomIDs": list(current["passingCustomIDs"]),
        "failingCustomIDs": list(current["failingCustomIDs"]),
        "environmentOverrides": list(current["environmentOverrides"]),
    }
    if given:
        for wire, attr in ID_LISTS:
            incoming = getattr(body, attr)
            if incoming is None and mode != "replace":
                continue
            ids = _clean_ids(incoming or [], wire)
            result[wire] = _combine(current[wire], ids, mode)
        for passing, failing in PAIRS:
            _check_result(result[passing], result[failing], f"{passing}/{failing}")
    if body.environment_overrides is not None:
        result["environmentOverrides"] = _merge_environments(
            current["environmentOverrides"], body.environment_overrides, mode
        )
    return result


def change_overrides(
    session: Session, change: Change, gate_id: str, body: OverridesIn, mode: Mode
) -> StoredGateOverrides:
    def edit(document: dict[str, Any]) -> None:
        document["overrides"] = apply(overrides_of(document), body, mode)

    log: dict[Mode, str] = {
        "replace": "Replaced Gate Overrides",
        "add": "Added Gate Overrides",
        "remove": "Removed Gate Overrides",
    }
    row = service.apply_edit(
        session, change, gate_id, edit, action="gate_overrides_update", change_log=log[mode]
    )
    return overrides_of(row.document)
