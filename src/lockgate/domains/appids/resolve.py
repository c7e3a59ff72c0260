"""Turning what a request names as target apps into the ids Lockgate stores.

Wherever an app is referenced (entity ``targetApps``, key ``targetAppID`` and
``secondaryTargetAppIDs``, parameter store ``targetAppIDs``) either its id or its name is
accepted; the id is stored, and it is what SDK payloads carry (docs/console.md §Target apps).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from lockgate.domains.appids import repository
from lockgate.errors import InvalidInput


def resolve_target_apps(
    session: Session, project_id: str, refs: str | Sequence[str] | None, *, field: str
) -> list[str]:
    """The ids of the apps ``refs`` names (ids or names), each once, in the order given.

    An unknown app is a 400 naming ``field``. Parameter stores call this for ``targetAppIDs``.
    """
    if refs is None:
        return []
    given = [refs] if isinstance(refs, str) else list(refs)
    ids: list[str] = []
    for ref in given:
        app = repository.get(session, project_id, ref) if isinstance(ref, str) else None
        if app is None:
            raise InvalidInput.field(field, f"target app {ref!r} does not exist")
        if app.id not in ids:
            ids.append(app.id)
    return ids


def filter_app_id(session: Session, project_id: str, ref: str | None) -> str | None:
    """The id a list filter names (by id or name); an unknown app stays as given, so the filter
    matches nothing rather than failing."""
    if not ref:
        return ref
    app = repository.get(session, project_id, ref)
    return app.id if app is not None else ref
