"""Queries over holdouts, and the existence checks on the kinds a holdout attaches to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from lockgate.domains.entities import repository as entities_repository
from lockgate.storage.models import Experiment, Gate, Holdout, Layer


@dataclass(frozen=True)
class ColumnFilter:
    creator_name: str | None = None
    creator_id: str | None = None
    tags: tuple[str, ...] = ()


def conditions(session: Session, flt: ColumnFilter) -> list[ColumnElement[bool]]:
    return entities_repository.creator_and_tag_conditions(
        session, Holdout, creator_name=flt.creator_name, creator_id=flt.creator_id, tags=flt.tags
    )


# The tables of the kinds a holdout lists, by the name of the list.
ATTACHABLE: dict[str, type[Gate] | type[Experiment] | type[Layer]] = {
    "gateIDs": Gate,
    "experimentIDs": Experiment,
    "layerIDs": Layer,
}


def missing_ids(session: Session, project_id: str, field: str, ids: Sequence[str]) -> list[str]:
    """Those of ``ids`` that name no entity of the kind ``field`` lists, in the order given."""
    if not ids:
        return []
    model = ATTACHABLE[field]
    found = set(
        session.scalars(
            select(model.id).where(model.project_id == project_id, model.id.in_(set(ids)))
        )
    )
    return [i for i in ids if i not in found]
