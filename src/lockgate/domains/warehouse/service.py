"""Rules for the project's warehouse connection: one per project, updated by merging fields,
tested in the warehouse before it is stored (``propose``, ``test``, ``store``: the test runs
outside any transaction of Lockgate's database), its credentials encrypted and never shown
(docs/warehouse.md §Connections)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.audit.service import record_audit
from lockgate.domains.warehouse import repository
from lockgate.domains.warehouse.adapters import Warehouse, WarehouseError
from lockgate.domains.warehouse.kinds import KINDS, NOT_YET, Kind
from lockgate.domains.warehouse.schemas import WhConnectionUpdate
from lockgate.errors import Conflict, InvalidInput, NotFound
from lockgate.kit.actor import Actor
from lockgate.kit.secretbox import SecretBox, SecretBoxError, load_key
from lockgate.kit.settings import Settings
from lockgate.storage.models import WarehouseConnection

HIDDEN = "(hidden)"
NO_CONNECTION = "This project has no warehouse connection."
CHANGED_MEANWHILE = (
    "The warehouse connection was changed by another request while this one was being "
    "tested; nothing was stored. Send the request again."
)


def _named_kind(body: WhConnectionUpdate) -> tuple[Kind, dict[str, Any]]:
    """The one warehouse the body names and its fields as sent (wire names; None clears)."""
    unknown = sorted(body.model_extra or {})
    if unknown:
        name = unknown[0]
        known = ", ".join(KINDS)
        problem = (
            "is not supported yet"
            if name in NOT_YET
            else f"is not a known warehouse type (known: {known})"
        )
        raise InvalidInput.field(name, problem)
    named = [name for name in KINDS if getattr(body, name) is not None]
    if len(named) != 1:
        raise InvalidInput.because(
            f"Name exactly one warehouse ({', '.join(KINDS)}); this request names {len(named)}."
        )
    part = getattr(body, named[0])
    return KINDS[named[0]], part.model_dump(by_alias=True, exclude_unset=True)


def scrub(message: str, secrets: Iterable[Any]) -> str:
    """The message with every credential value replaced, longest first."""
    for value in sorted((str(s) for s in secrets if s), key=len, reverse=True):
        message = message.replace(value, "***")
    return message


@dataclass(frozen=True)
class Proposed:
    """A connection merged from the stored one and a request, not yet tested nor stored;
    ``seen`` is what was stored when it was read, so that storing it can tell whether another
    request changed the connection meanwhile."""

    kind: Kind
    values: dict[str, Any]
    before: dict[str, Any] | None
    seen: tuple[str, dict[str, Any], str] | None


def _state(row: WarehouseConnection | None) -> tuple[str, dict[str, Any], str] | None:
    # The sealed credentials change at every store (Fernet's random IV), so they tell apart
    # two stores of the same settings.
    return None if row is None else (row.kind, dict(row.settings), row.secrets)


def propose(
    session: Session,
    project_id: str,
    body: WhConnectionUpdate,
    box: SecretBox,
    files_dir: Path,
) -> Proposed:
    """Merge the body into the project's stored connection and check its fields; reads only.
    A connection to another warehouse starts from nothing."""
    kind, sent = _named_kind(body)
    row = repository.get(session, project_id)
    values: dict[str, Any] = {}
    if row is not None and row.kind == kind.name:
        try:
            values = {**row.settings, **box.open(row.secrets)}
        except SecretBoxError:
            # Sealed under another key: the credentials are lost, the settings are not; the
            # body must send the credentials again (docs/operations.md §Warehouse credentials).
            values = dict(row.settings)
    before = None if row is None else _shown(KINDS[row.kind], {**row.settings, "kind": row.kind})
    for name, value in sent.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    kind.check(values, files_dir)
    return Proposed(kind, values, before, _state(row))


def check(proposed: Proposed, files_dir: Path) -> None:
    """The connection test, in the warehouse. It may take as long as the warehouse does: the
    caller holds no transaction of Lockgate's database meanwhile."""
    kind, values = proposed.kind, proposed.values
    adapter = kind.build(values, files_dir)
    try:
        adapter.check()
    except WarehouseError as exc:
        secrets = [values.get(name) for name in kind.secrets]
        raise InvalidInput.because(
            f"The {kind.name} warehouse connection failed: {scrub(str(exc), secrets)}"
        ) from None
    finally:
        adapter.close()


def store(
    session: Session,
    project_id: str,
    actor: Actor,
    now_ms: int,
    proposed: Proposed,
    box: SecretBox,
) -> None:
    """Store a tested connection, unless another request changed the stored one since it was
    proposed (then nothing is stored: the request is to be sent again)."""
    kind, values = proposed.kind, proposed.values
    row = repository.get(session, project_id, lock=True)
    if _state(row) != proposed.seen:
        raise Conflict(CHANGED_MEANWHILE)
    settings = {k: v for k, v in values.items() if k not in kind.secrets}
    sealed = box.seal({k: v for k, v in values.items() if k in kind.secrets})
    if row is None:
        row = WarehouseConnection(
            project_id=project_id,
            kind=kind.name,
            settings=settings,
            secrets=sealed,
            created_time=now_ms,
            updated_time=now_ms,
        )
        repository.add(session, row)
    else:
        row.kind, row.settings, row.secrets, row.updated_time = (
            kind.name,
            settings,
            sealed,
            now_ms,
        )
        session.flush()
    after = _shown(kind, {**values, "kind": kind.name})
    record_audit(
        session,
        project_id=project_id,
        actor=actor,
        now_ms=now_ms,
        entity_type="warehouse_connection",
        entity_id=project_id,
        name=kind.name,
        action_type="warehouse_connection_update",
        change_log="Updated Warehouse Connection",
        before=proposed.before,
        after=after,
    )


def _shown(kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """What an audit entry may hold: settings, and which credentials are set."""
    shown = {k: v for k, v in values.items() if k not in kind.secrets}
    shown.update({k: HIDDEN for k in kind.secrets if values.get(k)})
    return shown


def is_warehouse_native(session: Session, project_id: str) -> bool:
    return repository.exists(session, project_id)


def open_warehouse(session: Session, project_id: str, box: SecretBox, files_dir: Path) -> Warehouse:
    """An adapter (not yet connected) over the project's stored connection."""
    row = repository.get(session, project_id)
    if row is None:
        raise NotFound(NO_CONNECTION)
    kind = KINDS[row.kind]
    return kind.build({**row.settings, **box.open(row.secrets)}, files_dir)


def opener(settings: Settings) -> Callable[[Session, str], Warehouse]:
    """``open_warehouse`` with the credentials key and files directory of ``settings``."""

    def open_(session: Session, project_id: str) -> Warehouse:
        key = load_key(settings.warehouse_secret_key.get_secret_value(), settings.data_dir)
        return open_warehouse(
            session, project_id, SecretBox(key), settings.resolved_warehouse_files_dir
        )

    return open_
