"""The evaluator's entry point: ``Evaluator(spec).check_gate / get_config / get_layer``.

Evaluation follows statsig-python-core (docs/sdk.md §Evaluation): rules in order, every condition of
a rule that may record an exposure or fail evaluated (so nested-gate exposures of later conditions
are still collected; the others, which only answer, stop once the rule has failed), the first
matching rule wins, then its pass percentage decides between its value and the default.
"""

from __future__ import annotations

import bisect
import copy
import logging
import time
from collections.abc import Callable, Hashable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, Final

from lockgate.cores.evaluation.conditions import (
    CLOCK_TYPES,
    NESTING_TYPES,
    CompiledCondition,
    UnsupportedError,
    compile_condition,
    records_nothing,
    unsupported,
)
from lockgate.cores.evaluation.hashing import passes_prefixed, percentage_prefix
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
from lockgate.cores.evaluation.spec import Condition, Rule, Spec, SpecStore
from lockgate.cores.evaluation.user import JsonMap, StatsigUser, coerce_user
from lockgate.cores.evaluation.values import as_timestamp_ms
from lockgate.cores.evaluation.view import UserView
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
    # Set when a layer rule handed the evaluation over to an experiment; None exactly for
    # the outcomes a plan builds with itself (which live as long as it).
    delegate: Spec | None = None
    undelegated_exposures: tuple[SecondaryExposure, ...] | None = None


@dataclass(frozen=True, slots=True)
class _CompiledRule:
    """A rule with its conditions compiled and both of its outcomes built in advance."""

    rule: Rule
    # A rule of one condition holds it here, and no others.
    single: CompiledCondition | None
    # The conditions that may record a secondary exposure or make the evaluation unsupported,
    # in the rule's order: each is evaluated whenever the rule is reached (as core does).
    always: tuple[CompiledCondition, ...]
    # The rest, which have no effect but their answer: evaluated only while the rule holds.
    skippable: tuple[CompiledCondition, ...]
    # The rule's fields the evaluation reads, kept here to spare a lookup through ``rule``.
    config_delegate: str | None
    pass_percentage: float
    id_type: str
    # "<spec salt>.<rule salt>.": what the pass percentage hashes, before the unit id.
    hash_prefix: str
    passed: Outcome
    failed: Outcome


class GateResult:
    """A gate evaluated once for the request, as a fresh top-level ``check_gate`` would.

    A plain class (not a frozen dataclass, whose fields are set one ``object.__setattr__`` at
    a time): a request builds one for every gate it evaluates that references another spec.
    Never changed once built."""

    __slots__ = ("exposure", "exposures", "height", "outcome", "renderings")

    def __init__(
        self,
        outcome: Outcome,
        exposures: tuple[SecondaryExposure, ...],
        height: int,
        exposure: SecondaryExposure,
    ) -> None:
        self.outcome = outcome
        self.exposures = exposures
        # How many nesting levels its evaluation went below it.
        self.height = height
        self.exposure = exposure
        # A leaf's result lives as long as its plan: renderings of it are kept here (by
        # format) and shared by every response that needs them.
        self.renderings: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class _Plan:
    """A spec compiled for evaluation: its rules in order and its default outcome."""

    spec: Spec
    rules: tuple[_CompiledRule, ...]
    default: Outcome
    # No condition reaches another spec and no rule delegates: evaluating it records no
    # exposure and nests nothing, so it may run in the request's shared leaf context.
    leaf: bool
    # For a leaf, the gate result of each of its outcomes (by the outcome's id), built once.
    leaf_results: Mapping[int, GateResult]
    # For a leaf, renderings of its outcomes kept by the caller, keyed by (outcome id, format).
    renderings: dict[tuple[int, str], Any] = field(default_factory=dict)
    # The secondary exposure each of its outcomes leaves when another spec checks it, and for
    # a leaf gate the ``check_gate`` result of each outcome (which then carries no exposure),
    # by the outcome's id: both are frozen, built on first use and shared by every request.
    exposures: dict[int, SecondaryExposure] = field(default_factory=dict)
    checks: dict[int, GateEvaluation] = field(default_factory=dict)


