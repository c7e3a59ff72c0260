"""Condition types as a table: ``type`` → compiler of ``condition`` into ``(context) -> bool``.

Conditions are compiled once per spec document (docs/sdk.md §Speed of evaluation): the compiler
reads the condition's field, salt and target when the document is loaded, and the closure it
returns only reads the user. Most types only differ in the value they read (a user field, the
environment tier, a bucket...), which is then handed to a compiled operator from
``operators.py``. An unknown type or operator compiles to a closure raising
``UnsupportedError``, which makes the whole evaluation fail closed when a rule reaches it
(docs/sdk.md §Rules and results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NoReturn, Protocol

from lockgate.cores.evaluation.operators import (
    OPERATORS,
    IdLists,
    compile_operator,
    compile_text_operator,
    text_of,
)
from lockgate.cores.evaluation.spec import Condition
from lockgate.cores.evaluation.user import field_reader
from lockgate.cores.evaluation.view import UserView


class UnsupportedError(Exception):
    """The spec uses something this evaluator (like core) does not implement."""


class ConditionContext(Protocol):
    """What a condition may read besides the condition itself; implemented by the evaluator."""

    @property
    def view(self) -> UserView: ...

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


CompiledCondition = Callable[[ConditionContext], bool]
ConditionCompiler = Callable[[Condition], CompiledCondition]
# Given the condition, a reader of the value its operator compares.
ValueReader = Callable[[Condition], Callable[[ConditionContext], object]]


def unsupported(what: str) -> CompiledCondition:
    """A condition that fails the evaluation reaching it (unknown type, operator or id)."""

    def evaluate(ctx: ConditionContext) -> NoReturn:
        raise UnsupportedError(what)

    return evaluate


def _read_user_field(cond: Condition) -> Callable[[ConditionContext], object]:
    read = field_reader(cond.field)
    return lambda ctx: read(ctx.view.user)


def _read_ua_based(cond: Condition) -> Callable[[ConditionContext], object]:
    field = cond.field
    return lambda ctx: ctx.view.ua_field(field)


def _read_ip_based(cond: Condition) -> Callable[[ConditionContext], object]:
    field = cond.field
    return lambda ctx: ctx.view.ip_field(field)


def _read_environment(cond: Condition) -> Callable[[ConditionContext], object]:
    field = cond.field
    if field is None:
        return lambda ctx: None
    return lambda ctx: ctx.environment_value(field)


def _read_user_bucket(cond: Condition) -> Callable[[ConditionContext], object]:
    found = cond.additional_values.get("salt")
    salt = found if isinstance(found, str) else ""
    id_type = cond.id_type
    return lambda ctx: ctx.view.bucket(salt, id_type)


def _read_unit_id(cond: Condition) -> Callable[[ConditionContext], object]:
    id_type = cond.id_type
    return lambda ctx: ctx.view.unit_id(id_type)


def _read_experiment_group(cond: Condition) -> Callable[[ConditionContext], object]:
    field = cond.field
    if field is None:
        return lambda ctx: None
    return lambda ctx: ctx.experiment_group(field)


def compared(read: ValueReader, *, per_user: bool = False) -> ConditionCompiler:
    """A condition type that reads a value and applies the condition's operator to it.

    ``per_user``: the value read depends only on the user, the condition's field and unit
    type, and the evaluator (not on the clock or another spec), so one request reads it once.
    """

    def compile_(cond: Condition) -> CompiledCondition:
        reader = read(cond)
        if per_user:
            text_operator = compile_text_operator(cond.operator, cond.target_value)
            if text_operator is not None:
                return _text_condition(cond, reader, *text_operator)
        test = compile_operator(cond.operator, cond.target_value)
        if test is None:
            return unsupported(f"operator {cond.operator!r}")

        def evaluate(ctx: ConditionContext) -> bool:
            return test(reader(ctx), ctx.id_lists)

        return evaluate

    return compile_


def _text_condition(
    cond: Condition,
    reader: Callable[[ConditionContext], object],
    lower: bool,
    test: Callable[[str], bool],
    negate: bool,
) -> CompiledCondition:
    """A string operator's condition: the text it tests (the value's string view, lower-cased
    or not) is kept in the request's view under a key naming the source, so every condition
    reading the same field of the same source shares one read and one lower-casing."""
    key = "\x1f".join((cond.type, repr(cond.field), cond.id_type, "l" if lower else "s"))

    def evaluate(ctx: ConditionContext) -> bool:
        texts = ctx.view.texts
        text = texts.get(key)
        if text is None:
            value = reader(ctx)
            if type(value) is str:
                text = texts[key] = value.lower() if lower else value
            else:
                text = texts[key] = text_of(value, lower)
        return test(text) != negate

    return evaluate


def _read_now(cond: Condition) -> Callable[[ConditionContext], object]:
    return lambda ctx: ctx.now_ms()


def _read_app_id(cond: Condition) -> Callable[[ConditionContext], object]:
    return lambda ctx: ctx.app_id


def _public(cond: Condition) -> CompiledCondition:
    return lambda ctx: True


def _gate_name(cond: Condition) -> str:
    return cond.target_value if isinstance(cond.target_value, str) else ""


def _pass_gate(cond: Condition) -> CompiledCondition:
    name = _gate_name(cond)
    return lambda ctx: ctx.nested_gate(name)


def _fail_gate(cond: Condition) -> CompiledCondition:
    name = _gate_name(cond)
    return lambda ctx: not ctx.nested_gate(name)


CONDITION_TYPES: Final[dict[str, ConditionCompiler]] = {
    # `public`, `pass_gate` and `fail_gate` ignore their operator (Statsig sends null or "any").
    "public": _public,
    "pass_gate": _pass_gate,
    "fail_gate": _fail_gate,
    "user_field": compared(_read_user_field, per_user=True),
    "ua_based": compared(_read_ua_based, per_user=True),
    "ip_based": compared(_read_ip_based, per_user=True),
    "environment_field": compared(_read_environment, per_user=True),
    "current_time": compared(_read_now),
    "user_bucket": compared(_read_user_bucket),
    "unit_id": compared(_read_unit_id, per_user=True),
    "target_app": compared(_read_app_id),
    "experiment_group": compared(_read_experiment_group),
}


# Condition types that evaluate another spec (and so may record exposures or nest).
NESTING_TYPES: Final = frozenset({"pass_gate", "fail_gate", "experiment_group"})
# Condition types whose outcome depends on when they are evaluated, not only on the user.
CLOCK_TYPES: Final = frozenset({"current_time"})


def records_nothing(cond: Condition) -> bool:
    """Whether evaluating ``cond`` has no effect but its answer: it reads no other spec (so it
    records no secondary exposure) and its type and operator are known (so it cannot make the
    evaluation unsupported). Once a rule has failed, such conditions need not be evaluated."""
    if cond.type in NESTING_TYPES or cond.type not in CONDITION_TYPES:
        return False
    return cond.type == "public" or (cond.operator is not None and cond.operator in OPERATORS)


def compile_condition(cond: Condition) -> CompiledCondition:
    """Compile one condition; unknown types and operators raise only when evaluated."""
    compile_type = CONDITION_TYPES.get(cond.type)
    if compile_type is None:
        return unsupported(f"condition type {cond.type!r}")
    return compile_type(cond)
