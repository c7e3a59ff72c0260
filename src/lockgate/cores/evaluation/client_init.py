"""The client ``/v1/initialize`` response ("init-v1" format, docs/sdk.md §Client initialize).

Every gate, config, experiment, autotune and layer is evaluated for one user and rendered with
hashed names, the way statsig-python-core's ``get_client_initialize_response`` does it; the
JS client then evaluates nothing itself.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from typing import Final, TypeVar, cast

from lockgate.cores.evaluation.evaluator import (
    EvaluationSession,
    Evaluator,
    Outcome,
    dedupe_exposures,
)
from lockgate.cores.evaluation.hashing import HashAlgorithm, djb2, hash_name
from lockgate.cores.evaluation.results import ConfigEvaluation, LayerEvaluation, SecondaryExposure
from lockgate.cores.evaluation.spec import Entity, Spec, SpecStore
from lockgate.cores.evaluation.user import JsonMap, StatsigUser, coerce_user
from lockgate.documents.specs import (
    EvaluatedKeys,
    InitializeConfig,
    InitializeGate,
    InitializeLayer,
    InitializeResponse,
    SecondaryExposureWire,
)
from lockgate.documents.values import JsonObject, JsonValue

# Gate entities a client never sees directly: they are only referenced by other specs.
_HIDDEN_GATE_ENTITIES: Final = frozenset({Entity.SEGMENT, Entity.HOLDOUT})
# Fields of a store parameter that name the gate, config, experiment or layer it reads.
_ENTITY_NAME_FIELDS: Final = frozenset(
    {"gate_name", "config_name", "experiment_name", "layer_name"}
)
_K = TypeVar("_K", bound=Hashable)
_V = TypeVar("_V")


def app_id_for_client_key(store: SpecStore, client_key: str | None) -> str | None:
    """The target app of a client SDK key, from ``sdk_keys_to_app_ids`` or its hashed twin."""
    if not client_key:
        return None
    return store.sdk_keys_to_app_ids.get(client_key) or store.hashed_sdk_keys_to_app_ids.get(
        djb2(client_key)
    )


def _visible_to_app(target_app_ids: Iterable[str] | None, apps: frozenset[str] | None) -> bool:
    # A key bound to target apps only receives entities tagged with one of them.
    return apps is None or (target_app_ids is not None and not apps.isdisjoint(target_app_ids))


def _read_by_stores(stores: Iterable[JsonValue]) -> frozenset[str]:
    """The names of the gates, configs, experiments and layers that ``stores`` read."""
    names: set[str] = set()
    for body in stores:
        parameters = body.get("parameters") if isinstance(body, Mapping) else None
        if not isinstance(parameters, Mapping):
            continue
        for parameter in parameters.values():
            if isinstance(parameter, Mapping):
                names.update(
                    value
                    for key, value in parameter.items()
                    if key in _ENTITY_NAME_FIELDS and isinstance(value, str)
                )
    return frozenset(names)


class _ConfigOutcome:
    """What ``render.config`` reads of a ``ConfigEvaluation``, taken from an outcome the way
    ``get_config`` takes it (for a recognized config), without building the evaluation."""

    __slots__ = (
        "explicit_parameters",
        "group_name",
        "id_type",
        "is_experiment_active",
        "is_experiment_group",
        "passed",
        "rule_id",
        "secondary_exposures",
        "value",
    )

    def __init__(
        self, spec: Spec, outcome: Outcome, exposures: tuple[SecondaryExposure, ...]
    ) -> None:
        value = outcome.json_value
        self.value: Mapping[str, JsonValue] = value if isinstance(value, dict) else {}
        self.rule_id = outcome.rule_id
        self.id_type = spec.id_type
        self.secondary_exposures = exposures
        self.passed = outcome.bool_value
        self.group_name = outcome.group_name
        self.is_experiment_active = spec.is_active is True
        self.is_experiment_group = outcome.is_experiment_group
        self.explicit_parameters = spec.explicit_parameters or ()


# How many rendered exposure lists and entries one revision keeps per hash algorithm: this
# many, or this many per spec in a larger project; past it they are dropped and built anew (a
# bound on memory, reached only by a project whose nested gates combine into very many
# outcomes: the bench project grown to 10,000 specs keeps about 3 entries per spec).
KEPT_RENDERINGS: Final = 50_000
KEPT_RENDERINGS_PER_SPEC: Final = 8


class _Kept:
    """What the answers of one revision with one hashing algorithm share: the gates a client
    may see and the configs with their layer's defaults, listed once; rendered exposure lists
    by their raw exposures, and rendered entries by everything they are built from."""

    __slots__ = ("configs", "entries", "exposures", "gates", "limit")

    def __init__(self, store: SpecStore) -> None:
        specs = len(store.feature_gates) + len(store.dynamic_configs) + len(store.layer_configs)
        self.limit = max(KEPT_RENDERINGS, KEPT_RENDERINGS_PER_SPEC * specs)
        self.gates = tuple(
            (name, spec)
            for name, spec in store.feature_gates.items()
            if spec.entity not in _HIDDEN_GATE_ENTITIES
        )
        self.configs = tuple(
            (name, spec, _layer_default(store, name))
            for name, spec in store.dynamic_configs.items()
        )
        self.exposures: dict[tuple[SecondaryExposure, ...], list[SecondaryExposureWire]] = {}
        self.entries: dict[Hashable, InitializeGate | InitializeConfig] = {}


def _keep(kept: dict[_K, _V], key: _K, value: _V, limit: int) -> _V:
    if len(kept) >= limit:
        kept.clear()
    kept[key] = value
    return value


class _Renderer:
    """Shapes evaluations into init-v1 entries with one hashing algorithm.

    Exposure lists and the entries of gates and configs depend only on what they are rendered
    from (an outcome, the raw exposures): each is rendered once per revision, kept in the
    evaluator's ``kept`` and shared by every answer built from the same inputs; so are the
    leaf entries (docs/sdk.md §Speed of evaluation)."""

    def __init__(self, algorithm: HashAlgorithm, evaluator: Evaluator) -> None:
        self.algorithm = algorithm
        found = evaluator.kept.get(("init-v1", algorithm))
        if found is None:
            found = evaluator.kept.setdefault(("init-v1", algorithm), _Kept(evaluator.store))
        self.kept: _Kept = found

    def name(self, name: str) -> str:
        return hash_name(name, self.algorithm)

    def parameters(self, parameters: JsonValue | None) -> JsonObject:
        """A store's parameters with the names of the entities they read hashed (the client
        looks them up in its hashed maps); parameter names and values stay plain."""
        if not isinstance(parameters, Mapping):
            return {}
        rendered: JsonObject = {}
        for name, parameter in parameters.items():
            if isinstance(parameter, Mapping):
                parameter = {
                    key: self.name(value)
                    if key in _ENTITY_NAME_FIELDS and isinstance(value, str)
                    else value
                    for key, value in parameter.items()
                }
            rendered[name] = parameter
        return rendered

    def exposures(self, exposures: tuple[SecondaryExposure, ...]) -> list[SecondaryExposureWire]:
        if not exposures:
            return []
        kept = self.kept.exposures
        found = kept.get(exposures)
        if found is None:
            rendered: list[SecondaryExposureWire] = [
                {
                    "gate": self.name(exposure.gate),
                    "gateValue": exposure.gate_value,
                    "ruleID": exposure.rule_id,
                }
                for exposure in dedupe_exposures(exposures)
            ]
            found = _keep(kept, exposures, rendered, self.kept.limit)
        return found

    def kept_gate(
        self, spec: Spec, value: bool, rule_id: str, exposures: tuple[SecondaryExposure, ...]
    ) -> InitializeGate:
        """``gate``'s entry, rendered once per revision for the same inputs."""
        key = (spec.name, value, rule_id, exposures)
        found = self.kept.entries.get(key)
        if found is None:
            found = _keep(
                self.kept.entries, key, self.gate(spec, value, rule_id, exposures), self.kept.limit
            )
        return cast(InitializeGate, found)

    def gate(
        self, spec: Spec, value: bool, rule_id: str, exposures: tuple[SecondaryExposure, ...]
    ) -> InitializeGate:
        hashed = self.name(spec.name)
        return {
            "name": hashed,
            "value": value,
            "rule_id": rule_id,
            "id_type": spec.id_type,
            "secondary_exposures": self.exposures(exposures),
        }

    def kept_config(
        self,
        spec: Spec,
        outcome: Outcome,
        exposures: tuple[SecondaryExposure, ...],
        layer_default: JsonValue,
    ) -> InitializeConfig:
        """``config``'s entry for ``outcome``, rendered once per revision for the same inputs
        when the outcome is one of the compiled spec's own (whose id then names it)."""
        if outcome.delegate is not None:
            return self.config(spec, _ConfigOutcome(spec, outcome, exposures), layer_default)
        key = (id(outcome), exposures)
        found = self.kept.entries.get(key)
        if found is None:
            entry = self.config(spec, _ConfigOutcome(spec, outcome, exposures), layer_default)
            found = _keep(self.kept.entries, key, entry, self.kept.limit)
        return cast(InitializeConfig, found)

    def config(
        self, spec: Spec, result: ConfigEvaluation | _ConfigOutcome, layer_default: JsonValue
    ) -> InitializeConfig:
        value: Mapping[str, JsonValue] = result.value
        if isinstance(layer_default, Mapping):
            # Experiments in a layer carry the layer's defaults for parameters they don't set.
            value = {**layer_default, **result.value}
        entry: InitializeConfig = {
            "name": self.name(spec.name),
            "value": value,
            "rule_id": result.rule_id,
            "group": result.rule_id,
            "id_type": result.id_type,
            "is_device_based": result.id_type.lower() == "stableid",
            "secondary_exposures": self.exposures(result.secondary_exposures),
        }
        if spec.entity == Entity.DYNAMIC_CONFIG:
            entry["passed"] = result.passed
            return entry
        if result.group_name is not None:
            entry["group_name"] = result.group_name
        if spec.entity == Entity.EXPERIMENT:
            entry["is_experiment_active"] = result.is_experiment_active
            entry["is_user_in_experiment"] = result.is_experiment_group
            if spec.has_shared_params:
                entry["is_in_layer"] = True
                entry["explicit_parameters"] = list(result.explicit_parameters)
        return entry

    def layer(self, spec: Spec, result: LayerEvaluation) -> InitializeLayer:
        entry: InitializeLayer = {
            "name": self.name(spec.name),
            "value": result.value,
            "rule_id": result.rule_id,
            "group": result.rule_id,
            "id_type": result.id_type,
            "is_device_based": result.id_type.lower() == "stableid",
            "explicit_parameters": list(result.explicit_parameters),
            "secondary_exposures": self.exposures(result.secondary_exposures),
            "undelegated_secondary_exposures": self.exposures(
                result.undelegated_secondary_exposures
            ),
        }
        if result.allocated_experiment_name is not None:
            entry["allocated_experiment_name"] = self.name(result.allocated_experiment_name)
            entry["is_experiment_active"] = result.is_experiment_active
            entry["is_user_in_experiment"] = result.is_experiment_group
            if result.group_name is not None:
                entry["group_name"] = result.group_name
        return entry


