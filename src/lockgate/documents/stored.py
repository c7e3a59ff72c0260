"""Entity documents as the database keeps them (the ``document`` JSON column of each entity
table), where they differ from the Console API's shapes in ``lockgate.documents.console``.

A stored document is the API's DTO without its computed fields, plus internal keys the API
never shows: salts, rule rollout counters, overrides, layer buckets, holdout attachment times.
The services write these documents and the compiler reads them. The entity types name the keys
Lockgate's code reads and writes; a document also keeps the other API fields a request set.
"""

from typing import Literal, NotRequired, TypedDict

from lockgate.documents.values import JsonObject, JsonValue

# -- rules and conditions --------------------------------------------------------------------


class StoredCondition(TypedDict):
    """A condition as written, normalised: every key present, ``None`` where unused."""

    type: str
    operator: str | None
    targetValue: JsonValue
    # ``custom_field`` and ``experiment_group`` only.
    field: str | None
    # ``unit_id`` only: the unit id type it reads.
    customID: str | None


class StoredVariant(TypedDict):
    """A config rule's variant."""

    id: str
    name: str
    passPercentage: float
    returnValue: JsonValue
    returnValueJson5: NotRequired[str]


class StoredRule(TypedDict):
    """A rule of a gate, config, segment or experiment's inline targeting.

    ``salt`` is what the pass percentage hashes on; it survives rollout changes, so raising a
    percentage only adds units. ``rolloutCount`` numbers the ``baseID:pct:n`` ids a rule gets
    when its percentage changes. Neither is shown by the API.
    """

    name: str
    passPercentage: float
    conditions: list[StoredCondition]
    environments: list[str] | None
    id: str
    baseID: str
    salt: str
    rolloutCount: int
    # Config rules only.
    returnValue: NotRequired[JsonValue]
    returnValueJson5: NotRequired[str]
    variants: NotRequired[list[StoredVariant]]


# -- overrides -------------------------------------------------------------------------------


class StoredEnvironmentOverride(TypedDict):
    environment: str | None
    # The unit id type the ids are of; ``None`` or ``userID`` for user ids.
    unitID: str | None
    passingIDs: list[str]
    failingIDs: list[str]


class StoredGateOverrides(TypedDict):
    """Ids forced to pass or fail a gate or a holdout (the API's ``OverrideDto``)."""

    passingUserIDs: list[str]
    failingUserIDs: list[str]
    passingCustomIDs: list[str]
    failingCustomIDs: list[str]
    environmentOverrides: list[StoredEnvironmentOverride]


class StoredConditionalOverride(TypedDict):
    """Whoever passes a gate or segment goes to a group."""

    type: Literal["gate", "segment"]
    id: str
    groupID: str
    environment: str | None


class StoredIdOverride(TypedDict):
    """Listed units go to a group."""

    groupID: str
    ids: list[str]
    environment: str | None
    unitType: str


class StoredExperimentOverrides(TypedDict):
    overrides: list[StoredConditionalOverride]
    userIDOverrides: list[StoredIdOverride]


class StoredLayerConditionalOverride(TypedDict):
    type: str
    name: str
    experimentName: str
    groupName: str


class StoredLayerIdOverride(TypedDict):
    groupName: str
    ids: list[str]
    idType: str
    environment: str | None
    experimentName: str


class StoredLayerOverrides(TypedDict):
    conditionalOverrides: list[StoredLayerConditionalOverride]
    idOverrides: list[StoredLayerIdOverride]


# -- groups, parameters, variants ------------------------------------------------------------


class StoredGroup(TypedDict):
    """An experiment group; ``size`` is its percent of the experiment's units."""

    name: str
    id: str
    size: float
    parameterValues: JsonObject
    description: str
    disabled: NotRequired[bool]
    foreignGroupID: NotRequired[str]


ParameterType = Literal["string", "number", "boolean", "object", "array"]