def _compile_rule(
    spec: Spec,
    rule: Rule,
    conditions: Mapping[str, CompiledCondition],
    skippable: AbstractSet[str],
) -> _CompiledRule:
    compiled = [
        (cid in skippable, conditions.get(cid) or unsupported(f"condition id {cid!r}"))
        for cid in rule.conditions
    ]
    return _CompiledRule(
        rule=rule,
        single=compiled[0][1] if len(compiled) == 1 else None,
        always=tuple(condition for skip, condition in compiled if not skip),
        skippable=tuple(condition for skip, condition in compiled if skip),
        config_delegate=rule.config_delegate,
        pass_percentage=rule.pass_percentage,
        id_type=rule.id_type,
        hash_prefix=percentage_prefix(spec.salt, rule.hash_salt),
        # Only an explicit `false` return value makes a passing gate rule false (v2 holdouts).
        passed=Outcome(
            rule_id=rule.id,
            bool_value=rule.return_value is not False,
            json_value=rule.return_value,
            group_name=rule.group_name,
            is_experiment_group=rule.is_experiment_group,
        ),
        failed=Outcome(
            rule_id=rule.id,
            bool_value=spec.default_value is True,
            json_value=spec.default_value,
            group_name=rule.group_name,
            is_experiment_group=rule.is_experiment_group,
        ),
    )


def _leaf_result(name: str, outcome: Outcome) -> GateResult:
    value = "true" if outcome.bool_value else "false"
    return GateResult(outcome, (), 0, SecondaryExposure(name, value, outcome.rule_id))


def _compile_spec(
    spec: Spec,
    conditions: Mapping[str, CompiledCondition],
    nesting: AbstractSet[str],
    skippable: AbstractSet[str],
) -> _Plan:
    rules = tuple(_compile_rule(spec, rule, conditions, skippable) for rule in spec.rules)
    default = Outcome(
        rule_id=DEFAULT_RULE_ID if spec.enabled else DISABLED_RULE_ID,
        bool_value=spec.default_value is True,
        json_value=spec.default_value,
    )
    leaf = all(
        rule.config_delegate is None and nesting.isdisjoint(rule.conditions) for rule in spec.rules
    )
    outcomes = [default, *(o for rule in rules for o in (rule.passed, rule.failed))]
    return _Plan(
        spec=spec,
        rules=rules,
        default=default,
        leaf=leaf,
        leaf_results={id(o): _leaf_result(spec.name, o) for o in outcomes} if leaf else {},
    )


DAY_MS: Final = 86_400_000
# The operators a clock condition may use for its answers to be reused (``_clock_boundaries``).
_TIME_OPERATORS: Final = frozenset({"before", "after", "on"})


def _clock_boundaries(conditions: list[Condition]) -> tuple[int, ...] | None:
    """The instants (as the time operators read the clock) at which the outcome of some of
    ``conditions`` may change, sorted: between two of them, every outcome is the same. None
    when an operator's outcome cannot be bounded so (one other than before, after, on)."""
    instants: set[int] = set()
    for condition in conditions:
        if condition.operator not in _TIME_OPERATORS:
            return None
        target = as_timestamp_ms(condition.target_value)
        if target is None:
            continue  # never passes, whenever evaluated
        if condition.operator == "before":  # now < target
            instants.add(target)
        elif condition.operator == "after":  # now > target
            instants.add(target + 1)
        else:  # the same UTC day as target
            day = target // DAY_MS * DAY_MS
            instants.update((day, day + DAY_MS))
    return tuple(sorted(instants))


