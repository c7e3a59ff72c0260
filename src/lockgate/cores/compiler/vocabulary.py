"""Which condition types exist, which operators each accepts, and what each needs.

The operator sets are the union of what Statsig's console documents per type and the SDK
operators that read the same value (`docs/console.md` §Conditions); anything else fails closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Target(StrEnum):
    """The shape of ``targetValue`` an operator needs."""

    LIST = "list"  # one or more strings or numbers
    NUMBER = "number"
    VERSION = "version"  # a version string
    DATE = "date"  # epoch milliseconds
    REGEX = "regex"
    NONE = "none"  # no target (is_null / is_not_null)
    GATE = "gate"  # a gate id
    SEGMENT = "segment"  # a segment id


OPERATOR_TARGETS: dict[str, Target] = {
    **{
        op: Target.LIST
        for op in (
            "any",
            "none",
            "any_case_sensitive",
            "none_case_sensitive",
            "str_contains_any",
            "str_contains_none",
            "str_starts_with_any",
            "str_ends_with_any",
            "array_contains_any",
            "array_contains_none",
            "array_contains_all",
            "not_array_contains_all",
        )
    },
    **{op: Target.NUMBER for op in ("lt", "gt", "lte", "gte")},
    **{
        op: Target.VERSION
        for op in (
            "version_lt",
            "version_gt",
            "version_lte",
            "version_gte",
            "version_eq",
            "version_neq",
        )
    },
    **{op: Target.DATE for op in ("before", "after", "on")},
    "regex": Target.REGEX,
    "str_matches": Target.REGEX,
    "is_null": Target.NONE,
    "is_not_null": Target.NONE,
}

_MATCH = frozenset({"any", "none", "any_case_sensitive", "none_case_sensitive"})
_TEXT = _MATCH | {
    "str_contains_any",
    "str_contains_none",
    "str_starts_with_any",
    "str_ends_with_any",
    "regex",
    "str_matches",
    "is_null",
    "is_not_null",
}
_NUMBER = frozenset({"lt", "gt", "lte", "gte"})
_VERSION = frozenset(
    {"version_lt", "version_gt", "version_lte", "version_gte", "version_eq", "version_neq"}
)
_DATE = frozenset({"before", "after", "on"})
_ARRAY = frozenset(
    {"array_contains_any", "array_contains_none", "array_contains_all", "not_array_contains_all"}
)


@dataclass(frozen=True)
class ConditionType:
    operators: frozenset[str]
    # None: the condition takes no operator; the target kind is then fixed by ``target``.
    default_operator: str | None = None
    target: Target | None = None
    needs_field: bool = False
    needs_custom_id: bool = False
    in_segments: bool = True


CONDITION_TYPES: dict[str, ConditionType] = {
    "public": ConditionType(frozenset(), in_segments=False),
    "user_id": ConditionType(_TEXT),
    "email": ConditionType(_TEXT),
    "custom_field": ConditionType(_TEXT | _NUMBER | _VERSION | _DATE | _ARRAY, needs_field=True),
    "unit_id": ConditionType(_TEXT, needs_custom_id=True),
    "app_version": ConditionType(_MATCH | _VERSION),
    "browser_name": ConditionType(_MATCH),
    "browser_version": ConditionType(_MATCH | _VERSION),
    "os_name": ConditionType(_MATCH),
    "os_version": ConditionType(_MATCH | _VERSION),
    "device_model": ConditionType(_TEXT, in_segments=False),
    "country": ConditionType(_MATCH),
    "locale": ConditionType(_MATCH | {"str_contains_any", "str_contains_none"}, in_segments=False),
    "ip_address": ConditionType(_MATCH),
    "user_agent": ConditionType(_TEXT, in_segments=False),
    "environment_tier": ConditionType(frozenset({"any", "none"}), default_operator="any"),
    "time": ConditionType(_DATE, in_segments=False),
    "target_app": ConditionType(frozenset({"any", "none"}), in_segments=False),
    "passes_gate": ConditionType(frozenset(), target=Target.GATE, in_segments=False),
    "fails_gate": ConditionType(frozenset(), target=Target.GATE, in_segments=False),
    "passes_segment": ConditionType(frozenset(), target=Target.SEGMENT),
    "fails_segment": ConditionType(frozenset(), target=Target.SEGMENT),
    "experiment_group": ConditionType(
        frozenset({"any", "none"}), needs_field=True, in_segments=False
    ),
}

# Types in Statsig's vocabulary that no SDK evaluates (web-only features). Lockgate refuses
# them rather than store rules that could never match.
UNEVALUATED_TYPES = frozenset({"url", "javascript"})

# Segment rules may use only these (`docs/console.md` §Segment conditions).
SEGMENT_TYPES = frozenset(name for name, spec in CONDITION_TYPES.items() if spec.in_segments)
