"""Parameters of a parameter store, resolved for one user (docs/sdk.md §Parameter stores).

A store adds no evaluation of its own: each parameter is a static value, or reads a gate's
pass/fail value, or one parameter of a dynamic config, experiment or layer evaluated for the
user, as statsig-python-core's ``get_parameter_store(...).get_*`` and the JS client's
``getParameterStore(...).get`` do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from lockgate.cores.evaluation.results import Evaluation, Reason
from lockgate.cores.evaluation.user import JsonMap, StatsigUser
from lockgate.documents.values import JsonValue

if TYPE_CHECKING:
    from lockgate.cores.evaluation.evaluator import Evaluator


@dataclass(frozen=True, slots=True)
class ParameterEvaluation:
    """One parameter for one user. ``value`` is None when it resolves to nothing (unknown
    store or parameter, or a config without that key); ``source`` is the gate, config or layer
    evaluation the value came from, whose exposure an SDK would log."""

    store: str
    name: str
    reason: Reason
    ref_type: str | None = None
    param_type: str | None = None
    value: JsonValue | None = None
    source: Evaluation | None = None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# JavaScript's ``typeof`` names, with ``array`` for lists, as ``param_type`` uses them.
TYPE_OF: Final[dict[str, Callable[[Any], bool]]] = {
    "boolean": lambda value: isinstance(value, bool),
    "number": _is_number,
    "string": lambda value: isinstance(value, str),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
}


def type_of(value: Any) -> str | None:
    return next((name for name, test in TYPE_OF.items() if test(value)), None)


def _field(value: Mapping[str, JsonValue], key: Any) -> JsonValue | None:
    return value.get(key) if isinstance(key, str) else None


Resolver = Callable[
    ["Evaluator", StatsigUser | JsonMap, Mapping[str, Any]],
    tuple[JsonValue | None, Evaluation | None],
]


def _static(
    evaluator: Evaluator, user: StatsigUser | JsonMap, parameter: Mapping[str, Any]
) -> tuple[JsonValue | None, Evaluation | None]:
    return parameter.get("value"), None


def _gate(
    evaluator: Evaluator, user: StatsigUser | JsonMap, parameter: Mapping[str, Any]
) -> tuple[JsonValue | None, Evaluation | None]:
    gate = evaluator.check_gate(user, str(parameter.get("gate_name")))
    return parameter.get("pass_value" if gate.value else "fail_value"), gate


def _config(
    evaluator: Evaluator, user: StatsigUser | JsonMap, parameter: Mapping[str, Any]
) -> tuple[JsonValue | None, Evaluation | None]:
    name = parameter.get("config_name", parameter.get("experiment_name"))
    config = evaluator.get_config(user, str(name))
    return _field(config.value, parameter.get("param_name")), config


def _layer(
    evaluator: Evaluator, user: StatsigUser | JsonMap, parameter: Mapping[str, Any]
) -> tuple[JsonValue | None, Evaluation | None]:
    layer = evaluator.get_layer(user, str(parameter.get("layer_name")))
    return _field(layer.value, parameter.get("param_name")), layer


RESOLVERS: Final[dict[str, Resolver]] = {
    "static": _static,
    "gate": _gate,
    "dynamic_config": _config,
    "experiment": _config,
    "layer": _layer,
}


def get_parameter(
    evaluator: Evaluator, user: StatsigUser | JsonMap, store_name: str, parameter_name: str
) -> ParameterEvaluation:
    """Resolve one parameter of a store of ``evaluator``'s document for ``user``."""
    store = evaluator.store.param_stores.get(store_name)
    parameters = store.get("parameters") if isinstance(store, Mapping) else None
    parameter = parameters.get(parameter_name) if isinstance(parameters, Mapping) else None
    if not isinstance(parameter, Mapping):
        return ParameterEvaluation(store_name, parameter_name, Reason.UNRECOGNIZED)
    ref_type, param_type = parameter.get("ref_type"), parameter.get("param_type")
    resolver = RESOLVERS.get(ref_type) if isinstance(ref_type, str) else None
    if resolver is None:
        # An unknown reference kind fails closed: the caller's fallback.
        return ParameterEvaluation(
            store_name, parameter_name, Reason.UNSUPPORTED, str(ref_type), str(param_type)
        )
    value, source = resolver(evaluator, user, parameter)
    return ParameterEvaluation(
        store_name,
        parameter_name,
        Reason.RECOGNIZED,
        ref_type,
        param_type if isinstance(param_type, str) else None,
        value,
        source,
    )


def value_or_fallback(result: ParameterEvaluation, fallback: Any) -> Any:
    """What ``getParameterStore(store).get(name, fallback)`` returns: the fallback when the
    parameter is unknown, when the fallback's type is not the declared ``param_type``, or when
    the resolved value is missing or of another type. A ``None`` fallback checks no type."""
    if result.reason is not Reason.RECOGNIZED or result.value is None:
        return fallback
    if fallback is None:
        return result.value
    wanted = type_of(fallback)
    if wanted != result.param_type or type_of(result.value) != wanted:
        return fallback
    return result.value