class _Compiled:
    """Every spec of one document compiled once (shared by the evaluators over it)."""

    __slots__ = ("clock_boundaries", "configs", "gates", "kept", "layers", "reads_clock")

    def __init__(self, store: SpecStore) -> None:
        condition_map = store.condition_map
        conditions = {cid: compile_condition(c) for cid, c in condition_map.items()}
        nesting = {cid for cid, c in condition_map.items() if c.type in NESTING_TYPES}
        skippable = {cid for cid, c in condition_map.items() if records_nothing(c)}

        def plans(specs: Mapping[str, Spec]) -> dict[str, _Plan]:
            return {
                name: _compile_spec(spec, conditions, nesting, skippable)
                for name, spec in specs.items()
            }

        self.gates = plans(store.feature_gates)
        self.configs = plans(store.dynamic_configs)
        self.layers = plans(store.layer_configs)
        # Whether some condition reads the clock: then two evaluations of the same user
        # may differ, unless at instants between the same two boundaries
        # (docs/sdk.md §Answers reused).
        clock = [c for c in condition_map.values() if c.type in CLOCK_TYPES]
        self.reads_clock = bool(clock)
        self.clock_boundaries = _clock_boundaries(clock)
        # What callers build from this document's results and keep for the revision (the
        # initialize answer's rendered entries, ``client_init``), by the caller's own key. It
        # lives exactly as long as the plans: their outcomes' ids may key what it holds.
        self.kept: dict[Hashable, Any] = {}


class _Fallback(Exception):
    """A shared evaluation came near the nesting limit or a cycle: evaluate unshared."""


class _Request:
    """One user's evaluations: derived values, and (when ``shared``) every gate's result.

    Sharing gate results across the specs of one request (``/v1/initialize``) evaluates each
    gate once. The secondary exposures a shared nested gate contributes are those of its own
    fresh evaluation: the set and first-occurrence order match an unshared evaluation's, so
    de-duplicated exposures (all the initialize response carries) are identical, while raw
    ``get_*`` results keep the unshared path and its duplicates.
    """

    __slots__ = ("active", "environment", "evaluator", "gates", "leaf", "shared", "view")

    def __init__(self, evaluator: Evaluator, view: UserView, *, shared: bool) -> None:
        self.evaluator = evaluator
        self.view = view
        self.shared = shared
        self.gates: dict[str, GateResult] = {}
        self.active: set[str] = set()
        self.environment: dict[str, str | None] = {}
        # Runs every leaf plan of a shared request: it never records or nests anything. It
        # refers back to the request, so the two form a cycle that ``EvaluationSession.close``
        # breaks; an unshared request (one ``check_gate``) keeps none, and reference counting
        # frees it whole.
        self.leaf: _Context | None = _Context(self, 0) if shared else None

    def context(self, plan: _Plan) -> _Context:
        """A context for a top-level evaluation of ``plan``."""
        if plan.leaf:
            leaf = self.leaf
            if leaf is not None:
                return leaf
        return _Context(self, 0)

    def gate(self, name: str, depth: int) -> GateResult | None:
        """The shared result of gate ``name`` needed at nesting ``depth`` (None: unknown)."""
        entry = self.gates.get(name)
        if entry is None:
            plan = self.evaluator.compiled.gates.get(name)
            if plan is None:
                return None
            entry = self._evaluate_gate(name, plan)
        # The unshared evaluation checks the limit at this depth and each level below it.
        if depth + entry.height >= MAX_NESTING:
            raise _Fallback(name)
        return entry

    def _evaluate_gate(self, name: str, plan: _Plan) -> GateResult:
        if plan.leaf:
            # Nothing to allocate: the result of each outcome was built with the plan.
            entry = self.gates[name] = plan.leaf_results[id(self.context(plan).run(plan))]
            return entry
        active = self.active
        if name in active or len(active) >= MAX_NESTING:
            raise _Fallback(name)
        active.add(name)
        try:
            ctx = _Context(self, 0)
            outcome = ctx.run(plan)
        finally:
            active.discard(name)
        entry = GateResult(outcome, tuple(ctx.exposures), ctx.reach, _exposure(plan, outcome))
        self.gates[name] = entry
        return entry


