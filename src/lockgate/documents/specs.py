"""The compiled SDK documents: ``download_config_specs`` in its canonical dcs-v2 form and its
dcs-v1 rendering, and the client ``/v1/initialize`` response.

The compiler writes them, the evaluator and the SDK routes read them. Keys are the wire's
(camelCase inside specs, snake_case at the top level, as the official SDKs expect).
"""

from collections.abc import Mapping
from typing import Literal, NotRequired, TypedDict

from lockgate.documents.values import JsonObject, JsonValue

SpecType = Literal["feature_gate", "dynamic_config"]
SpecEntity = Literal[
    "feature_gate", "segment", "holdout", "dynamic_config", "experiment", "autotune", "layer"
]
HashUsed = Literal["djb2", "sha256", "none"]


# -- dcs-v2 ----------------------------------------------------------------------------------


class SpecCondition(TypedDict):
    """One entry of ``condition_map``, keyed by the djb2 of its JSON text (so key order, as the
    compiler writes it, is part of its id)."""

    type: str
    targetValue: JsonValue
    operator: str | None
    # Absent from the id-override and id-list conditions Statsig writes without it.
    field: NotRequired[str | None]
    # ``salt`` of a ``user_bucket``, ``custom_id`` of a ``unit_id``, ``custom_field``...;
    # null in holdout references and populations.
    additionalValues: dict[str, str] | None
    idType: str


class SpecRule(TypedDict):
    """One rule of a spec; ``conditions`` are ids in ``condition_map``."""

    name: str
    groupName: NotRequired[str]
    passPercentage: float
    conditions: list[str]
    # ``true``/``false`` in gates, the served object in configs, experiments and layers.
    returnValue: JsonValue
    id: str
    salt: str
    idType: str
    isExperimentGroup: NotRequired[bool]
    # Layer rules hand the evaluation over to this experiment.
    configDelegate: NotRequired[str]


class ConfigSpec(TypedDict):
    """A gate, segment, holdout, dynamic config, experiment, autotune or layer."""

    type: SpecType
    salt: str
    enabled: bool
    defaultValue: JsonValue
    rules: list[SpecRule]
    idType: str
    entity: SpecEntity
    version: NotRequired[int]
    targetAppIDs: NotRequired[list[str]]
    # Experiments only.
    isActive: NotRequired[bool]
    hasSharedParams: NotRequired[bool]
    explicitParameters: NotRequired[list[str]]


class ConfigSpecsV2(TypedDict):
    """The canonical compiled document (``response_format: dcs-v2``)."""

    has_updates: bool
    time: int
    company_id: str
    response_format: Literal["dcs-v2"]
    feature_gates: dict[str, ConfigSpec]
    dynamic_configs: dict[str, ConfigSpec]
    layer_configs: dict[str, ConfigSpec]
    experiment_to_layer: dict[str, str]
    condition_map: dict[str, SpecCondition]
    # Names of the id lists served as files (smaller ones are inlined into conditions).
    id_lists: dict[str, bool]
    param_stores: JsonObject
    diagnostics: dict[str, int]
    sdk_configs: dict[str, str | int]
    sdk_flags: JsonObject
    app_id: NotRequired[str]
    # djb2 of each client key with a target app → its primary app id (docs/sdk.md §Target apps).
    hashed_sdk_keys_to_app_ids: NotRequired[dict[str, str]]
    default_environment: NotRequired[str]
    # Added when the document is encoded for a download.
    checksum: NotRequired[str]


# -- dcs-v1 ----------------------------------------------------------------------------------


class SpecConditionV1(TypedDict):
    """A condition written inline in a v1 rule; ``user_bucket`` set targets are int arrays."""

    type: str
    targetValue: JsonValue
    operator: str | None
    field: NotRequired[str | None]
    additionalValues: dict[str, str] | None
    idType: str
    isDeviceBased: bool


class SpecRuleV1(TypedDict):
    name: str
    groupName: NotRequired[str]
    passPercentage: float
    conditions: list[SpecConditionV1]
    returnValue: JsonValue
    id: str
    salt: str
    idType: str
    isExperimentGroup: NotRequired[bool]
    configDelegate: NotRequired[str]
    isDeviceBased: bool


