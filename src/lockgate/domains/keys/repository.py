"""Queries over API keys."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from lockgate.kit.ids import hash_secret
from lockgate.kit.sqljson import json_list_overlaps
from lockgate.storage.models import ApiKey, Environment


def add(session: Session, key: ApiKey) -> None:
    session.add(key)
    session.flush()


def by_secret(session: Session, raw_key: str) -> ApiKey | None:
    """The key whose secret is ``raw_key``, in any project: how a request's key is recognised."""
    return session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_secret(raw_key))).first()


def get(session: Session, project_id: str, id_or_key: str, *, lock: bool = False) -> ApiKey | None:
    """Find a key by its public id or by the full secret."""
    query = select(ApiKey).where(
        ApiKey.project_id == project_id,
        (ApiKey.id == id_or_key) | (ApiKey.key_hash == hash_secret(id_or_key)),
    )
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def list_keys(
    session: Session,
    project_id: str,
    *,
    target_app: str | None,
    environment: str | None,
    offset: int,
    limit: int,
) -> tuple[Sequence[ApiKey], int]:
    conditions: list[ColumnElement[bool]] = [ApiKey.project_id == project_id]
    if target_app:
        conditions.append(ApiKey.primary_target_app == target_app)
    if environment:
        dialect = session.get_bind().dialect.name
        conditions.append(json_list_overlaps(ApiKey.environments, [environment], dialect))
    total = session.scalar(select(func.count()).select_from(ApiKey).where(*conditions)) or 0
    rows = session.scalars(
        select(ApiKey)
        .where(*conditions)
        .order_by(ApiKey.created_time, ApiKey.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def delete(session: Session, key: ApiKey) -> None:
    session.delete(key)
    session.flush()


def environment_names(session: Session, project_id: str) -> list[str]:
    return list(
        session.scalars(
            select(Environment.name)
            .where(Environment.project_id == project_id)
            .order_by(Environment.position, Environment.id)
        )
    )


def with_target_app(session: Session, project_id: str, app_id: str) -> Sequence[ApiKey]:
    """Keys whose primary or secondary apps include ``app_id``, locked for an update."""
    dialect = session.get_bind().dialect.name
    return session.scalars(
        select(ApiKey)
        .where(
            ApiKey.project_id == project_id,
            (ApiKey.primary_target_app == app_id)
            | json_list_overlaps(ApiKey.secondary_target_apps, [app_id], dialect),
        )
        .with_for_update()
    ).all()


def client_key_apps(session: Session, project_id: str) -> dict[str, str]:
    """djb2 of each active client key with a primary app → that app: the server payloads'
    ``hashed_sdk_keys_to_app_ids``."""
    rows = session.execute(
        select(ApiKey.client_key_djb2, ApiKey.primary_target_app).where(
            ApiKey.project_id == project_id,
            ApiKey.type == "CLIENT",
            ApiKey.status == "active",
            ApiKey.primary_target_app.is_not(None),
            ApiKey.client_key_djb2.is_not(None),
        )
    )
    return {str(hashed): str(app) for hashed, app in rows}