class _Context:
    """State of one top-level evaluation: exposures and nested-gate memo are shared."""

    __slots__ = (
        "app_id",
        "depth",
        "evaluator",
        "exposures",
        "gate_memo",
        "id_lists",
        "reach",
        "request",
        "view",
    )

    def __init__(self, request: _Request, depth: int) -> None:
        self.request = request
        evaluator = self.evaluator = request.evaluator
        self.view = request.view
        self.app_id = evaluator.app_id
        self.id_lists = evaluator.id_lists
        self.depth = depth
        # The deepest nesting level this evaluation reached.
        self.reach = depth
        self.exposures: list[SecondaryExposure] = []
        # Created on the first nested gate: most specs reference none.
        self.gate_memo: dict[str, tuple[bool, SecondaryExposure]] | None = None

    def now_ms(self) -> int:
        return self.evaluator.now_ms()

    def environment_value(self, field_name: str) -> str | None:
        cache = self.request.environment
        if field_name not in cache:
            cache[field_name] = self.evaluator.environment_value(self.view.user, field_name)
        return cache[field_name]

    def nested_gate(self, gate_name: str) -> bool:
        gate_memo = self.gate_memo
        if gate_memo is None:
            gate_memo = self.gate_memo = {}
        memo = gate_memo.get(gate_name)
        if memo is None:
            if self.request.shared:
                entry = self.request.gate(gate_name, self.depth)
                if entry is None:
                    # Unknown gates evaluate to false and leave no exposure behind.
                    return False
                reach = self.depth + 1 + entry.height
                if reach > self.reach:
                    self.reach = reach
                if entry.exposures:
                    self.exposures.extend(entry.exposures)
                memo = (entry.outcome.bool_value, entry.exposure)
            else:
                plan = self.evaluator.compiled.gates.get(gate_name)
                if plan is None:
                    return False
                outcome = self.run_nested(plan)
                memo = (outcome.bool_value, _exposure(plan, outcome))
            gate_memo[gate_name] = memo
        value, exposure = memo
        if not gate_name.startswith(SEGMENT_PREFIX):
            self.exposures.append(exposure)
        return value

    def experiment_group(self, experiment_name: str) -> str | None:
        plan = self.evaluator.compiled.configs.get(experiment_name)
        if plan is None:
            return None
        # A separate context: the referenced experiment's exposures are not ours.
        side = _Context(self.request, self.depth)
        group = side.run_nested(plan).group_name
        self.reach = max(self.reach, side.reach)
        return group

    def run_nested(self, plan: _Plan) -> Outcome:
        if self.depth >= MAX_NESTING:
            if self.request.shared:
                raise _Fallback(plan.spec.name)
            raise UnsupportedError("nesting too deep")
        self.depth += 1
        self.reach = max(self.reach, self.depth)
        try:
            return self.run(plan)
        finally:
            self.depth -= 1

    def run(self, plan: _Plan) -> Outcome:
        for compiled in plan.rules:
            single = compiled.single
            if single is not None:
                if not single(self):
                    continue
            else:
                matched = True
                for condition in compiled.always:
                    # No short-circuit: later conditions may still add secondary exposures.
                    if not condition(self):
                        matched = False
                if not matched:
                    continue
                for condition in compiled.skippable:
                    if not condition(self):
                        matched = False
                        break
                if not matched:
                    continue
            delegate = compiled.config_delegate
            if delegate is not None:
                delegated = self._delegate(delegate)
                if delegated is not None:
                    return delegated
            percentage = compiled.pass_percentage
            # The 0/100 short cuts are passes_prefixed's own: they spare the unit-id lookup.
            if percentage == 100:
                return compiled.passed
            if percentage == 0:
                return compiled.failed
            unit_id = self.view.unit_id(compiled.id_type) or ""
            passed = passes_prefixed(compiled.hash_prefix, unit_id, percentage)
            return compiled.passed if passed else compiled.failed
        return plan.default

    def _delegate(self, name: str) -> Outcome | None:
        plan = self.evaluator.compiled.configs.get(name)
        if plan is None:
            return None
        undelegated = tuple(self.exposures)
        outcome = self.run_nested(plan)
        return Outcome(
            rule_id=outcome.rule_id,
            bool_value=outcome.bool_value,
            json_value=outcome.json_value,
            group_name=outcome.group_name,
            is_experiment_group=outcome.is_experiment_group,
            delegate=plan.spec,
            undelegated_exposures=undelegated,
        )

    def final_exposures(self) -> tuple[SecondaryExposure, ...]:
        # Kept raw, duplicates included, as core's get_* results do; the initialize
        # response de-duplicates (see client_init).
        return tuple(self.exposures)


