"""Rules for tags: unique names per project (case-insensitive), audited changes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.tags import repository
from lockgate.domains.tags.schemas import TagCreate, TagUpdate
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.kit.ids import random_id
from lockgate.storage.models import Tag

TAG_NOT_FOUND = "Tag not found. The requested resource could not be found."


def tag_dto(tag: Tag) -> dict[str, Any]:
    return {"id": tag.id, "name": tag.name, "description": tag.description, "isCore": tag.is_core}


def load(session: Session, project_id: str, id_or_name: str, *, lock: bool = False) -> Tag:
    tag = repository.get(session, project_id, id_or_name, lock=lock)
    if tag is None:
        raise NotFound(TAG_NOT_FOUND)
    return tag


def read(session: Session, project_id: str, id_or_name: str) -> dict[str, Any]:
    return tag_dto(load(session, project_id, id_or_name))


def list_(
    session: Session, project_id: str, *, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_tags(session, project_id, offset=offset, limit=limit)
    return [tag_dto(t) for t in rows], total


def _check_name_free(session: Session, project_id: str, name: str, own_id: str | None) -> None:
    clash = repository.by_name(session, project_id, name)
    if clash is not None and clash.id != own_id:
        raise Conflict()


def create(session: Session, project_id: str, actor: Actor, now_ms: int, body: TagCreate) -> Tag:
    name = body.name.strip()
    if not name:
        raise InvalidInput.field("name", "must not be blank")
    _check_name_free(session, project_id, name, None)
    tag = Tag(
        id=random_id(),
        project_id=project_id,
        name=name,
        description=body.description,
        is_core=body.is_core,
        created_time=now_ms,
    )
    repository.add(session, tag)
    _audit(session, tag, actor, now_ms, "tag_create", "Created Tag", None, tag_dto(tag))
    return tag


def patch(
    session: Session, project_id: str, actor: Actor, now_ms: int, tag_id: str, body: TagUpdate
) -> Tag:
    tag = load(session, project_id, tag_id, lock=True)
    before = tag_dto(tag)
    if body.name is not None:
        name = body.name.strip()
        if not name:
            raise InvalidInput.field("name", "must not be blank")
        _check_name_free(session, project_id, name, tag.id)
        tag.name = name
    if body.description is not None:
        tag.description = body.description
    if body.is_core is not None:
        tag.is_core = body.is_core
    session.flush()
    _audit(session, tag, actor, now_ms, "tag_edit", "Edited Tag", before, tag_dto(tag))
    return tag


def delete(session: Session, project_id: str, actor: Actor, now_ms: int, tag_id: str) -> None:
    tag = load(session, project_id, tag_id, lock=True)
    before = tag_dto(tag)
    repository.delete(session, tag)
    _audit(session, tag, actor, now_ms, "tag_delete", "Deleted Tag", before, None)


def _audit(
    session: Session,
    tag: Tag,
    actor: Actor,
    now_ms: int,
    action: str,
    change_log: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    record_audit(
        session,
        project_id=tag.project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="tag",
        entity_id=tag.id,
        name=tag.name,
        action_type=action,
        change_log=change_log,
        before=before,
        after=after,
        tags=[tag.name],
    )
