"""Condition types as a table: ``type`` → ``(context, condition) -> bool``.

Most types only differ in the value they read (a user field, the environment tier, a bucket...),
which is then handed to an operator from ``OPERATORS``. An unknown type or operator raises
``UnsupportedError``, which makes the whole evaluation fail closed (docs/sdk.md §Rules and results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol, cast

from lockgate.cores.evaluation.derived import country_of_ip, user_agent_field
from lockgate.cores.evaluation.hashing import user_bucket
from lockgate.cores.evaluation.operators import OPERATORS, IdLists
from lockgate.cores.evaluation.spec import Condition
from lockgate.cores.evaluation.user import StatsigUser


class UnsupportedError(Exception):
    """The spec uses something this evaluator (like core) does not implement."""


class ConditionContext(Protocol):
    """What a condition may read besides the condition itself; implemented by the evaluator."""

    @property
    def user(self) -> StatsigUser: ...

    @property
    def app_id(self) -> str | None: ...

    @property
    def id_lists(self) -> IdLists: ...

    def now_ms(self) -> int: ...

    def environment_value(self, field_name: str) -> str | None: ...

    def nested_gate(self, gate_name: str) -> bool:
        """Evaluate another gate, recording its secondary exposure."""
        ...

    def experiment_group(self, experiment_name: str) -> str | None:
        """Group name the user gets in another experiment (no exposures recorded)."""
        ...


ConditionType = Callable[[ConditionContext, Condition], bool]
ValueReader = Callable[[ConditionContext, Condition], object]


def _read_user_field(ctx: ConditionContext, cond: Condition) -> object:
    return ctx.user.field_value(cond.field)


def _read_ua_based(ctx: ConditionContext, cond: Condition) -> object:
    explicit = ctx.user.field_value(cond.field)
    if explicit is not None:
        return explicit
    agent = ctx.user.field_value("userAgent")
    # Not checked to be a string: a custom ``userAgent`` reaches the parser as the user gave it.
    return user_agent_field(cast(str | None, agent), cond.field)


def _read_ip_based(ctx: ConditionContext, cond: Condition) -> object:
    explicit = ctx.user.field_value(cond.field)
    if explicit is not None or (cond.field or "").lower() != "country":
        return explicit
    ip = ctx.user.field_value("ip")
    return country_of_ip(ip) if isinstance(ip, str) else None


def _read_environment(ctx: ConditionContext, cond: Condition) -> object:
    return ctx.environment_value(cond.field) if cond.field is not None else None


def _read_user_bucket(ctx: ConditionContext, cond: Condition) -> object:
    salt = cond.additional_values.get("salt")
    unit_id = ctx.user.unit_id(cond.id_type) or ""
    return user_bucket(salt if isinstance(salt, str) else "", unit_id)


def _read_experiment_group(ctx: ConditionContext, cond: Condition) -> object:
    return ctx.experiment_group(cond.field) if cond.field is not None else None


def compared(read: ValueReader) -> ConditionType:
    """A condition type that reads a value and applies the condition's operator to it."""

    def evaluate(ctx: ConditionContext, cond: Condition) -> bool:
        value = read(ctx, cond)
        operator = OPERATORS.get(cond.operator) if cond.operator is not None else None
        if operator is None:
            raise UnsupportedError(f"operator {cond.operator!r}")
        return operator(value, cond.target_value, ctx.id_lists)

    return evaluate


def _gate_name(cond: Condition) -> str:
    return cond.target_value if isinstance(cond.target_value, str) else ""


CONDITION_TYPES: Final[dict[str, ConditionType]] = {
    # `public`, `pass_gate` and `fail_gate` ignore their operator (Statsig sends null or "any").
    "public": lambda ctx, cond: True,
    "pass_gate": lambda ctx, cond: ctx.nested_gate(_gate_name(cond)),
    "fail_gate": lambda ctx, cond: not ctx.nested_gate(_gate_name(cond)),
    "user_field": compared(_read_user_field),
    "ua_based": compared(_read_ua_based),
    "ip_based": compared(_read_ip_based),
    "environment_field": compared(_read_environment),
    "current_time": compared(lambda ctx, cond: ctx.now_ms()),
    "user_bucket": compared(_read_user_bucket),
    "unit_id": compared(lambda ctx, cond: ctx.user.unit_id(cond.id_type)),
    "target_app": compared(lambda ctx, cond: ctx.app_id),
    "experiment_group": compared(_read_experiment_group),
}


def evaluate_condition(ctx: ConditionContext, cond: Condition) -> bool:
    """Evaluate one condition; raises ``UnsupportedError`` for unknown types/operators."""
    condition_type = CONDITION_TYPES.get(cond.type)
    if condition_type is None:
        raise UnsupportedError(f"condition type {cond.type!r}")
    return condition_type(ctx, cond)
