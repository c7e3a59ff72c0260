"""Pure evaluator of Statsig dcs-v2 config specs, matching statsig-python-core's results."""

from lockgate.evaluation.evaluator import Evaluator
from lockgate.evaluation.results import (
    ConfigEvaluation,
    GateEvaluation,
    LayerEvaluation,
    Reason,
    SecondaryExposure,
)
from lockgate.evaluation.spec import SpecFormatError, SpecStore
from lockgate.evaluation.user import StatsigUser

__all__ = [
    "ConfigEvaluation",
    "Evaluator",
    "GateEvaluation",
    "LayerEvaluation",
    "Reason",
    "SecondaryExposure",
    "SpecFormatError",
    "SpecStore",
    "StatsigUser",
]