def _add_session_replay(response: InitializeResponse, session: EvaluationSession) -> None:
    info = session.evaluator.store.session_replay_info
    if info is None:
        return
    blocked = info.get("recording_blocked") is True
    response["recording_blocked"] = blocked
    gate = info.get("targeting_gate")
    targeted = not isinstance(gate, str) or session.gate(gate)[0]
    response["can_record_session"] = not blocked and targeted
    rate = info.get("sampling_rate")
    if isinstance(rate, int | float) and not isinstance(rate, bool):
        response["session_recording_rate"] = float(rate)


def _evaluated_keys(user: StatsigUser) -> EvaluatedKeys:
    keys: EvaluatedKeys = {}
    if user.user_id:
        keys["userID"] = user.user_id
    if user.custom_ids:
        keys["customIDs"] = dict(user.custom_ids)
    return keys


def _layer_default(store: SpecStore, experiment: str) -> JsonValue:
    """The default value of the layer ``experiment`` belongs to (None outside a layer)."""
    layer = store.layer_configs.get(store.experiment_to_layer.get(experiment, ""))
    return layer.default_value if layer is not None else None


def client_initialize_response(
    evaluator: Evaluator,
    user: StatsigUser | JsonMap,
    *,
    hash_algorithm: HashAlgorithm = "djb2",
    client_app_id: str | None = None,
    client_app_ids: Collection[str] | None = None,
) -> InitializeResponse:
    """Evaluate everything for ``user`` and return the ``/v1/initialize`` JSON body.

    ``client_app_id`` is the target app of the requesting client key (see
    ``app_id_for_client_key``): it filters entities and answers ``target_app`` conditions.
    ``client_app_ids``, when given, are all the key's apps: an entity tagged with any of them
    is returned (``target_app`` conditions still read ``client_app_id``).

    The body is for encoding: like config values, which are the spec's own objects, the
    entries of gates and configs that reference no other spec are built once per evaluator
    and outcome and shared by every response. Add top-level keys to it; never change what it
    holds.
    """
    statsig_user = coerce_user(user)
    scoped = evaluator.for_app(client_app_id) if client_app_id is not None else evaluator
    session = scoped.session(statsig_user)
    try:
        return _response(session, statsig_user, hash_algorithm, client_app_id, client_app_ids)
    finally:
        session.close()


