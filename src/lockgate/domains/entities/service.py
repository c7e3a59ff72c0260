"""Create, save and delete entity documents with their version, audit entry and spec revision.

An entity is a JSON document (the API's DTO without computed fields) in a table of its kind,
plus the columns lists filter on. Every write goes through ``insert``/``save``/``remove`` so that
versions, audit entries and the project's spec revision can never be forgotten, nor the bounds
on a document's size (``entities.limits``).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from lockgate.domains.appids.resolve import resolve_target_apps
from lockgate.domains.audit import repository as history_repository
from lockgate.domains.audit.service import audit_change, record_version
from lockgate.domains.entities import graph, limits, repository, teams, writes
from lockgate.domains.entities.kinds import ALL_KINDS, HOLDOUT, PARAM_STORE, EntityKind
from lockgate.domains.entities.references import (
    canonical_environments,
    check_id_types,
    id_types_in,
    rename_environments,
)
from lockgate.domains.entities.repository import SORTS
from lockgate.domains.projects.repository import bump_spec_revision
from lockgate.domains.users import access
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.ids import name_to_id

NAME_RULES = {
    "dotted": re.compile(r"^[a-zA-Z0-9_\-. ]*$"),
    "plain": re.compile(r"^[a-zA-Z0-9_\- ]*$"),
}
ID_RULES = {
    "dotted": re.compile(r"^[a-zA-Z0-9_\-.]*$"),
    "plain": re.compile(r"^[a-zA-Z0-9_\-]*$"),
}


def derive_id(name: str | None, given_id: str | None, style: str = "dotted") -> tuple[str, str]:
    """Check a display name (and optional id) and return ``(name, id)`` as Statsig forms them."""
    if name is None or not name.strip():
        raise InvalidInput.field("name", "is required")
    name = name.strip()
    if not 3 <= len(name) <= 100:
        raise InvalidInput.field("name", f"must be 3 to 100 characters, got {len(name)}")
    if not NAME_RULES[style].match(name):
        allowed = "letters, digits, spaces, _ and -" + (" and ." if style == "dotted" else "")
        raise InvalidInput.field("name", f"{name!r} may contain only {allowed}")
    entity_id = given_id.strip() if given_id else name_to_id(name)
    if not 3 <= len(entity_id) <= 100:
        raise InvalidInput.field("id", f"must be 3 to 100 characters, got {len(entity_id)}")
    if not ID_RULES[style].match(entity_id):
        allowed = "letters, digits, _ and -" + (" and ." if style == "dotted" else "")
        raise InvalidInput.field("id", f"{entity_id!r} may contain only {allowed}")
    return name, entity_id


def target_apps(session: Session, project_id: str, value: str | list[str] | None) -> list[str]:
    """``targetApps`` as stored: the ids of the apps named (by id or name), each once, in the
    order given; an unknown app is a 400."""
    return resolve_target_apps(session, project_id, value, field="targetApps")


def find(
    session: Session, kind: EntityKind, project_id: str, entity_id: str, *, lock: bool = False
) -> Any | None:
    return repository.find(session, kind, project_id, entity_id, lock=lock)


def load(
    session: Session, kind: EntityKind, project_id: str, entity_id: str, *, lock: bool = False
) -> Any:
    row = repository.find(session, kind, project_id, entity_id, lock=lock)
    if row is None:
        raise NotFound(kind.not_found)
    return row


def exists(session: Session, kind: EntityKind, project_id: str, entity_id: str) -> bool:
    return repository.exists(session, kind, project_id, entity_id)


def ensure_free(
    session: Session, kinds: Sequence[EntityKind], project_id: str, entity_id: str
) -> None:
    """Names are unique within a namespace that may span several kinds (checked in one
    query)."""
    if repository.any_exists(session, kinds, project_id, entity_id):
        raise Conflict()


def _metadata_new(change: Change) -> dict[str, Any]:
    return {
        "creatorID": change.actor.id,
        "creatorName": change.actor.name,
        "creatorEmail": change.actor.email,
        "createdTime": change.now_ms,
        **_metadata_modified(change),
    }


def _metadata_modified(change: Change) -> dict[str, Any]:
    return {
        "lastModifierID": change.actor.id,
        "lastModifierName": change.actor.name,
        "lastModifierEmail": change.actor.email,
        "lastModifiedTime": change.now_ms,
    }


def _columns(kind: EntityKind, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": document.get("name") or document["id"],
        "status": document.get("status"),
        "id_type": document.get("idType"),
        "is_enabled": bool(document.get("isEnabled", True)),
        "creator_id": document.get("creatorID"),
        "creator_name": document.get("creatorName"),
        "created_time": document["createdTime"],
        "last_modified_time": document["lastModifiedTime"],
        "tags": list(document.get("tags") or []),
        **kind.columns(document),
    }


def insert(
    session: Session,
    kind: EntityKind,
    change: Change,
    document: dict[str, Any],
    *,
    action: str,
    change_log: str,
) -> Any:
    document = _check_vocabulary(session, change.project_id, None, document)
    document = teams.on_create(session, kind.entity_type, change, document)
    document = {**document, **_metadata_new(change), "version": 1}
    limits.check_document(kind, document)
    row = kind.model(project_id=change.project_id, id=document["id"], version=1, document=document)
    for column, value in _columns(kind, document).items():
        setattr(row, column, value)
    repository.add(session, kind, row)
    graph.record(session, change.project_id, kind.entity_type, row.id, None, document)
    _record(session, kind, change, row, None, action, change_log)
    writes.note(
        session,
        writes.Write("insert", kind.entity_type, row.id, None, None, document, action, change_log),
    )
    _join_default_holdout(session, kind, change, document)
    return row


# The holdout list each kind a holdout covers is attached through (domains/holdouts).
HOLDOUT_FIELDS = {"gate": "gateIDs", "experiment": "experimentIDs", "layer": "layerIDs"}


def _join_default_holdout(
    session: Session, kind: EntityKind, change: Change, document: dict[str, Any]
) -> None:
    """A new gate, experiment or layer of a team with a ``defaultHoldoutID`` joins that
    holdout, as if attached through the holdout's own update.

    See docs/console.md §Team policies."""
    field = HOLDOUT_FIELDS.get(kind.entity_type)
    team_id = document.get("teamID")
    if field is None or not team_id:
        return
    team = access.team(session, change.project_id, str(team_id))
    if team is None or not team.default_holdout_id:
        return
    holdout = find(session, HOLDOUT, change.project_id, team.default_holdout_id, lock=True)
    if holdout is None or document["id"] in (holdout.document.get(field) or []):
        return  # the team's holdout was deleted since it was chosen
    joined = copy.deepcopy(holdout.document)
    joined[field] = [*(joined.get(field) or []), document["id"]]
    times = joined.setdefault("attachedTimes", {})
    times[field] = {**(times.get(field) or {}), document["id"]: change.now_ms}
    save(
        session,
        HOLDOUT,
        change,
        holdout,
        joined,
        action="holdout_update",
        change_log=f"Added {kind.label} {document['id']}, a new entity of team {team.name}",
    )


def save(
    session: Session,
    kind: EntityKind,
    change: Change,
    row: Any,
    document: dict[str, Any],
    *,
    action: str,
    change_log: str,
) -> Any:
    """Store a new document for a row the caller loaded with ``lock=True``."""
    before = row.document
    base_version = row.version
    document = _check_vocabulary(session, change.project_id, before, document)
    document = teams.on_save(session, change, before, document)
    document = {**document, **_metadata_modified(change), "version": row.version + 1}
    limits.check_document(kind, document)
    row.document = document
    row.version = document["version"]
    for column, value in _columns(kind, document).items():
        setattr(row, column, value)
    session.flush()
    graph.record(session, change.project_id, kind.entity_type, row.id, before, document)
    _record(session, kind, change, row, before, action, change_log)
    writes.note(
        session,
        writes.Write(
            "save", kind.entity_type, row.id, base_version, before, document, action, change_log
        ),
    )
    return row


def remove(
    session: Session, kind: EntityKind, change: Change, row: Any, *, action: str, change_log: str
) -> None:
    before = row.document
    writes.note(
        session,
        writes.Write(
            "remove", kind.entity_type, row.id, row.version, before, None, action, change_log
        ),
    )
    history_repository.delete_versions(session, change.project_id, kind.entity_type, row.id)
    graph.forget(session, change.project_id, kind.entity_type, row.id)
    repository.remove(session, kind, row)
    _audit(session, kind, change, row.id, action, change_log, before, None)


def _check_vocabulary(
    session: Session, project_id: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, Any]:
    """Every unit id type, environment and target app a document newly names must exist in
    the project; returns the document with environments spelled as the project spells them
    and target apps named by id.

    Names the stored document already had are let through, so an entity saved before a type
    was checked can still be edited.
    """
    kept_types = id_types_in(before) if before else set()
    check_id_types(session, project_id, id_types_in(after) - kept_types, "idType")
    renames = canonical_environments(session, project_id, before, after)
    after = _resolved_app_conditions(session, project_id, before, after)
    if renames:
        after = copy.deepcopy(after)
        rename_environments(after, renames.get)
    return after


def _resolved_app_conditions(
    session: Session, project_id: str, before: dict[str, Any] | None, after: dict[str, Any]
) -> dict[str, Any]:
    """``after`` with the target apps its ``target_app`` conditions name (by id or name) as
    ids; an unknown app is a 400 naming the condition. SDKs compare these values with the id
    of the key's app (docs/console.md §Target apps), so a name would never match. Values the
    stored document already had are let through, as for environments."""
    kept = {
        value
        for _, _, values in _app_conditions(before)
        for value in values
        if isinstance(value, str)
    }
    resolved = after
    for key, (i, j), values in _app_conditions(after):
        where = f"{key}[{i}].conditions[{j}].targetValue"
        ids = [
            value
            if isinstance(value, str) and value in kept
            else resolve_target_apps(session, project_id, [value], field=where)[0]
            for value in values
        ]
        if ids != values:
            if resolved is after:
                resolved = copy.deepcopy(after)
            resolved[key][i]["conditions"][j]["targetValue"] = list(dict.fromkeys(ids))
    return resolved


def _app_conditions(
    document: dict[str, Any] | None,
) -> list[tuple[str, tuple[int, int], list[Any]]]:
    found: list[tuple[str, tuple[int, int], list[Any]]] = []
    for key in graph.RULE_LISTS:
        for i, rule in enumerate((document or {}).get(key) or ()):
            for j, condition in enumerate(rule.get("conditions") or ()):
                value = condition.get("targetValue")
                if condition.get("type") == "target_app" and value is not None:
                    found.append((key, (i, j), value if isinstance(value, list) else [value]))
    return found


def _record(
    session: Session,
    kind: EntityKind,
    change: Change,
    row: Any,
    before: dict[str, Any] | None,
    action: str,
    change_log: str,
) -> None:
    record_version(
        session,
        project_id=change.project_id,
        actor=change.actor,
        now_ms=change.now_ms,
        entity_type=kind.entity_type,
        entity_id=row.id,
        document=row.document,
    )
    quiet = ("version", "lastModifiedTime", "lastModifierID", "lastModifierName")
    before = {k: v for k, v in (before or {}).items() if k not in quiet} if before else None
    after = {k: v for k, v in row.document.items() if k not in quiet}
    _audit(session, kind, change, row.id, action, change_log, before, after)


def _audit(
    session: Session,
    kind: EntityKind,
    change: Change,
    entity_id: str,
    action: str,
    change_log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """The audit entry of a change (tagged with the entity's tags), and a spec revision when
    SDKs download the kind."""
    audit_change(
        session,
        change,
        entity_type=kind.entity_type,
        entity_id=entity_id,
        name=entity_id,
        action_type=action,
        change_log=change_log,
        before=before,
        after=after,
        tags=(after or before or {}).get("tags") or [],
    )
    if kind.affects_spec:
        bump_spec_revision(session, change.project_id, change.now_ms, (kind.entity_type, entity_id))


def editable(row: Any) -> dict[str, Any]:
    """A deep copy of the stored document, safe to modify before ``save``."""
    return copy.deepcopy(row.document)


def list_rows(
    session: Session,
    kind: EntityKind,
    project_id: str,
    conditions: Sequence[ColumnElement[bool]] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
    sort: str = "created",
) -> tuple[Sequence[Any], int]:
    """A page of rows; ``sort`` is one of ``SORTS``, an unknown one is refused."""
    if sort not in SORTS:
        raise InvalidInput.field(
            "sort", f"{sort!r} is not one of {', '.join(SORTS)}", location="query"
        )
    return repository.list_rows(
        session, kind, project_id, conditions, offset=offset, limit=limit, sort=sort
    )


def search_names(
    session: Session, kinds: Sequence[EntityKind], project_id: str, text: str, *, limit: int
) -> list[tuple[EntityKind, list[tuple[str, str]], int]]:
    """For each kind: the ``(id, name)`` of up to ``limit`` entities whose name contains
    ``text``, and how many match in all (the web console's search)."""
    found = []
    for kind in kinds:
        rows, total = repository.name_matches(session, kind, project_id, text, limit=limit)
        found.append((kind, rows, total))
    return found


def all_rows(session: Session, kind: EntityKind, project_id: str) -> Sequence[Any]:
    return list_rows(session, kind, project_id)[0]


def versions(
    session: Session, kind: EntityKind, project_id: str, entity_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = history_repository.list_versions(
        session, project_id, kind.entity_type, entity_id, offset=offset, limit=limit
    )
    return [r.document for r in rows], total


# The audit action of an entity whose team is cleared, per kind (Statsig's "update owners").
_RELEASE_ACTIONS = {
    "gate": "gate_update_owners",
    "dynamic_config": "dynamic_config_update_owners",
    "segment": "segment_update_owners",
    "experiment": "experiment_update_owners",
    "layer": "layer_update_owners",
    "holdout": "holdout_update_owners",
    "autotune": "autotune_experiment_edit",
    "metric": "custom_metric_update_owners",
    "param_store": "param_store_update_owners",
}


def _released(document: dict[str, Any], team_id: str) -> dict[str, Any] | None:
    """The document without the team (as owner and as allowed reviewer), or None when it
    names the team nowhere."""
    released = dict(document)
    if document.get("teamID") == team_id:
        released |= {"team": None, "teamID": None}
    review_settings = document.get("reviewSettings")
    if isinstance(review_settings, dict):
        allowed = review_settings.get("allowedReviewers") or []
        kept = [r for r in allowed if not (isinstance(r, dict) and r.get("id") == team_id)]
        if len(kept) != len(allowed):
            released["reviewSettings"] = {**review_settings, "allowedReviewers": kept}
    return released if released != document else None


def release_team(session: Session, change: Change, team_id: str) -> int:
    """Clear a deleted team from every entity: ``team``/``teamID`` where it owned one, and its
    entry in ``reviewSettings.allowedReviewers``. Each entity is saved (new version, audit
    entry, spec revision); returns how many were. Team deletion is rare, so the project's
    documents are read whole rather than indexed by team."""
    count = 0
    with writes.unnoted(session):
        for kind in (*ALL_KINDS, PARAM_STORE):
            rows, _ = repository.list_rows(session, kind, change.project_id)
            for found in rows:
                if _released(found.document, team_id) is None:
                    continue
                row = load(session, kind, change.project_id, found.id, lock=True)
                document = _released(row.document, team_id)
                if document is None:
                    continue
                save(
                    session,
                    kind,
                    change,
                    row,
                    document,
                    action=_RELEASE_ACTIONS[kind.entity_type],
                    change_log=f"Removed deleted team {team_id}",
                )
                count += 1
    return count