class StoredParameter(TypedDict):
    """A layer parameter: experiments of the layer set it, everyone else gets the default."""

    name: str
    type: ParameterType
    defaultValue: JsonValue


class StoredAutotuneVariant(TypedDict):
    name: str
    json: JsonObject
    id: str
    size: NotRequired[float]


class StoredAutotuneWinner(TypedDict):
    id: str
    name: str


# -- entities --------------------------------------------------------------------------------


class EntityMetadata(TypedDict):
    """What every stored document carries once saved (the services add it)."""

    id: str
    version: int
    creatorID: str | None
    creatorName: str | None
    creatorEmail: str | None
    createdTime: int
    lastModifierID: str | None
    lastModifierName: str | None
    lastModifierEmail: str | None
    lastModifiedTime: int


class Owned(EntityMetadata):
    """The ownership fields most kinds share with the API (segments only keep them when set)."""

    team: str | None
    teamID: str | None


# Open metric alerts, by metric id (gates and experiments).
Alerts = dict[str, JsonObject]


class StoredGate(Owned):
    name: str
    description: str
    idType: str
    isEnabled: bool
    status: Literal["In Progress", "Launched", "Disabled", "Archived"]
    type: str
    typeReason: str
    rules: list[StoredRule]
    tags: list[str]
    targetApps: list[str]
    holdoutIDs: list[str]
    checksPerHour: float | None
    owner: JsonObject
    isTemplate: bool
    measureMetricLifts: bool
    monitoringMetrics: list[JsonObject]
    reviewSettings: JsonObject
    releasePipelineID: str | None
    overrides: NotRequired[StoredGateOverrides]
    alerts: NotRequired[Alerts]
    # What the gate served before it was archived (older documents: ``statusBeforeArchive``).
    preArchiveStatus: NotRequired[str | None]
    statusBeforeArchive: NotRequired[str | None]
    archiveReason: NotRequired[str | None]
    salt: NotRequired[str]


class StoredConfig(Owned):
    name: str
    description: str
    idType: str
    isEnabled: bool
    status: Literal["Enabled", "Disabled", "Archived"]
    rules: list[StoredRule]
    defaultValue: JsonObject
    defaultValueJson5: NotRequired[str]
    schema: str | None
    schemaJson5: NotRequired[str | None]
    tags: list[str]
    targetApps: list[str]
    holdoutIDs: list[str]
    releasePipelineID: str | None
    isTemplate: bool
    owner: NotRequired[JsonObject]
    salt: str


class StoredSegment(EntityMetadata):
    name: str
    description: str
    type: Literal["rule_based", "id_list", "user_store_id_list", "analysis_list"]
    idType: str
    isEnabled: bool
    status: Literal["Active", "Archived"]
    tags: list[str]
    team: NotRequired[str | None]
    teamID: NotRequired[str | None]
    salt: str
    # Rule-based segments.
    rules: NotRequired[list[StoredRule]]
    # Id-list segments.
    count: NotRequired[int]
    idListVersion: NotRequired[int]


