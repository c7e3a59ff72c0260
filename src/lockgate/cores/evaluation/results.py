"""Frozen results returned by the evaluator's entry points."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from lockgate.documents.specs import SecondaryExposureWire
from lockgate.documents.values import JsonValue

DEFAULT_RULE_ID: Final = "default"
DISABLED_RULE_ID: Final = "disabled"


class Reason(StrEnum):
    """Why a result has its value (the suffix of the SDKs' ``Network:<reason>``)."""

    RECOGNIZED = "Recognized"
    UNRECOGNIZED = "Unrecognized"
    UNSUPPORTED = "Unsupported"


@dataclass(frozen=True, slots=True)
class SecondaryExposure:
    """A gate checked while evaluating something else (logged with the primary exposure)."""

    gate: str
    gate_value: str
    rule_id: str

    def to_wire(self) -> SecondaryExposureWire:
        return {"gate": self.gate, "gateValue": self.gate_value, "ruleID": self.rule_id}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Fields common to gate, config/experiment and layer results."""

    name: str
    rule_id: str
    id_type: str
    reason: Reason
    group_name: str | None = None
    secondary_exposures: tuple[SecondaryExposure, ...] = ()


@dataclass(frozen=True, slots=True)
class GateEvaluation(Evaluation):
    """Result of ``check_gate``."""

    value: bool = False


@dataclass(frozen=True, slots=True)
class ConfigEvaluation(Evaluation):
    """Result of ``get_config`` (dynamic configs, experiments and autotunes).

    ``passed`` is whether a rule matched and its pass percentage let the user in; it is the
    ``passed`` flag of initialize responses.
    """

    value: Mapping[str, JsonValue] = field(default_factory=dict)
    passed: bool = False
    entity: str | None = None
    is_experiment_group: bool = False
    is_experiment_active: bool = False
    is_in_layer: bool = False
    explicit_parameters: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LayerEvaluation(Evaluation):
    """Result of ``get_layer``.

    ``undelegated_secondary_exposures`` are the exposures gathered before the layer handed over
    to an experiment (used for parameters the experiment does not set explicitly).
    """

    value: Mapping[str, JsonValue] = field(default_factory=dict)
    allocated_experiment_name: str | None = None
    is_experiment_group: bool = False
    is_experiment_active: bool = False
    explicit_parameters: tuple[str, ...] = ()
    undelegated_secondary_exposures: tuple[SecondaryExposure, ...] = ()
