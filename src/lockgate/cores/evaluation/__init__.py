"""Pure evaluator of Statsig dcs-v2 config specs, matching statsig-python-core's results."""

from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.results import (
    ConfigEvaluation,
    GateEvaluation,
    LayerEvaluation,
    Reason,
    SecondaryExposure,
)
from lockgate.cores.evaluation.spec import SpecFormatError, SpecStore
from lockgate.cores.evaluation.user import StatsigUser

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
