"""The evaluator's entry point: ``Evaluator(spec).check_gate / get_config / get_layer``.

Evaluation follows statsig-python-core (docs/sdk.md §Evaluation): rules in order, every condition of
a rule evaluated (so nested-gate exposures of later conditions are still collected), the first
matching rule wins, then its pass percentage decides between its value and the default.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Final

from lockgate.cores.evaluation.conditions import UnsupportedError, evaluate_condition
from lockgate.cores.evaluation.hashing import passes_percentage
from lockgate.cores.evaluation.param_stores import ParameterEvaluation, get_parameter
from lockgate.cores.evaluation.results import (
    DEFAULT_RULE_ID,
    DISABLED_RULE_ID,
    ConfigEvaluation,
    GateEvaluation,
    LayerEvaluation,
    Reason,
    SecondaryExposure,
)
from lockgate.cores.evaluation.spec import Rule, Spec, SpecStore
from lockgate.cores.evaluation.user import JsonMap, StatsigUser, coerce_user
from lockgate.documents.specs import ConfigSpecsV2
from lockgate.documents.values import JsonObject, JsonValue

logger = logging.getLogger(__name__)

# Deeper nesting than this (gates referencing gates...) is treated as a broken spec.
MAX_NESTING: Final = 64
SEGMENT_PREFIX: Final = "segment:"


def _system_now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Outcome:
    """Raw result of evaluating one spec (before it is shaped into a public result)."""

    rule_id: str
    bool_value: bool
    json_value: JsonValue
    group_name: str | None = None
    is_experiment_group: bool = False
    # Set when a layer rule handed the evaluation over to an experiment.
    delegate: Spec | None = None
    undelegated_exposures: tuple[SecondaryExposure, ...] | None = None


@dataclass(slots=True)
class _Context:
    """State of one top-level evaluation: exposures and nested-gate memo are shared."""

    evaluator: Evaluator
    user: StatsigUser
    app_id: str | None
    depth: int = 0
    exposures: list[SecondaryExposure] = field(default_factory=list)
    gate_memo: dict[str, tuple[bool, str]] = field(default_factory=dict)

    @property
    def id_lists(self) -> Mapping[str, AbstractSet[str]]:
        return self.evaluator.id_lists

    def now_ms(self) -> int:
        return self.evaluator.now_ms()

    def environment_value(self, field_name: str) -> str | None:
        return self.evaluator.environment_value(self.user, field_name)

    def nested_gate(self, gate_name: str) -> bool:
        memo = self.gate_memo.get(gate_name)
        if memo is None:
            spec = self.evaluator.store.feature_gates.get(gate_name)
            if spec is None:
                # Unknown gates evaluate to false and leave no exposure behind.
                return False
            outcome = self.run_nested(spec)
            memo = (outcome.bool_value, outcome.rule_id)
            self.gate_memo[gate_name] = memo
        value, rule_id = memo
        if not gate_name.startswith(SEGMENT_PREFIX):
            self.exposures.append(
                SecondaryExposure(gate_name, "true" if value else "false", rule_id)
            )
        return value

    def experiment_group(self, experiment_name: str) -> str | None:
        spec = self.evaluator.store.dynamic_configs.get(experiment_name)
        if spec is None:
            return None
        # A separate context: the referenced experiment's exposures are not ours.
        side = _Context(self.evaluator, self.user, self.app_id, depth=self.depth)
        return side.run_nested(spec).group_name

    def run_nested(self, spec: Spec) -> Outcome:
        if self.depth >= MAX_NESTING:
            raise UnsupportedError("nesting too deep")
        self.depth += 1
        try:
            return self.run(spec)
        finally:
            self.depth -= 1

    def run(self, spec: Spec) -> Outcome:
        for rule in spec.rules:
            if not self._rule_matches(rule):
                continue
            delegated = self._delegate(rule)
            if delegated is not None:
                return delegated
            unit_id = self.user.unit_id(rule.id_type) or ""
            passed = passes_percentage(spec.salt, rule.hash_salt, unit_id, rule.pass_percentage)
            # Only an explicit `false` return value makes a passing gate rule false (v2 holdouts).
            bool_value = rule.return_value is not False if passed else spec.default_value is True
            return Outcome(
                rule_id=rule.id,
                bool_value=bool_value,
                json_value=rule.return_value if passed else spec.default_value,
                group_name=rule.group_name,
                is_experiment_group=rule.is_experiment_group,
            )
        return Outcome(
            rule_id=DEFAULT_RULE_ID if spec.enabled else DISABLED_RULE_ID,
            bool_value=spec.default_value is True,
            json_value=spec.default_value,
        )

    def _rule_matches(self, rule: Rule) -> bool:
        matched = True
        for condition_id in rule.conditions:
            condition = self.evaluator.store.condition_map.get(condition_id)
            if condition is None:
                raise UnsupportedError(f"condition id {condition_id!r}")
            # No short-circuit: later conditions may still add secondary exposures.
            if not evaluate_condition(self, condition):
                matched = False
        return matched

    def _delegate(self, rule: Rule) -> Outcome | None:
        if rule.config_delegate is None:
            return None
        spec = self.evaluator.store.dynamic_configs.get(rule.config_delegate)
        if spec is None:
            return None
        undelegated = tuple(self.exposures)
        outcome = self.run_nested(spec)
        return Outcome(
            rule_id=outcome.rule_id,
            bool_value=outcome.bool_value,
            json_value=outcome.json_value,
            group_name=outcome.group_name,
            is_experiment_group=outcome.is_experiment_group,
            delegate=spec,
            undelegated_exposures=undelegated,
        )

    def final_exposures(self) -> tuple[SecondaryExposure, ...]:
        # Kept raw, duplicates included, as core's get_* results do; the initialize
        # response de-duplicates (see client_init).
        return tuple(self.exposures)


def dedupe_exposures(
    exposures: list[SecondaryExposure] | tuple[SecondaryExposure, ...],
) -> tuple[SecondaryExposure, ...]:
    """Drop repeated exposures, keeping the first occurrence (SDK order)."""
    return tuple(dict.fromkeys(exposures))


def _json_object(value: JsonValue, copy_value: bool = True) -> JsonObject:
    # Results are handed to callers; copy so that mutating them cannot corrupt the spec.
    # Callers that only serialise the value (initialize responses) skip the copy.
    if not isinstance(value, dict):
        return {}
    return copy.deepcopy(value) if copy_value else value


class Evaluator:
    """Evaluates gates, configs/experiments and layers of one dcs-v2 document.

    ``environment`` is the SDK-level environment (e.g. ``{"tier": "staging"}``), used when the
    user has no ``statsigEnvironment``; ``id_lists`` maps list names to sets of 8-character
    hashed ids; ``now_ms`` is the clock for ``current_time`` conditions.
    """

    def __init__(
        self,
        spec: ConfigSpecsV2 | JsonMap | SpecStore,
        *,
        environment: Mapping[str, str] | None = None,
        id_lists: Mapping[str, AbstractSet[str]] | None = None,
        now_ms: Callable[[], int] | None = None,
        app_id: str | None = None,
    ) -> None:
        self.store = spec if isinstance(spec, SpecStore) else SpecStore.from_v2(spec)
        self.environment: Mapping[str, str] = dict(environment or {})
        self.id_lists: Mapping[str, AbstractSet[str]] = dict(id_lists or {})
        self.now_ms: Callable[[], int] = now_ms or _system_now_ms
        self.app_id = app_id if app_id is not None else self.store.app_id

    def for_app(self, app_id: str | None) -> Evaluator:
        """The same evaluator answering ``target_app`` conditions for another app id."""
        return Evaluator(
            self.store,
            environment=self.environment,
            id_lists=self.id_lists,
            now_ms=self.now_ms,
            app_id=app_id,
        )

    def environment_value(self, user: StatsigUser, field_name: str) -> str | None:
        """Environment field (``tier``): user's env, then the SDK option, then the DCS default."""
        lowered = field_name.lower()
        for source in (user.statsig_environment, self.environment):
            found = source.get(field_name, source.get(lowered))
            if found is not None:
                return found
        return self.store.default_environment if lowered == "tier" else None

    def _run(self, user: StatsigUser | JsonMap, spec: Spec) -> tuple[Outcome, _Context] | None:
        ctx = _Context(self, coerce_user(user), self.app_id)
        try:
            return ctx.run(spec), ctx
        except UnsupportedError as problem:
            # Fails closed by design (docs/sdk.md §Rules and results); the log says which part
            # of the spec could not be evaluated.
            logger.debug("%s: unsupported %s; its default is served", spec.name, problem)
            return None

    def check_gate(self, user: StatsigUser | JsonMap, name: str) -> GateEvaluation:
        """Evaluate a gate (also segments ``segment:<name>`` and holdouts)."""
        spec = self.store.feature_gates.get(name)
        if spec is None:
            return GateEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
        run = self._run(user, spec)
        if run is None:
            return GateEvaluation(
                name=name, rule_id="", id_type=spec.id_type, reason=Reason.UNSUPPORTED
            )
        outcome, ctx = run
        return GateEvaluation(
            name=name,
            rule_id=outcome.rule_id,
            id_type=spec.id_type,
            reason=Reason.RECOGNIZED,
            group_name=outcome.group_name,
            secondary_exposures=ctx.final_exposures(),
            value=outcome.bool_value,
        )

    def get_config(
        self, user: StatsigUser | JsonMap, name: str, *, copy_value: bool = True
    ) -> ConfigEvaluation:
        """Evaluate a dynamic config, experiment or autotune.

        ``copy_value=False`` returns the spec's own value object: only for read-only use.
        """
        spec = self.store.dynamic_configs.get(name)
        if spec is None:
            return ConfigEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
        run = self._run(user, spec)
        if run is None:
            return ConfigEvaluation(
                name=name,
                rule_id="",
                id_type=spec.id_type,
                reason=Reason.UNSUPPORTED,
                entity=spec.entity,
            )
        outcome, ctx = run
        return ConfigEvaluation(
            name=name,
            rule_id=outcome.rule_id,
            id_type=spec.id_type,
            reason=Reason.RECOGNIZED,
            group_name=outcome.group_name,
            secondary_exposures=ctx.final_exposures(),
            value=_json_object(outcome.json_value, copy_value),
            passed=outcome.bool_value,
            entity=spec.entity,
            is_experiment_group=outcome.is_experiment_group,
            is_experiment_active=spec.is_active is True,
            is_in_layer=spec.has_shared_params is True,
            explicit_parameters=spec.explicit_parameters or (),
        )

    def get_layer(
        self, user: StatsigUser | JsonMap, name: str, *, copy_value: bool = True
    ) -> LayerEvaluation:
        """Evaluate a layer, delegating to the experiment the user is allocated to.

        ``copy_value=False`` returns the spec's own value object: only for read-only use.
        """
        spec = self.store.layer_configs.get(name)
        if spec is None:
            return LayerEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
        run = self._run(user, spec)
        if run is None:
            return LayerEvaluation(
                name=name, rule_id="", id_type=spec.id_type, reason=Reason.UNSUPPORTED
            )
        outcome, ctx = run
        exposures = ctx.final_exposures()
        delegate = outcome.delegate
        undelegated = outcome.undelegated_exposures
        return LayerEvaluation(
            name=name,
            rule_id=outcome.rule_id,
            id_type=spec.id_type,
            reason=Reason.RECOGNIZED,
            group_name=outcome.group_name,
            secondary_exposures=exposures,
            value=_json_object(outcome.json_value, copy_value),
            allocated_experiment_name=delegate.name if delegate else None,
            is_experiment_group=outcome.is_experiment_group,
            is_experiment_active=bool(delegate and delegate.is_active),
            explicit_parameters=(delegate.explicit_parameters or ()) if delegate else (),
            undelegated_secondary_exposures=(undelegated if undelegated is not None else exposures),
        )

    def get_parameter(
        self, user: StatsigUser | JsonMap, store_name: str, parameter_name: str
    ) -> ParameterEvaluation:
        """Resolve one parameter of a parameter store through the gate, config, experiment or
        layer it reads (``value_or_fallback`` applies an SDK's fallback rule)."""
        return get_parameter(self, user, store_name, parameter_name)
