"""Rules for target apps: unique names, tagging entities, and removal from everything on delete.

Every change is audited and bumps the project's spec revision, because what a key with apps
downloads, and every server payload's ``sdk_keys_to_app_ids``, depend on the apps
(docs/compiling.md §Target apps).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.appids import repository
from lockgate.domains.audit.service import audit_change
from lockgate.domains.entities import service as entities
from lockgate.domains.entities.kinds import (
    AUTOTUNE,
    DYNAMIC_CONFIG,
    EXPERIMENT,
    GATE,
    HOLDOUT,
    LAYER,
    SEGMENT,
    EntityKind,
)
from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.param_stores import service as param_stores
from lockgate.domains.revisions.repository import bump_spec_revision
from lockgate.domains.targetapps.schemas import (
    TargetAppBulkAssign,
    TargetAppCreate,
    TargetAppUpdate,
)
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Change
from lockgate.kit.ids import random_id
from lockgate.storage.models import TargetApp

TARGET_APP_NOT_FOUND = "Target app not found."
# The kinds whose documents carry ``targetApps``, with the audit action of changing them.
TAGGED_KINDS: tuple[tuple[EntityKind, str], ...] = (
    (GATE, "config_edit_target_apps"),
    (DYNAMIC_CONFIG, "config_edit_target_apps"),
    (SEGMENT, "config_edit_target_apps"),
    (EXPERIMENT, "experiment_update_target_apps"),
    (LAYER, "layer_update_target_apps"),
    (HOLDOUT, "config_edit_target_apps"),
    (AUTOTUNE, "autotune_experiment_update_target_apps"),
)
# Kinds a request tags by id, with the request field and the 404 wording's plural.
_ASSIGNABLE: tuple[tuple[str, EntityKind, str], ...] = (
    ("gates", GATE, "Gates"),
    ("dynamic_configs", DYNAMIC_CONFIG, "Dynamic configs"),
    ("experiments", EXPERIMENT, "Experiments"),
)


def target_app_dto(app: TargetApp) -> dict[str, Any]:
    return {"id": app.id, "name": app.name, "description": app.description}


def load(session: Session, project_id: str, id_or_name: str, *, lock: bool = False) -> TargetApp:
    app = repository.get(session, project_id, id_or_name, lock=lock)
    if app is None:
        raise NotFound(TARGET_APP_NOT_FOUND)
    return app


def read(session: Session, project_id: str, id_or_name: str) -> dict[str, Any]:
    return target_app_dto(load(session, project_id, id_or_name))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_apps(session, project_id, offset=offset, limit=limit)
    return [target_app_dto(a) for a in rows], total


def _checked_name(session: Session, project_id: str, name: str, own_id: str | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput.field("name", "must not be blank")
    clash = repository.by_name(session, project_id, name)
    if clash is not None and clash.id != own_id:
        raise Conflict()
    return name


def _entities_to_tag(
    session: Session, project_id: str, body: TargetAppCreate | TargetAppBulkAssign
) -> list[tuple[EntityKind, Any]]:
    """The rows a request names, locked; every unknown id is a 404 naming its kind."""
    rows: list[tuple[EntityKind, Any]] = []
    for field, kind, plural in _ASSIGNABLE:
        ids = list(dict.fromkeys(getattr(body, field) or []))
        found = {i: entities.find(session, kind, project_id, i, lock=True) for i in ids}
        missing = [i for i, row in found.items() if row is None]
        if missing:
            raise NotFound(f"{plural} with IDs [{', '.join(missing)}] do not exist")
        rows += [(kind, row) for row in found.values()]
    return rows


def _action(kind: EntityKind) -> str:
    return next(action for tagged, action in TAGGED_KINDS if tagged is kind)


def _set_apps(
    session: Session, change: Change, kind: EntityKind, row: Any, apps: Sequence[str]
) -> None:
    document = entities.editable(row)
    if list(document.get("targetApps") or []) == list(apps):
        return
    document["targetApps"] = list(apps)
    entities.save(
        session,
        kind,
        change,
        row,
        document,
        action=_action(kind),
        change_log=f"Updated target apps of {kind.label}",
    )


def _add_apps(
    session: Session,
    change: Change,
    rows: list[tuple[EntityKind, Any]],
    app_ids: Sequence[str],
) -> None:
    for kind, row in rows:
        current = [str(a) for a in row.document.get("targetApps") or []]
        _set_apps(session, change, kind, row, list(dict.fromkeys([*current, *app_ids])))


def create(session: Session, change: Change, body: TargetAppCreate) -> TargetApp:
    name = _checked_name(session, change.project_id, body.name, None)
    rows = _entities_to_tag(session, change.project_id, body)
    app = TargetApp(
        id=random_id(),
        project_id=change.project_id,
        name=name,
        description=body.description,
        created_time=change.now_ms,
    )
    repository.add(session, app)
    _audit(
        session, app, change, "create_customer_app", "Created Target App", None, target_app_dto(app)
    )
    _add_apps(session, change, rows, [app.id])
    return app


def bulk_assign(session: Session, change: Change, body: TargetAppBulkAssign) -> None:
    """Add the apps to each named entity; apps the entity already has stay (a union)."""
    app_ids = [load(session, change.project_id, ref).id for ref in body.target_apps]
    rows = _entities_to_tag(session, change.project_id, body)
    _add_apps(session, change, rows, list(dict.fromkeys(app_ids)))


def patch(session: Session, change: Change, app_id: str, body: TargetAppUpdate) -> TargetApp:
    app = load(session, change.project_id, app_id, lock=True)
    before = target_app_dto(app)
    if body.name is not None:
        app.name = _checked_name(session, change.project_id, body.name, app.id)
    if body.description is not None:
        app.description = body.description
    session.flush()
    # Payloads carry app ids, not names: a rename changes no SDK payload.
    _audit(
        session, app, change, "edit_target_app", "Edited Target App", before, target_app_dto(app)
    )
    return app


def delete(session: Session, change: Change, app_id: str) -> None:
    """Delete the app and take it off every entity, parameter store and key that carries it."""
    app = load(session, change.project_id, app_id, lock=True)
    before = target_app_dto(app)
    for kind, _ in TAGGED_KINDS:
        for row in entities.all_rows(session, kind, change.project_id):
            apps = [str(a) for a in row.document.get("targetApps") or []]
            if app.id in apps:
                locked = entities.load(session, kind, change.project_id, row.id, lock=True)
                _set_apps(session, change, kind, locked, [a for a in apps if a != app.id])
    param_stores.remove_target_app(session, change, app.id)
    for key in keys_repository.with_target_app(session, change.project_id, app.id):
        secondary = [a for a in key.secondary_target_apps or [] if a != app.id]
        if key.primary_target_app == app.id:
            # A key keeps a primary app while it has any: the first secondary one moves up.
            key.primary_target_app = secondary.pop(0) if secondary else None
        key.secondary_target_apps = secondary or None
        audit_change(
            session,
            change,
            entity_type="key",
            entity_id=key.id,
            name=key.id,
            action_type="sdk_key_update_target_app",
            change_log=f"Removed deleted target app {app.name}",
        )
    repository.delete(session, app)
    _audit(session, app, change, "delete_target_app", "Deleted Target App", before, None)


def _audit(
    session: Session,
    app: TargetApp,
    change: Change,
    action: str,
    change_log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_change(
        session,
        change,
        entity_type="target_app",
        entity_id=app.id,
        name=app.name,
        action_type=action,
        change_log=change_log,
        before=before,
        after=after,
    )
    bump_spec_revision(session, change.project_id, change.now_ms)
