"""Condition operators as a table: operator name → ``(value, target, id_lists) -> bool``.

``value`` is what the condition read from the user (``None`` when missing), ``target`` is the
condition's ``targetValue``. Semantics follow statsig-python-core (docs/sdk.md §Operators); an
operator missing from ``OPERATORS`` makes the whole evaluation Unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime
from functools import lru_cache
from typing import Final

from lockgate.cores.evaluation.hashing import id_list_hash
from lockgate.cores.evaluation.values import (
    as_number,
    as_string,
    as_timestamp_ms,
    compare_versions,
    target_item_string,
    values_equal,
    version_parts,
)

IdLists = Mapping[str, AbstractSet[str]]
Operator = Callable[[object, object, IdLists], bool]


def _target_strings(target: object) -> list[str]:
    if isinstance(target, Mapping):
        # v2 `user_bucket` targets are objects keyed by bucket number: {"0": true, ...}.
        return [str(key) for key in target]
    if isinstance(target, list):
        return [target_item_string(item) for item in target]
    if target is None:
        return []
    return [target_item_string(target)]


# Target lists are converted to strings once per condition object, not once per evaluation:
# the spec keeps its condition targets alive, and holding the target here keeps its id unique.
_PREPARED: dict[int, tuple[object, tuple[str, ...], tuple[str, ...]]] = {}
_PREPARED_LIMIT = 100_000


def _prepared_targets(target: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    entry = _PREPARED.get(id(target))
    if entry is None or entry[0] is not target:
        strings = tuple(_target_strings(target))
        if len(_PREPARED) >= _PREPARED_LIMIT:
            _PREPARED.clear()
        entry = (target, strings, tuple(s.lower() for s in strings))
        _PREPARED[id(target)] = entry
    return entry[1], entry[2]


def _string_list_operator(
    test: Callable[[str, str], bool], *, ignore_case: bool, negate: bool
) -> Operator:
    def apply(value: object, target: object, _: IdLists) -> bool:
        # A missing value is compared as "" (so it passes `none` and matches `any [""]`).
        text = as_string(value) or ""
        strings, lowered = _prepared_targets(target)
        candidates: Iterable[str] = strings
        if ignore_case:
            text = text.lower()
            candidates = lowered
        found = any(test(text, candidate) for candidate in candidates)
        return found != negate

    return apply


def _numeric(test: Callable[[float, float], bool]) -> Operator:
    def apply(value: object, target: object, _: IdLists) -> bool:
        left, right = as_number(value), as_number(target)
        return left is not None and right is not None and test(left, right)

    return apply


def _version(test: Callable[[int], bool]) -> Operator:
    def apply(value: object, target: object, _: IdLists) -> bool:
        order = compare_versions(value, target)
        return order is not None and test(order)

    return apply


def _utc_day(ms: int) -> object:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def _same_day(left: int, right: int) -> bool:
    try:
        return _utc_day(left) == _utc_day(right)
    except (OverflowError, OSError, ValueError):
        return False


def _time(test: Callable[[int, int], bool]) -> Operator:
    def apply(value: object, target: object, _: IdLists) -> bool:
        left, right = as_timestamp_ms(value), as_timestamp_ms(target)
        return left is not None and right is not None and test(left, right)

    return apply


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _str_matches(value: object, target: object, _: IdLists) -> bool:
    text, pattern = as_string(value), as_string(target)
    if text is None or pattern is None:
        return False
    compiled = _compiled(pattern)
    return compiled is not None and compiled.search(text) is not None


def _in_segment_list(value: object, target: object, id_lists: IdLists) -> bool:
    text = as_string(value)
    ids = id_lists.get(target) if isinstance(target, str) else None
    return text is not None and ids is not None and id_list_hash(text) in ids


def _array_operator(test: Callable[[set[str], list[str]], bool]) -> Operator:
    def apply(value: object, target: object, _: IdLists) -> bool:
        if not isinstance(value, list) or not isinstance(target, list):
            return False
        have = {as_string(item) or "" for item in value}
        return test(have, [as_string(item) or "" for item in target])

    return apply


OPERATORS: Final[dict[str, Operator]] = {
    "any": _string_list_operator(str.__eq__, ignore_case=True, negate=False),
    "none": _string_list_operator(str.__eq__, ignore_case=True, negate=True),
    "any_case_sensitive": _string_list_operator(str.__eq__, ignore_case=False, negate=False),
    "none_case_sensitive": _string_list_operator(str.__eq__, ignore_case=False, negate=True),
    "str_starts_with_any": _string_list_operator(str.startswith, ignore_case=True, negate=False),
    "str_ends_with_any": _string_list_operator(str.endswith, ignore_case=True, negate=False),
    "str_contains_any": _string_list_operator(str.__contains__, ignore_case=True, negate=False),
    "str_contains_none": _string_list_operator(str.__contains__, ignore_case=True, negate=True),
    "str_matches": _str_matches,
    "gt": _numeric(lambda a, b: a > b),
    "gte": _numeric(lambda a, b: a >= b),
    "lt": _numeric(lambda a, b: a < b),
    "lte": _numeric(lambda a, b: a <= b),
    "version_gt": _version(lambda order: order > 0),
    "version_gte": _version(lambda order: order >= 0),
    "version_lt": _version(lambda order: order < 0),
    "version_lte": _version(lambda order: order <= 0),
    "version_eq": _version(lambda order: order == 0),
    "version_neq": _version(lambda order: order != 0),
    "before": _time(lambda a, b: a < b),
    "after": _time(lambda a, b: a > b),
    "on": _time(_same_day),
    "eq": lambda value, target, _: values_equal(value, target),
    "neq": lambda value, target, _: not values_equal(value, target),
    "in_segment_list": _in_segment_list,
    "not_in_segment_list": lambda value, target, lists: not _in_segment_list(value, target, lists),
    "array_contains_any": _array_operator(lambda have, want: any(w in have for w in want)),
    "array_contains_none": _array_operator(lambda have, want: not any(w in have for w in want)),
    "array_contains_all": _array_operator(lambda have, want: all(w in have for w in want)),
    "not_array_contains_all": _array_operator(lambda have, want: not all(w in have for w in want)),
}


# Compiled operators: the target is read once, when the spec is loaded, and the returned test
# only takes the user's value. Each compiled form answers exactly as its entry in OPERATORS.
Test = Callable[[object, IdLists], bool]
OperatorCompiler = Callable[[object], Test]


def _lowered_text(value: object) -> str:
    return (as_string(value) or "").lower()


def _target_forms(target: object) -> tuple[tuple[str, ...], tuple[str, ...]]:
    strings = tuple(_target_strings(target))
    return strings, tuple(s.lower() for s in strings)


def _compile_membership(*, ignore_case: bool, negate: bool) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        strings, lowered = _target_forms(target)
        members = frozenset(lowered if ignore_case else strings)
        if ignore_case:
            return lambda value, _: (_lowered_text(value) in members) != negate
        return lambda value, _: ((as_string(value) or "") in members) != negate

    return compile_


def _compile_affix(method: Callable[[str, tuple[str, ...]], bool]) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        affixes = _target_forms(target)[1]
        return lambda value, _: method(_lowered_text(value), affixes)

    return compile_


def _compile_contains(*, negate: bool) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        parts = _target_forms(target)[1]

        def apply(value: object, _: IdLists) -> bool:
            text = _lowered_text(value)
            return any(part in text for part in parts) != negate

        return apply

    return compile_


def _compile_numeric(test: Callable[[float, float], bool]) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        right = as_number(target)
        if right is None:
            return lambda value, _: False

        def apply(value: object, _: IdLists) -> bool:
            left = as_number(value)
            return left is not None and test(left, right)

        return apply

    return compile_


@lru_cache(maxsize=4096)
def _version_of_text(text: str) -> tuple[int, ...] | None:
    parts = version_parts(text)
    return tuple(parts) if parts is not None else None


def _compile_version(test: Callable[[int], bool]) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        right = version_parts(target)
        if right is None:
            return lambda value, _: False
        right_parts = tuple(right)

        def apply(value: object, _: IdLists) -> bool:
            text = as_string(value)
            left = _version_of_text(text) if text is not None else None
            if left is None:
                return False
            # Missing parts are 0, as in compare_versions.
            width = max(len(left), len(right_parts))
            a = left + (0,) * (width - len(left))
            b = right_parts + (0,) * (width - len(right_parts))
            return test((a > b) - (a < b))

        return apply

    return compile_


def _compile_time(test: Callable[[int, int], bool]) -> OperatorCompiler:
    def compile_(target: object) -> Test:
        right = as_timestamp_ms(target)
        if right is None:
            return lambda value, _: False

        def apply(value: object, _: IdLists) -> bool:
            left = as_timestamp_ms(value)
            return left is not None and test(left, right)

        return apply

    return compile_


def _compile_str_matches(target: object) -> Test:
    pattern = as_string(target)
    compiled = _compiled(pattern) if pattern is not None else None
    if compiled is None:
        return lambda value, _: False

    def apply(value: object, _: IdLists) -> bool:
        text = as_string(value)
        return text is not None and compiled.search(text) is not None

    return apply


_OPERATOR_COMPILERS: Final[dict[str, OperatorCompiler]] = {
    "any": _compile_membership(ignore_case=True, negate=False),
    "none": _compile_membership(ignore_case=True, negate=True),
    "any_case_sensitive": _compile_membership(ignore_case=False, negate=False),
    "none_case_sensitive": _compile_membership(ignore_case=False, negate=True),
    "str_starts_with_any": _compile_affix(str.startswith),
    "str_ends_with_any": _compile_affix(str.endswith),
    "str_contains_any": _compile_contains(negate=False),
    "str_contains_none": _compile_contains(negate=True),
    "str_matches": _compile_str_matches,
    "gt": _compile_numeric(lambda a, b: a > b),
    "gte": _compile_numeric(lambda a, b: a >= b),
    "lt": _compile_numeric(lambda a, b: a < b),
    "lte": _compile_numeric(lambda a, b: a <= b),
    "version_gt": _compile_version(lambda order: order > 0),
    "version_gte": _compile_version(lambda order: order >= 0),
    "version_lt": _compile_version(lambda order: order < 0),
    "version_lte": _compile_version(lambda order: order <= 0),
    "version_eq": _compile_version(lambda order: order == 0),
    "version_neq": _compile_version(lambda order: order != 0),
    "before": _compile_time(lambda a, b: a < b),
    "after": _compile_time(lambda a, b: a > b),
    "on": _compile_time(_same_day),
}


# Operators whose answer depends only on the user value's string view (``as_string(value) or
# ""``), lower-cased or as is: a request reads that text once per condition source and field
# (``conditions.py``). Each entry gives whether the text is lower-cased, a test of the text
# and whether the test's answer is negated; together they answer as the entry above does.
TextTest = Callable[[str], bool]
TextOperator = tuple[bool, TextTest, bool]


def _text_membership(*, ignore_case: bool, negate: bool) -> Callable[[object], TextOperator]:
    def compile_(target: object) -> TextOperator:
        strings, lowered = _target_forms(target)
        members = frozenset(lowered if ignore_case else strings)
        return ignore_case, members.__contains__, negate

    return compile_


def _text_affix(method: Callable[[str, tuple[str, ...]], bool]) -> Callable[[object], TextOperator]:
    def compile_(target: object) -> TextOperator:
        affixes = _target_forms(target)[1]
        return True, lambda text: method(text, affixes), False

    return compile_


def _text_contains(*, negate: bool) -> Callable[[object], TextOperator]:
    def compile_(target: object) -> TextOperator:
        parts = _target_forms(target)[1]
        return True, lambda text: any(part in text for part in parts), negate

    return compile_


_TEXT_OPERATORS: Final[dict[str, Callable[[object], TextOperator]]] = {
    "any": _text_membership(ignore_case=True, negate=False),
    "none": _text_membership(ignore_case=True, negate=True),
    "any_case_sensitive": _text_membership(ignore_case=False, negate=False),
    "none_case_sensitive": _text_membership(ignore_case=False, negate=True),
    "str_starts_with_any": _text_affix(str.startswith),
    "str_ends_with_any": _text_affix(str.endswith),
    "str_contains_any": _text_contains(negate=False),
    "str_contains_none": _text_contains(negate=True),
}


def compile_text_operator(name: str | None, target: object) -> TextOperator | None:
    """The operator ``name`` bound to ``target`` as a test of the value's string view, when it
    reads nothing else: ``(lower-cased?, test, negated?)``; ``None`` for other operators."""
    compiler = _TEXT_OPERATORS.get(name) if name is not None else None
    return compiler(target) if compiler is not None else None


def text_of(value: object, lower: bool) -> str:
    """The text a ``compile_text_operator`` test reads for the user value ``value``."""
    text = as_string(value) or ""
    return text.lower() if lower else text


def compile_operator(name: str | None, target: object) -> Test | None:
    """The operator ``name`` bound to ``target``; ``None`` when the operator is unknown."""
    if name is None:
        return None
    compiler = _OPERATOR_COMPILERS.get(name)
    if compiler is not None:
        return compiler(target)
    operator = OPERATORS.get(name)
    if operator is None:
        return None
    return lambda value, id_lists: operator(value, target, id_lists)