def _exposure(plan: _Plan, outcome: Outcome) -> SecondaryExposure:
    """The secondary exposure gate ``plan`` leaves with ``outcome`` (one object per outcome)."""
    exposure = plan.exposures.get(id(outcome))
    if exposure is None:
        value = "true" if outcome.bool_value else "false"
        exposure = SecondaryExposure(plan.spec.name, value, outcome.rule_id)
        if _is_plan_outcome(plan, outcome):
            plan.exposures[id(outcome)] = exposure
    return exposure


def _is_plan_outcome(plan: _Plan, outcome: Outcome) -> bool:
    """Whether ``outcome`` is one the plan built (not a delegation's, made per evaluation):
    only those live as long as the plan, so that their ids key its caches."""
    return outcome is plan.default or any(
        outcome is rule.passed or outcome is rule.failed for rule in plan.rules
    )


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
    hashed ids; ``now_ms`` is the clock for ``current_time`` conditions. The document's
    conditions are compiled once, here, and shared with ``for_app``'s evaluators.
    """

    def __init__(
        self,
        spec: ConfigSpecsV2 | JsonMap | SpecStore,
        *,
        environment: Mapping[str, str] | None = None,
        id_lists: Mapping[str, AbstractSet[str]] | None = None,
        now_ms: Callable[[], int] | None = None,
        app_id: str | None = None,
        compiled: _Compiled | None = None,
    ) -> None:
        self.store = spec if isinstance(spec, SpecStore) else SpecStore.from_v2(spec)
        self.environment: Mapping[str, str] = dict(environment or {})
        self.id_lists: Mapping[str, AbstractSet[str]] = dict(id_lists or {})
        self.now_ms: Callable[[], int] = now_ms or _system_now_ms
        self.app_id = app_id if app_id is not None else self.store.app_id
        # Given by ``_twin`` only: the conditions compiled for the same document.
        self.compiled = compiled if compiled is not None else _Compiled(self.store)

    @property
    def kept(self) -> dict[Hashable, Any]:
        """A place for what callers derive from this document's results and keep for its
        revision (shared with the ``pinned`` and ``for_app`` evaluators over it)."""
        return self.compiled.kept

    @property
    def reads_clock(self) -> bool:
        """Whether an evaluation may depend on the time it runs (``current_time``)."""
        return self.compiled.reads_clock

    def clock_epoch(self, now_ms: int) -> int | None:
        """Which of the intervals between the document's clock boundaries ``now_ms`` falls
        in: evaluations of one user at two instants of the same epoch give the same results.
        None when the document's clock conditions cannot be bounded so."""
        boundaries = self.compiled.clock_boundaries
        if boundaries is None:
            return None
        if not boundaries:
            return 0
        read = as_timestamp_ms(now_ms)
        return None if read is None else bisect.bisect_right(boundaries, read)

    def pinned(self, now_ms: int) -> Evaluator:
        """The same evaluator with its clock stopped at ``now_ms``."""
        pinned = self._twin()
        pinned.now_ms = lambda: now_ms
        return pinned

    def for_app(self, app_id: str | None) -> Evaluator:
        """The same evaluator answering ``target_app`` conditions for another app id."""
        scoped = self._twin()
        scoped.app_id = app_id
        return scoped

    def _twin(self) -> Evaluator:
        """A shallow copy sharing the document and its compiled conditions. Built through the
        constructor, not ``copy.copy``, which the class compiled by mypyc does not support."""
        twin = Evaluator(self.store, now_ms=self.now_ms, app_id=self.app_id, compiled=self.compiled)
        twin.environment = self.environment
        twin.id_lists = self.id_lists
        return twin

    def environment_value(self, user: StatsigUser, field_name: str) -> str | None:
        """Environment field (``tier``): user's env, then the SDK option, then the DCS default."""
        lowered = field_name.lower()
        for source in (user.statsig_environment, self.environment):
            found = source.get(field_name, source.get(lowered))
            if found is not None:
                return found
        return self.store.default_environment if lowered == "tier" else None

    def session(self, user: StatsigUser | JsonMap) -> EvaluationSession:
        """Many evaluations for one user, sharing what they derive from it (initialize)."""
        return EvaluationSession(self, coerce_user(user))

    def _request(self, user: StatsigUser | JsonMap) -> _Request:
        return _Request(self, UserView(coerce_user(user)), shared=False)

    def check_gate(self, user: StatsigUser | JsonMap, name: str) -> GateEvaluation:
        """Evaluate a gate (also segments ``segment:<name>`` and holdouts)."""
        return _gate_result(self._request(user), name)

    def get_config(
        self, user: StatsigUser | JsonMap, name: str, *, copy_value: bool = True
    ) -> ConfigEvaluation:
        """Evaluate a dynamic config, experiment or autotune.

        ``copy_value=False`` returns the spec's own value object: only for read-only use.
        """
        return _config_result(self._request(user), name, copy_value)

    def get_layer(
        self, user: StatsigUser | JsonMap, name: str, *, copy_value: bool = True
    ) -> LayerEvaluation:
        """Evaluate a layer, delegating to the experiment the user is allocated to.

        ``copy_value=False`` returns the spec's own value object: only for read-only use.
        """
        return _layer_result(self._request(user), name, copy_value)

    def get_parameter(
        self, user: StatsigUser | JsonMap, store_name: str, parameter_name: str
    ) -> ParameterEvaluation:
        """Resolve one parameter of a parameter store through the gate, config, experiment or
        layer it reads (``value_or_fallback`` applies an SDK's fallback rule)."""
        return get_parameter(self, user, store_name, parameter_name)


