"""Rules for API keys: which scopes fit which kind, creation, rotation, deactivation.

A key is ``<prefix><public part><secret part>``. The public part (``id``) names the key in the
Console API and the audit log; only a sha256 of the whole key is stored, so the secret is shown
once, when the key is created or rotated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.cores.evaluation.hashing import djb2
from lockgate.domains.appids.resolve import filter_app_id, resolve_target_apps
from lockgate.domains.audit.service import record_audit
from lockgate.domains.keys import repository
from lockgate.domains.keys.schemas import KeyCreate, KeyUpdate
from lockgate.domains.revisions.repository import bump_spec_revision
from lockgate.errors import InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.kit.db import mark_sdk_stale
from lockgate.kit.ids import hash_secret, random_id
from lockgate.storage.models import ApiKey

PREFIXES = {"SERVER": "secret-", "CLIENT": "client-", "CONSOLE": "console-"}
ALLOWED_SCOPES: dict[str, frozenset[str]] = {
    "CONSOLE": frozenset(
        {
            "omni_read_only",
            "omni_read_write",
            "can_access_keys",
            "personal_read_only",
            "personal_read_write",
        }
    ),
    "SERVER": frozenset(),
    "CLIENT": frozenset(
        {"client_download_config_specs", "none_hash_enabled", "client_can_write_user_store"}
    ),
}
_ACCESS_SCOPES = ("omni_read_only", "omni_read_write", "personal_read_only", "personal_read_write")
KEY_NOT_FOUND = "Key not found."
PUBLIC_PART = 12
SECRET_PART = 32


def _checked_scopes(key_type: str, scopes: Sequence[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(scopes or []))
    allowed = ALLOWED_SCOPES[key_type]
    wrong = [s for s in chosen if s not in allowed]
    if wrong:
        raise InvalidInput.field(
            "scopes",
            f"{wrong[0]!r} does not apply to {key_type} keys (allowed: "
            f"{', '.join(sorted(allowed)) or 'none'})",
        )
    if key_type == "CONSOLE":
        access = [s for s in chosen if s in _ACCESS_SCOPES]
        if len(access) > 1:
            raise InvalidInput.field(
                "scopes",
                f"a console key takes one of {', '.join(_ACCESS_SCOPES)}, got {', '.join(access)}",
            )
        if not access:
            # A console key with no access scope could do nothing; read-only is the safe default.
            chosen.insert(0, "omni_read_only")
    return chosen


def _checked_environments(session: Session, project_id: str, wanted: Sequence[str]) -> list[str]:
    """The environments a key names, as its project spells them, each once; an unknown one is
    a 400 (docs/console.md §Environments). Scoped payloads compare the names exactly."""
    known = repository.environment_names(session, project_id)
    spelled = {n.lower(): n for n in known}
    checked: list[str] = []
    for index, name in enumerate(wanted):
        project_name = spelled.get(name.lower())
        if project_name is None:
            raise InvalidInput.field(
                f"environments[{index}]",
                f"unknown environment {name!r} (the project has: {', '.join(known)})",
            )
        if project_name not in checked:
            checked.append(project_name)
    return checked


_PERSONAL_SCOPES = frozenset({"personal_read_only", "personal_read_write"})


def _check_personal(key: ApiKey) -> None:
    """Personal scopes and a user go together: a personal key without one could not say who
    acts, and a user's key with an omni scope would not act as them."""
    personal = bool(_PERSONAL_SCOPES & set(key.scopes or []))
    if key.user_id is not None and (key.type != "CONSOLE" or not personal):
        raise InvalidInput.field(
            "scopes", "a user's key is a CONSOLE key with personal_read_only or personal_read_write"
        )
    if key.user_id is None and personal:
        raise InvalidInput.field("scopes", "personal scopes need a user (the key's owner)")


def _new_secret(prefix: str, public_id: str | None = None) -> tuple[str, str]:
    key_id = public_id or f"{prefix}{random_id(PUBLIC_PART)}"
    return key_id, f"{key_id}{random_id(SECRET_PART)}"