class StoredExperiment(Owned):
    """An experiment. ``salt`` is what its groups hash on, ``layerSalt`` its implicit layer's,
    ``buckets`` the layer buckets (of 1000) it owns while it holds traffic."""

    name: str
    description: str
    hypothesis: str
    idType: str
    status: Literal["setup", "active", "decision_made", "abandoned", "archived"]
    statusBeforeArchive: NotRequired[str]
    groups: list[StoredGroup]
    controlGroupID: str | None
    launchedGroupID: str | None
    keepTargeting: NotRequired[bool]
    decisionTime: int | None
    decisionReason: str | None
    layerID: str | None
    allocation: float
    targetingGateID: str | None
    inlineTargetingRules: list[StoredRule]
    overrides: StoredExperimentOverrides
    tags: list[str]
    targetApps: list[str]
    holdoutIDs: list[str]
    salt: str
    layerSalt: str
    buckets: list[int]
    startTime: int | None
    endTime: int | None
    scheduledTime: NotRequired[int | None]
    duration: int | None
    primaryMetrics: list[JsonObject]
    primaryMetricTags: list[str]
    secondaryMetrics: list[JsonObject]
    secondaryMetricTags: list[str]
    otherMetrics: NotRequired[list[JsonObject]]
    defaultConfidenceInterval: str
    sequentialTesting: bool
    bonferroniCorrection: bool
    bonferroniCorrectionPerMetric: NotRequired[bool]
    benjaminiHochbergPerVariant: NotRequired[bool]
    benjaminiHochbergPerMetric: NotRequired[bool]
    benjaminiPrimaryMetricsOnly: NotRequired[bool]
    analyticsType: NotRequired[str | None]
    targetExposures: NotRequired[int | None]
    secondaryIDType: NotRequired[str | None]
    allocationDuration: NotRequired[int | None]
    fixedAnalysisDuration: NotRequired[int]
    analysisStartTime: NotRequired[str]
    analysisEndTime: NotRequired[str]
    links: NotRequired[list[JsonObject]]
    alerts: NotRequired[Alerts]


class StoredLayer(Owned):
    name: str
    description: str
    idType: str
    isImplicitLayer: bool
    parameters: list[StoredParameter]
    tags: list[str]
    targetApps: list[str]
    holdoutIDs: list[str]
    salt: str
    overrides: StoredLayerOverrides
    # The values a shipped experiment froze for each holdout (holdout id to parameter values).
    holdoutValues: NotRequired[dict[str, JsonObject]]


class StoredHoldout(Owned):
    """A holdout. ``referenceID`` is the id of the rule that applies it wherever it covers;
    ``populationRuleBaseID``/``populationRuleID`` the stable and current ids of its population
    rule; ``attachedTimes`` when each listed entity was attached; ``globalSinceTime`` when it
    last became global."""

    name: str
    description: str
    idType: str
    isEnabled: bool
    isGlobal: bool
    globalSinceTime: NotRequired[int]
    passPercentage: float
    gateIDs: list[str]
    experimentIDs: list[str]
    layerIDs: list[str]
    targetingGateID: str | None
    salt: str
    referenceID: str
    populationRuleBaseID: str
    populationRuleID: str
    percentageEdits: int
    attachedTimes: dict[str, dict[str, int]]
    overrides: StoredGateOverrides
    monitoringMetrics: list[JsonObject]
    tags: list[str]
    targetApps: list[str]


class StoredAutotune(Owned):
    """An autotune; ``trafficWeights`` (variant id to weight) split its traffic while it runs."""

    name: str
    description: str
    idType: str
    status: Literal["setup", "active", "decision_made"]
    isStarted: bool
    startTime: NotRequired[int | None]
    decisionTime: NotRequired[int | None]
    decisionReason: NotRequired[str | None]
    variants: list[StoredAutotuneVariant]
    winner: StoredAutotuneWinner | None
    trafficWeights: dict[str, float]
    successEvent: str
    successEventValue: str
    explorationWindow: str
    attributionWindow: str
    winnerThreshold: str
    # Optional settings, kept when a request gives them.
    attributionWindowUnit: NotRequired[JsonValue]
    explorationWindowRate: NotRequired[JsonValue]
    longtermExplorationAllocation: NotRequired[JsonValue]
    metadataField: NotRequired[JsonValue]
    higherIsBetter: NotRequired[JsonValue]
    isContextual: NotRequired[JsonValue]
    metricSourceID: NotRequired[JsonValue]
    linkedExperimentName: NotRequired[JsonValue]
    goalRichText: NotRequired[JsonValue]
    optimizationParameter: NotRequired[JsonValue]
    valueColumn: NotRequired[JsonValue]
    featureList: NotRequired[JsonValue]
    tags: list[str]
    targetApps: list[str]
    holdoutIDs: list[str]
    salt: str