def _run(request: _Request, plan: _Plan) -> tuple[Outcome, _Context] | None:
    ctx = request.context(plan)
    try:
        return ctx.run(plan), ctx
    except UnsupportedError as problem:
        # Fails closed by design (docs/sdk.md §Rules and results); the log says which part
        # of the spec could not be evaluated.
        logger.debug("%s: unsupported %s; its default is served", plan.spec.name, problem)
        return None


def _gate_result(request: _Request, name: str) -> GateEvaluation:
    plan = request.evaluator.compiled.gates.get(name)
    if plan is None:
        return GateEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
    spec = plan.spec
    run = _run(request, plan)
    if run is None:
        return GateEvaluation(
            name=name, rule_id="", id_type=spec.id_type, reason=Reason.UNSUPPORTED
        )
    outcome, ctx = run
    if plan.leaf:
        # A leaf records no exposure: its result only depends on the outcome.
        checked = plan.checks.get(id(outcome))
        if checked is not None:
            return checked
    result = GateEvaluation(
        name=name,
        rule_id=outcome.rule_id,
        id_type=spec.id_type,
        reason=Reason.RECOGNIZED,
        group_name=outcome.group_name,
        secondary_exposures=ctx.final_exposures(),
        value=outcome.bool_value,
    )
    if plan.leaf and not result.secondary_exposures and _is_plan_outcome(plan, outcome):
        plan.checks[id(outcome)] = result
    return result


def _config_result(request: _Request, name: str, copy_value: bool) -> ConfigEvaluation:
    plan = request.evaluator.compiled.configs.get(name)
    if plan is None:
        return ConfigEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
    spec = plan.spec
    run = _run(request, plan)
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


def _layer_result(request: _Request, name: str, copy_value: bool) -> LayerEvaluation:
    plan = request.evaluator.compiled.layers.get(name)
    if plan is None:
        return LayerEvaluation(name=name, rule_id="", id_type="", reason=Reason.UNRECOGNIZED)
    spec = plan.spec
    run = _run(request, plan)
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


