"""Rules for environments: the list is replaced as a whole, production stays, names are unique,
names in use cannot go, and a rename follows into every reference (docs/console.md §Environments).

Rules (``rules[].environments``), overrides (``environment``) and keys (``environments``) name
environments by name; a change recompiles every payload, since keys limited to environments
receive only the rules that can apply there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import audit_change, record_audit
from lockgate.domains.entities import repository as entities_repository
from lockgate.domains.entities.kinds import ALL_KINDS
from lockgate.domains.entities.references import environments_in, rename_environments
from lockgate.domains.environments import repository
from lockgate.domains.environments.schemas import EnvironmentIn, EnvironmentsUpdate
from lockgate.domains.projects.repository import bump_spec_revision
from lockgate.domains.projects.service import new_environment_id as _new_id
from lockgate.domains.users import access
from lockgate.errors import InvalidInput
from lockgate.kit.actor import Actor, Change
from lockgate.storage.models import Environment


def dto(row: Environment) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "name": row.name,
        "id": row.id,
        "isProduction": row.is_production,
        "requiresReview": row.requires_review,
        "requiresReleasePipeline": row.requires_release_pipeline,
    }
    if row.required_review_group_id is not None:
        shown["requiredReviewGroupID"] = row.required_review_group_id
    return shown


def read(session: Session, project_id: str) -> dict[str, Any]:
    return {"environments": [dto(e) for e in repository.list_environments(session, project_id)]}


def _resolve(
    current: Sequence[Environment], incoming: Sequence[EnvironmentIn]
) -> list[tuple[EnvironmentIn, Environment | None]]:
    """Pair each incoming entry with the environment it keeps: by ``id``, or for an entry
    without one, by an unclaimed environment of the same name (so a list sent back without ids
    keeps its environments); the rest are new.
    """
    by_id = {e.id: e for e in current}
    names: set[str] = set()
    claimed: dict[int, Environment] = {}
    for index, entry in enumerate(incoming):
        where = f"environments[{index}]"
        name = entry.name.strip()
        if not name:
            raise InvalidInput.field(f"{where}.name", "must not be blank")
        if name.lower() in names:
            raise InvalidInput.field(f"{where}.name", f"{name!r} appears more than once")
        names.add(name.lower())
        if entry.id is None:
            continue
        kept = by_id.get(entry.id)
        if kept is None:
            raise InvalidInput.field(
                f"{where}.id", f"no environment has id {entry.id!r}; omit id for a new one"
            )
        if any(k.id == kept.id for k in claimed.values()):
            raise InvalidInput.field(f"{where}.id", f"id {kept.id!r} appears more than once")
        claimed[index] = kept
    free = {e.name.lower(): e for e in current if e not in claimed.values()}
    for index, entry in enumerate(incoming):
        if entry.id is None and entry.name.strip().lower() in free:
            claimed[index] = free.pop(entry.name.strip().lower())
    return [(entry, claimed.get(index)) for index, entry in enumerate(incoming)]


def _check_production(
    session: Session, project_id: str, pairs: Sequence[tuple[EnvironmentIn, Environment | None]]
) -> None:
    for index, (entry, kept) in enumerate(pairs):
        where = f"environments[{index}]"
        if kept is not None and kept.is_production:
            if entry.name.strip() != kept.name:
                raise InvalidInput.field(
                    f"{where}.name", f"the production environment {kept.name!r} cannot be renamed"
                )
            if not entry.is_production:
                raise InvalidInput.field(
                    f"{where}.isProduction",
                    f"the production environment {kept.name!r} must stay production",
                )
        elif entry.is_production:
            raise InvalidInput.field(
                f"{where}.isProduction", "a project has one production environment"
            )
        group = entry.required_review_group_id
        if group is not None and access.team(session, project_id, group) is None:
            raise InvalidInput.field(
                f"{where}.requiredReviewGroupID",
                f"no team has id {entry.required_review_group_id!r}",
            )


def _references(session: Session, project_id: str) -> list[tuple[str, set[str]]]:
    """(``kind id``, environment names) of every document and key that names environments."""
    found: list[tuple[str, set[str]]] = []
    for kind in ALL_KINDS:
        rows, _ = entities_repository.list_rows(session, kind, project_id)
        for row in rows:
            names = environments_in(row.document)
            if names:
                found.append((f"{kind.entity_type} {row.id}", names))
    for key in repository.project_keys(session, project_id):
        if key.environments:
            found.append((f"key {key.id}", set(key.environments)))
    return found


def _check_removals(session: Session, project_id: str, removed: Sequence[Environment]) -> None:
    for env in removed:
        lowered = env.name.lower()
        users = [
            who
            for who, names in _references(session, project_id)
            if any(n.lower() == lowered for n in names)
        ]
        if env.is_production:
            raise InvalidInput.field(
                "environments", f"the production environment {env.name!r} cannot be removed"
            )
        if users:
            shown = ", ".join(users[:10]) + (
                f" and {len(users) - 10} more" if len(users) > 10 else ""
            )
            raise InvalidInput.field(
                "environments", f"environment {env.name!r} cannot be removed: used by {shown}"
            )


def _apply_renames(session: Session, project_id: str, renames: dict[str, str]) -> None:
    """Rewrite references in place: a rename is one project change, not an edit of each entity,
    so documents keep their version and the one audit entry records it."""

    def rename(name: str) -> str | None:
        return renames.get(name.lower())

    for kind in ALL_KINDS:
        rows, _ = entities_repository.list_rows(session, kind, project_id)
        for row in rows:
            document = _deep_copy(row.document)
            if rename_environments(document, rename):
                row.document = document
    for key in repository.project_keys(session, project_id, lock=True):
        if key.environments:
            renamed = [renames.get(n.lower(), n) for n in key.environments]
            if renamed != key.environments:
                key.environments = list(dict.fromkeys(renamed))
    session.flush()


def _deep_copy(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: _deep_copy(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_deep_copy(v) for v in document]
    return document


def replace(
    session: Session, project_id: str, actor: Actor, now_ms: int, body: EnvironmentsUpdate
) -> dict[str, Any]:
    current = list(repository.list_environments(session, project_id, lock=True))
    before = [dto(e) for e in current]
    pairs = _resolve(current, body.environments)
    _check_production(session, project_id, pairs)
    kept_ids = {kept.id for _, kept in pairs if kept is not None}
    _check_removals(session, project_id, [e for e in current if e.id not in kept_ids])
    renames = {
        kept.name.lower(): entry.name.strip()
        for entry, kept in pairs
        if kept is not None and entry.name.strip() != kept.name
    }
    if renames:
        _apply_renames(session, project_id, renames)
    for env in current:
        if env.id not in kept_ids:
            repository.delete(session, env)
    added = []
    for position, (entry, kept) in enumerate(pairs):
        row = kept or Environment(project_id=project_id, id=_new_id())
        row.name = entry.name.strip()
        row.position = position
        row.is_production = entry.is_production
        row.requires_review = entry.requires_review
        row.required_review_group_id = entry.required_review_group_id
        row.requires_release_pipeline = entry.requires_release_pipeline
        if kept is None:
            added.append(row)
    repository.add_all(session, added)
    after = read(session, project_id)
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="environments",
        entity_id=project_id,
        name="environments",
        action_type="company_environments_edit",
        change_log="Edited Environments",
        before={"environments": before},
        after=after,
    )
    bump_spec_revision(session, project_id, now_ms)
    return after


def release_team(session: Session, change: Change, team_id: str) -> None:
    """A deleted team stops being any environment's required review group (audited as an
    environments edit)."""
    current = list(repository.list_environments(session, change.project_id, lock=True))
    if not any(e.required_review_group_id == team_id for e in current):
        return
    before = read(session, change.project_id)
    for env in current:
        if env.required_review_group_id == team_id:
            env.required_review_group_id = None
    session.flush()
    audit_change(
        session,
        change,
        entity_type="environments",
        entity_id=change.project_id,
        name="environments",
        action_type="company_environments_edit",
        change_log=f"Removed deleted team {team_id} as review group",
        before=before,
        after=read(session, change.project_id),
    )
