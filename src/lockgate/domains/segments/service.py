"""Rules for segments: create, read, list, archive, delete, and a rule-based segment's rules.

A segment is a document in ``segments`` (``SegmentDto`` minus computed fields, plus the internal
fields in ``INTERNAL_FIELDS``). Archiving sets ``isEnabled: false`` and ``status: "Archived"``:
an archived segment matches nobody (it compiles to ``enabled: false, rules: []``) and can no
longer be modified, only read or deleted. Id-list membership lives in ``id_lists``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from lockgate.documents.stored import StoredRule
from lockgate.domains.entities import graph
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import GATE, SEGMENT
from lockgate.domains.entities.tags import checked_tags
from lockgate.domains.rules.schemas import RuleIn
from lockgate.domains.rules.validation import RuleContext, build_rules, public_rule
from lockgate.domains.segments import repository
from lockgate.domains.segments.schemas import SegmentCreate, rules_payload
from lockgate.errors import InvalidInput, describe_validation_errors
from lockgate.kit.actor import Change
from lockgate.kit.graphs import cycle_through
from lockgate.storage.models import Segment

RULE_BASED = "rule_based"
ID_LIST = "id_list"
USER_STORE_ID_LIST = "user_store_id_list"
ANALYSIS_LIST = "analysis_list"
CREATABLE_TYPES = (RULE_BASED, ID_LIST, USER_STORE_ID_LIST)
LIST_TYPES = (ID_LIST, USER_STORE_ID_LIST)
ARCHIVED = "Archived"
ACTIVE = "Active"
# The kinds whose rules can name a segment, as a refused delete names them.
USER_LABELS = {"gate": "gate", "dynamic_config": "dynamic config", "segment": "segment"}
# Stored but never shown: the spec salt the compiler needs, the lifecycle status (SegmentDto has
# none; ``isEnabled`` shows its effect) and the id-list version ``/idlist_metadata`` reports.
INTERNAL_FIELDS = ("salt", "status", "idListVersion")
DEFAULT_ID_TYPE = "userID"


def wrong_type(types: Sequence[str], verb: str = "modified") -> InvalidInput:
    allowed = " | ".join(f"'{t}'" for t in types)
    return InvalidInput(f"Segment must be of type {allowed} to be {verb} on this endpoint")


def segment_dto(row: Segment) -> dict[str, Any]:
    document = row.document
    shown = {k: v for k, v in document.items() if k not in INTERNAL_FIELDS}
    shown.setdefault("count", 0)
    if document["type"] == RULE_BASED:
        shown["rules"] = [public_rule(rule) for rule in document.get("rules") or []]
    return shown


def load(session: Session, project_id: str, segment_id: str) -> Segment:
    row: Segment = entities.load(session, SEGMENT, project_id, segment_id)
    return row


def read(session: Session, project_id: str, segment_id: str) -> dict[str, Any]:
    return segment_dto(load(session, project_id, segment_id))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int, tags: Sequence[str] = ()
) -> tuple[list[dict[str, Any]], int]:
    """A page of segments; ``tags`` (the web console's filter) keeps those with any of them."""
    where = repository.tag_conditions(session, tags)
    rows, total = entities.list_rows(
        session, SEGMENT, project_id, where, offset=offset, limit=limit
    )
    return [segment_dto(row) for row in rows], total


def load_for_change(
    session: Session, project_id: str, segment_id: str, types: Sequence[str]
) -> Segment:
    """Lock a segment that is about to change, after checking its type and that it is live."""
    row: Segment = entities.load(session, SEGMENT, project_id, segment_id, lock=True)
    if row.document["type"] not in types:
        raise wrong_type(types)
    if row.document.get("status") == ARCHIVED:
        raise InvalidInput.because(
            f"Segment {segment_id!r} is archived; "
            "an archived segment can be read or deleted, not modified"
        )
    return row


def _checked_type(raw: str | None) -> str:
    if raw is None:
        raise InvalidInput.field("type", "is required")
    if raw == ANALYSIS_LIST:
        raise InvalidInput.field(
            "type",
            "'analysis_list' segments are produced by warehouse analyses and cannot be created "
            "through the API; use 'rule_based', 'id_list' or 'user_store_id_list'",
        )
    if raw not in CREATABLE_TYPES:
        allowed = ", ".join(f"'{t}'" for t in CREATABLE_TYPES)
        raise InvalidInput.field("type", f"must be one of {allowed}, got {raw!r}")
    return raw


def _checked_id_type(raw: str | None) -> str:
    if raw is None:
        return DEFAULT_ID_TYPE
    id_type = raw.strip()
    if not id_type or len(id_type) > 100:
        raise InvalidInput.field("idType", "must be 1 to 100 characters (e.g. userID)")
    return id_type


def _rule_context(session: Session, project_id: str) -> RuleContext:
    return RuleContext(
        kind="segment",
        gate_exists=lambda gate_id: entities.exists(session, GATE, project_id, gate_id),
        segment_exists=lambda other: entities.exists(session, SEGMENT, project_id, other),
    )


def _parse_rules(raw: Any) -> list[RuleIn]:
    raw = rules_payload(raw)
    if not isinstance(raw, list):
        got = {dict: "an object", str: "a string", type(None): "no body"}.get(type(raw), "a value")
        raise InvalidInput.because(
            f"The body must be an array of rules (SegmentRulesDto), got {got}"
        )
    parsed = []
    for index, item in enumerate(raw):
        try:
            parsed.append(RuleIn.model_validate(item))
        except ValidationError as exc:
            errors = [{**e, "loc": (f"rules[{index}]", *e["loc"])} for e in exc.errors()]
            raise InvalidInput(describe_validation_errors(errors)[0]) from None
    return parsed


def _check_no_cycle(
    session: Session, project_id: str, segment_id: str, rules: Sequence[StoredRule]
) -> None:
    """A segment may name other segments, but never itself, directly or through others."""
    direct = graph.named_in(rules, "segment")
    if not direct:
        return
    # Only the segments the new rules reach are read (docs/architecture.md §Reference graph).
    edges = graph.reachable(session, project_id, "segment", direct, without=segment_id)
    edges[segment_id] = direct
    path = cycle_through(edges, segment_id)
    if path is not None:
        chain = " -> ".join(repr(s) for s in path)
        raise InvalidInput.field("rules", f"the segment conditions would form a cycle ({chain})")


def create(session: Session, change: Change, body: SegmentCreate) -> Segment:
    name, segment_id = entities.derive_id(body.name, body.id, style="plain")
    segment_type = _checked_type(body.type)
    document: dict[str, Any] = {
        "id": segment_id,
        "name": name,
        "description": body.description or "",
        "type": segment_type,
        "idType": _checked_id_type(body.id_type),
        "isEnabled": True,
        "status": ACTIVE,
        "tags": checked_tags(session, change.project_id, body.tags),
        "salt": str(uuid.uuid4()),
    }
    if body.team is not None or body.team_id is not None:
        document |= {"team": body.team, "teamID": body.team_id}
    entities.ensure_free(session, [SEGMENT], change.project_id, segment_id)
    if segment_type == RULE_BASED:
        rules = build_rules(body.rules or [], _rule_context(session, change.project_id))
        _check_no_cycle(session, change.project_id, segment_id, rules)
        document["rules"] = rules
    else:
        if body.rules:
            raise InvalidInput.field(
                "rules",
                f"only 'rule_based' segments have rules; fill a {segment_type!r} segment through "
                "its id list endpoints",
            )
        document |= {"count": 0, "idListVersion": 0}
    row: Segment = entities.insert(
        session, SEGMENT, change, document, action="segment_create", change_log="Created Segment"
    )
    return row


def update_rules(session: Session, change: Change, segment_id: str, raw: Any) -> Segment:
    row = load_for_change(session, change.project_id, segment_id, [RULE_BASED])
    incoming = _parse_rules(raw)
    document = entities.editable(row)
    rules = build_rules(
        incoming, _rule_context(session, change.project_id), document.get("rules") or []
    )
    _check_no_cycle(session, change.project_id, segment_id, rules)
    document["rules"] = rules
    return _save(
        session, change, row, document, "config_conditions_update", "Updated Segment rules"
    )


def archive(session: Session, change: Change, segment_id: str) -> Segment:
    row: Segment = entities.load(session, SEGMENT, change.project_id, segment_id, lock=True)
    if row.document.get("status") == ARCHIVED:
        return row  # already archived: nothing changes, so no new version
    document = entities.editable(row)
    document |= {"status": ARCHIVED, "isEnabled": False}
    return _save(session, change, row, document, "config_state_toggle", "Archived Segment")


def _save(
    session: Session,
    change: Change,
    row: Segment,
    document: dict[str, Any],
    action: str,
    change_log: str,
) -> Segment:
    saved: Segment = entities.save(
        session, SEGMENT, change, row, document, action=action, change_log=change_log
    )
    return saved


def used_by(session: Session, project_id: str, segment_id: str) -> list[tuple[str, str]]:
    """(kind, id) of the gates, dynamic configs and other segments whose rules name the
    segment, in that order of kinds, then by id."""
    return [
        (kind, entity_id)
        for kind, entity_id in sorted(
            graph.referrers(session, project_id, "segment", segment_id, list(USER_LABELS)),
            key=lambda user: list(USER_LABELS).index(user[0]),
        )
        if (kind, entity_id) != ("segment", segment_id)
    ]


def delete(session: Session, change: Change, segment_id: str) -> None:
    row: Segment = entities.load(session, SEGMENT, change.project_id, segment_id, lock=True)
    users = [
        f"{USER_LABELS[kind]} {entity_id!r}"
        for kind, entity_id in used_by(session, change.project_id, segment_id)
    ]
    if users:
        raise InvalidInput.because(
            f"Segment {segment_id!r} is used by {', '.join(users)}; "
            "remove those conditions before deleting it"
        )
    repository.clear_members(session, change.project_id, segment_id)
    entities.remove(
        session, SEGMENT, change, row, action="config_delete", change_log="Deleted Segment"
    )