def _visible(
    name: str,
    target_app_ids: Iterable[str] | None,
    read: frozenset[str],
    apps: frozenset[str] | None,
) -> bool:
    """Whether an entity goes in an answer for ``apps``: it is read by a parameter store the
    answer carries (``read``) or targets one of the apps. A function of the module, not a
    closure in ``_response``: compiled by mypyc, a closure kept in its own scope would make a
    reference cycle of every answer (docs/sdk.md §Speed of evaluation)."""
    return name in read or _visible_to_app(target_app_ids, apps)


def _response(
    session: EvaluationSession,
    statsig_user: StatsigUser,
    hash_algorithm: HashAlgorithm,
    client_app_id: str | None,
    client_app_ids: Collection[str] | None,
) -> InitializeResponse:
    store = session.evaluator.store
    render = _Renderer(hash_algorithm, session.evaluator)
    apps: frozenset[str] | None = None
    if client_app_ids:
        apps = frozenset(client_app_ids)
    elif client_app_id is not None:
        apps = frozenset({client_app_id})

    kept_stores = {
        name: body
        for name, body in store.param_stores.items()
        if isinstance(body, Mapping) and _visible_to_app(body.get("targetAppIDs"), apps)
    }
    # What a kept store reads travels with it, tagged with the key's apps or not: the client
    # resolves a parameter by looking the entity up in this same response.
    read = _read_by_stores(kept_stores.values()) if apps is not None else frozenset()

    gates: dict[str, InitializeGate] = {}
    for name, spec in render.kept.gates:
        if apps is not None and not _visible(name, spec.target_app_ids, read, apps):
            continue
        leaf = session.leaf_gate(name)
        if leaf is not None:
            entry = leaf.renderings.get(hash_algorithm)
            if entry is None:
                outcome = leaf.outcome
                entry = render.gate(spec, outcome.bool_value, outcome.rule_id, ())
                leaf.renderings[hash_algorithm] = entry
            gates[entry["name"]] = entry
            continue
        entry = render.kept_gate(spec, *session.gate(name))
        gates[entry["name"]] = entry

    configs: dict[str, InitializeConfig] = {}
    for name, spec, layer_default in render.kept.configs:
        if apps is not None and not _visible(name, spec.target_app_ids, read, apps):
            continue
        shared = session.leaf_config(name)
        if shared is not None:
            outcome, renderings = shared
            key = (id(outcome), hash_algorithm)
            entry = renderings.get(key)
            if entry is None:
                result = session.get_config(name, copy_value=False)
                entry = renderings[key] = render.config(spec, result, layer_default)
            configs[entry["name"]] = entry
            continue
        found = session.config_outcome(name)
        if found is None:
            evaluated = session.get_config(name, copy_value=False)
            entry = render.config(spec, evaluated, layer_default)
        else:
            entry = render.kept_config(spec, *found, layer_default)
        configs[entry["name"]] = entry

    layers: dict[str, InitializeLayer] = {}
    for name, spec in store.layer_configs.items():
        if apps is not None and not _visible(name, spec.target_app_ids, read, apps):
            continue
        layers[render.name(name)] = render.layer(spec, session.get_layer(name, copy_value=False))

    param_stores: dict[str, JsonObject] = {
        render.name(name): render.parameters(body.get("parameters"))
        for name, body in kept_stores.items()
    }

    response: InitializeResponse = {
        "feature_gates": gates,
        "dynamic_configs": configs,
        "layer_configs": layers,
        "param_stores": param_stores,
        "time": store.time,
        "has_updates": True,
        "hash_used": hash_algorithm,
        "user": statsig_user.to_wire(),
        "evaluated_keys": _evaluated_keys(statsig_user),
        "sdkParams": {},
    }
    _add_session_replay(response, session)
    return response