def _checked_apps(
    session: Session, project_id: str, primary: str | None, secondary: Sequence[str] | None
) -> tuple[str | None, list[str] | None]:
    """The key's (primary, secondary) app ids; secondary apps need a primary one."""
    primary_ids = resolve_target_apps(session, project_id, primary, field="targetAppID")
    secondary_ids = resolve_target_apps(
        session, project_id, secondary, field="secondaryTargetAppIDs"
    )
    if secondary_ids and not primary_ids:
        raise InvalidInput.field("secondaryTargetAppIDs", "needs a targetAppID as well")
    first = primary_ids[0] if primary_ids else None
    others = [a for a in secondary_ids if a != first]
    return first, others or None


def _has_apps(key: ApiKey) -> bool:
    return key.primary_target_app is not None


def _client_key_hash(key_type: str, secret: str) -> str | None:
    """What ``hashed_sdk_keys_to_app_ids`` is keyed by: djb2 of a client key's full text."""
    return djb2(secret) if key_type == "CLIENT" else None


def key_dto(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    return {
        "id": key.id,
        "key": secret,
        "type": key.type,
        "description": key.description,
        "scopes": list(key.scopes or []),
        "environments": list(key.environments or []),
        "primaryTargetApp": key.primary_target_app,
        "secondaryTargetApps": key.secondary_target_apps,
        "status": key.status,
        "createdTime": key.created_time,
    }


def _snapshot(key: ApiKey) -> dict[str, Any]:
    return {k: v for k, v in key_dto(key).items() if k != "key"}


def issue(
    session: Session,
    *,
    project_id: str,
    actor: Actor,
    now_ms: int,
    key_type: str,
    description: str,
    scopes: Sequence[str] | None = None,
    environments: Sequence[str] | None = None,
    target_app: str | None = None,
    secondary_target_apps: Sequence[str] | None = None,
    user_id: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its secret. A personal console key (``user_id``) acts
    as its user and takes a ``personal_*`` scope."""
    if key_type not in PREFIXES:
        raise InvalidInput.field(
            "type", f"Lockgate does not issue {key_type} keys (supported: SERVER, CLIENT, CONSOLE)"
        )
    if environments:
        environments = _checked_environments(session, project_id, environments)
    key_id, secret = _new_secret(PREFIXES[key_type])
    primary, secondary = _checked_apps(session, project_id, target_app, secondary_target_apps)
    key = ApiKey(
        id=key_id,
        project_id=project_id,
        type=key_type,
        key_hash=hash_secret(secret),
        description=description,
        scopes=_checked_scopes(key_type, scopes),
        environments=list(environments) if environments is not None else None,
        primary_target_app=primary,
        secondary_target_apps=secondary,
        client_key_djb2=_client_key_hash(key_type, secret),
        status="active",
        user_id=user_id,
        created_time=now_ms,
    )
    _check_personal(key)
    repository.add(session, key)
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="key",
        entity_id=key.id,
        name=key.id,
        action_type="sdk_key_create",
        change_log=f"Created {key_type} key",
        after=_snapshot(key),
    )
    if _has_apps(key):
        bump_spec_revision(session, project_id, now_ms)
    return key, secret


def create(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: KeyCreate
) -> tuple[ApiKey, str]:
    return issue(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        key_type=body.type,
        description=body.description,
        scopes=body.scopes,
        environments=body.environments,
        target_app=body.target_app_id,
        secondary_target_apps=body.secondary_target_app_ids,
        # A user asking for a personal key gets one acting as themselves.
        user_id=actor.id if actor.is_user and _PERSONAL_SCOPES & set(body.scopes or []) else None,
    )


def load(session: Session, project_id: str, key_id: str, *, lock: bool = False) -> ApiKey:
    key = repository.get(session, project_id, key_id, lock=lock)
    if key is None:
        raise NotFound(KEY_NOT_FOUND)
    return key


def read(session: Session, project_id: str, key_id: str) -> dict[str, Any]:
    return key_dto(load(session, project_id, key_id))


def list_(
    session: Session,
    project_id: str,
    *,
    target_app: str | None,
    environment: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    rows, total = repository.list_keys(
        session,
        project_id,
        target_app=filter_app_id(session, project_id, target_app),
        environment=environment,
        offset=offset,
        limit=limit,
    )
    return [key_dto(k) for k in rows], total


def patch(
    session: Session, project_id: str, actor: Actor, now_ms: int, key_id: str, body: KeyUpdate
) -> ApiKey:
    key = load(session, project_id, key_id, lock=True)
    before = _snapshot(key)
    given = body.model_fields_set
    if body.description is not None:
        key.description = body.description
    if body.scopes is not None:
        key.scopes = _checked_scopes(key.type, body.scopes)
        _check_personal(key)
    if body.environments is not None:
        key.environments = _checked_environments(session, project_id, body.environments)
    if given & {"target_app_id", "secondary_target_app_ids"}:
        primary = body.target_app_id if "target_app_id" in given else key.primary_target_app
        secondary = (
            body.secondary_target_app_ids
            if "secondary_target_app_ids" in given
            else key.secondary_target_apps
        )
        key.primary_target_app, key.secondary_target_apps = _checked_apps(
            session, project_id, primary, secondary
        )
    session.flush()
    after = _snapshot(key)
    action, change_log = _patch_action(before, after)
    _audit(session, key, actor, now_ms, action, change_log, before)
    return key


_PATCH_ACTIONS = (
    ("primaryTargetApp", "sdk_key_update_target_app", "Updated target apps of key"),
    ("secondaryTargetApps", "sdk_key_update_target_app", "Updated target apps of key"),
    ("environments", "sdk_key_update_environments", "Updated environments of key"),
    ("scopes", "sdk_key_update_scopes", "Updated scopes of key"),
)


def _patch_action(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, str]:
    for field, action, text in _PATCH_ACTIONS:
        if before.get(field) != after.get(field):
            return action, text
    return "sdk_key_update_description", "Updated key"


def deactivate(session: Session, project_id: str, actor: Actor, now_ms: int, key_id: str) -> ApiKey:
    key = load(session, project_id, key_id, lock=True)
    before = _snapshot(key)
    key.status = "deactivated"
    session.flush()
    _audit(session, key, actor, now_ms, "sdk_key_deactivate", "Deactivated key", before)
    return key


def rotate(
    session: Session, project_id: str, actor: Actor, now_ms: int, key_id: str
) -> tuple[ApiKey, str]:
    """Issue a new secret under the same public id; the old secret stops working at once."""
    key = load(session, project_id, key_id, lock=True)
    before = _snapshot(key)
    _, secret = _new_secret(PREFIXES[key.type], key.id)
    key.key_hash = hash_secret(secret)
    key.client_key_djb2 = _client_key_hash(key.type, secret)
    session.flush()
    _audit(session, key, actor, now_ms, "secret_key_regenerate", "Rotated key", before)
    return key, secret


def delete(session: Session, project_id: str, actor: Actor, now_ms: int, key_id: str) -> None:
    key = load(session, project_id, key_id, lock=True)
    before = _snapshot(key)
    repository.delete(session, key)
    mark_sdk_stale(session)  # the SDK face's key cache forgets it (docs/operations.md)
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="key",
        entity_id=before["id"],
        name=before["id"],
        action_type="sdk_key_delete",
        change_log="Deleted key",
        before=before,
    )
    if before["primaryTargetApp"]:
        bump_spec_revision(session, project_id, now_ms)


def _audit(
    session: Session,
    key: ApiKey,
    actor: Actor,
    now_ms: int,
    action: str,
    change_log: str,
    before: dict[str, Any],
) -> None:
    mark_sdk_stale(session)  # the SDK face's key cache reads the key again (docs/operations.md)
    record_audit(
        session,
        project_id=key.project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="key",
        entity_id=key.id,
        name=key.id,
        action_type=action,
        change_log=change_log,
        before=before,
        after=_snapshot(key),
    )
    if before.get("primaryTargetApp") or key.primary_target_app:
        # What the key downloads, and (for a client key) every server payload's
        # sdk_keys_to_app_ids, depend on its apps (docs/sdk.md §Target apps).
        bump_spec_revision(session, key.project_id, now_ms)
