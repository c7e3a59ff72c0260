"""Sources as the definitions that reference them see them (``StoredSource``), and which
definitions reference a source: the warehouse-native metrics on a metric source, the
experiments bound to an assignment source. A source in use cannot be deleted or renamed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.errors import InvalidInput
from lockgate.storage.models import Experiment, Metric


@dataclass(frozen=True)
class StoredSource:
    """A source as the pipeline and the definitions that reference it read it: its document
    and the columns its query answered when it was last validated."""

    name: str
    document: dict[str, Any]
    columns: list[str]

    def column(self, name: str) -> str | None:
        """The answered column ``name`` designates (compared ignoring case), or None."""
        return next((c for c in self.columns if c.lower() == name.lower()), None)

    def named_column(self, name: str, field: str) -> str:
        """The answered column ``name`` designates; one the source does not answer is a 400
        naming ``field``."""
        found = self.column(name)
        if found is None:
            raise InvalidInput.field(
                field,
                f"column {name!r} is not among metric source {self.name!r}'s columns "
                f"({', '.join(self.columns) or 'none'})",
            )
        return found

    def unit_column(self, unit_type: str) -> str | None:
        """The column holding ``unit_type``'s ids (``idTypeMapping``, compared ignoring case)."""
        for mapping in self.document.get("idTypeMapping") or []:
            if mapping["statsigUnitID"].lower() == unit_type.lower():
                return str(mapping["column"])
        return None

    @property
    def unit_types(self) -> list[str]:
        return [m["statsigUnitID"] for m in self.document.get("idTypeMapping") or []]


def metrics_on(session: Session, project_id: str, name: str) -> list[dict[str, Any]]:
    """The documents of the metrics defined on metric source ``name`` (a ratio's or a
    retention's denominator source and a funnel's step sources included)."""
    rows = session.scalars(select(Metric).where(Metric.project_id == project_id))
    found = []
    for row in rows:
        definition = (row.document or {}).get("warehouseNative") or {}
        named = [definition.get("metricSourceName"), definition.get("denominatorMetricSourceName")]
        named += [step.get("metricSourceName") for step in definition.get("funnelEvents") or []]
        if name in named:
            found.append(row.document)
    return found


def users(session: Session, project_id: str, kind: str, name: str) -> list[str]:
    """Ids of the metrics on a metric source, or of the experiments bound to an assignment
    source (``kind``: ``metric`` or ``assignment``); none for the other kinds."""
    if kind == "metric":
        return [document["id"] for document in metrics_on(session, project_id, name)]
    if kind == "assignment":
        rows = session.scalars(select(Experiment).where(Experiment.project_id == project_id))
        return [row.id for row in rows if (row.document or {}).get("assignmentSourceName") == name]
    return []


def refuse_if_used(
    session: Session, project_id: str, kind: str, label: str, name: str, what: str
) -> None:
    found = users(session, project_id, kind, name)
    if found:
        noun = "metrics" if kind == "metric" else "experiments"
        raise InvalidInput.because(
            f"{label} {name!r} is used by {noun} {', '.join(repr(u) for u in found)}; it "
            f"cannot be {what} until they stop using it"
        )