class EvaluationSession:
    """Every evaluation one ``/v1/initialize`` makes for one user.

    The user's derived values are computed once and each gate is evaluated once, however many
    specs reference it. Results equal the evaluator's own ``check_gate``/``get_config``/
    ``get_layer`` with their secondary exposures de-duplicated (see ``_Request``), which is
    what the initialize response carries. Where sharing could differ (a nesting chain near
    the limit, a reference cycle), that one spec is evaluated unshared.
    """

    __slots__ = ("_request", "evaluator", "user")

    def __init__(self, evaluator: Evaluator, user: StatsigUser) -> None:
        self.evaluator = evaluator
        self.user = user
        self._request = _Request(evaluator, UserView(user), shared=True)

    def _unshared(self) -> _Request:
        return _Request(self.evaluator, self._request.view, shared=False)

    def close(self) -> None:
        """Break the request's one reference cycle (its leaf context), so that reference
        counting frees everything it evaluated when the session goes: otherwise an answer's
        gate results wait for the cycle collector, which must then walk them all (docs/sdk.md
        §Speed of evaluation). Evaluating after ``close`` still gives the same results."""
        self._request.leaf = None

    def gate(self, name: str) -> tuple[bool, str, tuple[SecondaryExposure, ...]]:
        """Value, rule id and (raw) secondary exposures of gate ``name``."""
        try:
            # -1: a top-level evaluation checks no limit for the gate itself.
            entry = self._request.gate(name, -1)
        except UnsupportedError as problem:
            logger.debug("%s: unsupported %s; its default is served", name, problem)
            return False, "", ()
        except _Fallback:
            result = _gate_result(self._unshared(), name)
            return result.value, result.rule_id, result.secondary_exposures
        if entry is None:
            return False, "", ()
        return entry.outcome.bool_value, entry.outcome.rule_id, entry.exposures

    def leaf_gate(self, name: str) -> GateResult | None:
        """The result of gate ``name`` when it is a leaf (it references no other spec), built
        once per revision and outcome and shared across sessions; ``None`` otherwise."""
        plan = self.evaluator.compiled.gates.get(name)
        if plan is None or not plan.leaf:
            return None
        try:
            return self._request.gate(name, -1)
        except UnsupportedError:
            return None

    def leaf_config(self, name: str) -> tuple[Outcome, dict[tuple[int, str], Any]] | None:
        """The outcome of config ``name`` when it is a leaf (it references no other spec),
        with the place where renderings of its outcomes are kept, shared across sessions;
        ``None`` otherwise. The outcome is one of the plan's own, so its id keys a rendering."""
        plan = self.evaluator.compiled.configs.get(name)
        if plan is None or not plan.leaf:
            return None
        try:
            return self._request.context(plan).run(plan), plan.renderings
        except UnsupportedError:
            return None

    def config_outcome(self, name: str) -> tuple[Outcome, tuple[SecondaryExposure, ...]] | None:
        """The outcome and (raw) secondary exposures of config ``name`` as ``get_config``
        finds them, without building its result; ``None`` when the config is unknown or
        unsupported, or needs the unshared evaluation: ``get_config`` answers those."""
        plan = self.evaluator.compiled.configs.get(name)
        if plan is None:
            return None
        try:
            ctx = self._request.context(plan)
            return ctx.run(plan), ctx.final_exposures()
        except (UnsupportedError, _Fallback):
            return None

    def check_gate(self, name: str) -> GateEvaluation:
        """``Evaluator.check_gate`` for this session's user."""
        try:
            return _gate_result(self._request, name)
        except _Fallback:
            return _gate_result(self._unshared(), name)

    def get_config(self, name: str, *, copy_value: bool = True) -> ConfigEvaluation:
        """``Evaluator.get_config`` for this session's user."""
        try:
            return _config_result(self._request, name, copy_value)
        except _Fallback:
            return _config_result(self._unshared(), name, copy_value)

    def get_layer(self, name: str, *, copy_value: bool = True) -> LayerEvaluation:
        """``Evaluator.get_layer`` for this session's user."""
        try:
            return _layer_result(self._request, name, copy_value)
        except _Fallback:
            return _layer_result(self._unshared(), name, copy_value)
