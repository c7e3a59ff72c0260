"""The entity kinds of experiments and layers, apart from their services so that other
packages (dynamic configs share the experiments' name space) can import them without cycles."""

from __future__ import annotations

from typing import Any

from lockgate.domains.entities.service import EntityKind
from lockgate.storage.models import Experiment, Layer


def _experiment_columns(document: dict[str, Any]) -> dict[str, Any]:
    return {"layer_id": document.get("layerID"), "team_id": document.get("teamID")}


EXPERIMENT_KIND = EntityKind(
    model=Experiment,
    entity_type="experiment",
    label="Experiment",
    not_found="Experiment not found.",
    columns=_experiment_columns,
)
LAYER_KIND = EntityKind(
    model=Layer,
    entity_type="layer",
    label="Layer",
    not_found="Layer not found.",
)