class ConfigSpecV1(TypedDict):
    name: str
    type: SpecType
    salt: str
    enabled: bool
    defaultValue: JsonValue
    rules: list[SpecRuleV1]
    idType: str
    isDeviceBased: bool
    entity: SpecEntity
    version: NotRequired[int]
    targetAppIDs: NotRequired[list[str]]
    isActive: NotRequired[bool]
    hasSharedParams: NotRequired[bool]
    explicitParameters: NotRequired[list[str]]


class ConfigSpecsV1(TypedDict):
    """The legacy rendering: specs in arrays, conditions inline, ``layers`` listing each
    layer's experiments."""

    has_updates: bool
    time: int
    company_id: str
    response_format: Literal["dcs-v1"]
    feature_gates: list[ConfigSpecV1]
    dynamic_configs: list[ConfigSpecV1]
    layer_configs: list[ConfigSpecV1]
    layers: dict[str, list[str]]
    id_lists: dict[str, bool]
    param_stores: JsonObject
    diagnostics: dict[str, int]
    sdk_configs: dict[str, str | int]
    sdk_flags: JsonObject
    app_id: NotRequired[str]
    default_environment: NotRequired[str]
    checksum: NotRequired[str]


# -- the client initialize response ----------------------------------------------------------


class SecondaryExposureWire(TypedDict):
    gate: str
    gateValue: str
    ruleID: str


class InitializeGate(TypedDict):
    name: str
    value: bool
    rule_id: str
    id_type: str
    secondary_exposures: list[SecondaryExposureWire]


class InitializeConfig(TypedDict):
    """A dynamic config, experiment or autotune as the client sees it."""

    name: str
    value: Mapping[str, JsonValue]
    rule_id: str
    group: str
    id_type: str
    is_device_based: bool
    secondary_exposures: list[SecondaryExposureWire]
    # Dynamic configs.
    passed: NotRequired[bool]
    # Experiments and autotunes.
    group_name: NotRequired[str]
    is_experiment_active: NotRequired[bool]
    is_user_in_experiment: NotRequired[bool]
    is_in_layer: NotRequired[bool]
    explicit_parameters: NotRequired[list[str]]


class InitializeLayer(TypedDict):
    name: str
    value: Mapping[str, JsonValue]
    rule_id: str
    group: str
    id_type: str
    is_device_based: bool
    explicit_parameters: list[str]
    secondary_exposures: list[SecondaryExposureWire]
    undelegated_secondary_exposures: list[SecondaryExposureWire]
    # When the user is allocated to one of the layer's experiments.
    allocated_experiment_name: NotRequired[str]
    is_experiment_active: NotRequired[bool]
    is_user_in_experiment: NotRequired[bool]
    group_name: NotRequired[str]


class EvaluatedKeys(TypedDict, total=False):
    userID: str
    customIDs: dict[str, str]


class InitializeResponse(TypedDict):
    """The ``/v1/initialize`` body ("init-v1"): every entity evaluated, names hashed."""

    feature_gates: dict[str, InitializeGate]
    dynamic_configs: dict[str, InitializeConfig]
    layer_configs: dict[str, InitializeLayer]
    param_stores: dict[str, JsonObject]
    time: int
    has_updates: bool
    hash_used: HashUsed
    user: JsonObject
    evaluated_keys: EvaluatedKeys
    sdkParams: JsonObject
    # With session replay settings in the spec.
    recording_blocked: NotRequired[bool]
    can_record_session: NotRequired[bool]
    session_recording_rate: NotRequired[float]
    # Added by the SDK route from the request.
    derived_fields: NotRequired[dict[str, str]]
    company_lcut: NotRequired[int]
    hashed_sdk_key_used: NotRequired[str]
    # Added by the SDK route last: a digest of the answer, which a client sends back to ask for
    # a delta from it (docs/sdk.md §Initialize deltas).
    full_checksum: NotRequired[str]


class InitializeDelta(InitializeResponse):
    """A delta answer to a client that sent a ``full_checksum``: the three maps hold only the
    entries that changed or came, the rest of the answer is whole."""

    is_delta: Literal[True]
    deleted_gates: list[str]
    deleted_configs: list[str]
    deleted_layers: list[str]
    # client-core's _DJB2Object of the three maps once merged, sorted two levels deep; the
    # client refetches the full answer when its own differs.
    checksumV2: str
    checksum: str


class InitializeNoUpdates(TypedDict):
    """The answer to a client whose ``full_checksum`` is the new answer's."""

    has_updates: Literal[False]
