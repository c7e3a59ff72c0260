"""Where an entity document names an environment or a unit id type.

Both are project vocabularies (docs/console.md §Environments, §Unit ID types): every document
write checks that the names it introduces exist, removing an environment or a type that a
document names is refused, and renaming an environment rewrites the documents.

The walk follows the document's structure (rules, conditions, overrides) and never enters the
values a user stores (``defaultValue``, ``returnValue``, group parameters...), where an
``idType`` key is data, not a reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy.orm import Session

from lockgate.domains.entities import repository
from lockgate.errors import InvalidInput
from lockgate.storage.models.core import BUILT_IN_ID_TYPES as BUILT_IN_ID_TYPES

_BUILT_IN_LOWER = frozenset(t.lower() for t in BUILT_IN_ID_TYPES)

# Keys whose value is a unit id type name, and the one whose value is a list of them.
ID_TYPE_KEYS = frozenset({"idType", "secondaryIDType", "customID", "unitID", "unitType"})
ID_TYPE_LIST_KEYS = frozenset({"unitTypes"})
# ``rules[].environments`` and ``...Overrides[].environment``.
ENVIRONMENT_LIST_KEYS = frozenset({"environments"})
ENVIRONMENT_KEYS = frozenset({"environment"})
# User data: stored as given, never read as references.
VALUE_KEYS = frozenset(
    {
        "defaultValue",
        "defaultValueJson5",
        "returnValue",
        "returnValueJson5",
        "parameterValues",
        "parameterValuesJson5",
        "parameters",
        "schema",
        "schemaJson5",
        "values",
        "value",
        "targetValue",
        "description",
    }
)


def _walk(node: Any) -> Iterator[tuple[Mapping[str, Any], str, Any]]:
    """Every (mapping, key, value) of the document's structure."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in VALUE_KEYS:
                continue
            yield node, key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _names(node: Any, single: frozenset[str], many: frozenset[str]) -> set[str]:
    found: set[str] = set()
    for _, key, value in _walk(node):
        if key in single and isinstance(value, str) and value:
            found.add(value)
        elif key in many and isinstance(value, list):
            found.update(v for v in value if isinstance(v, str) and v)
    return found


def id_types_in(document: Any) -> set[str]:
    """The unit id type names ``document`` uses, as written."""
    return _names(document, ID_TYPE_KEYS, ID_TYPE_LIST_KEYS)


def environments_in(document: Any) -> set[str]:
    """The environment names ``document`` uses, as written."""
    return _names(document, ENVIRONMENT_KEYS, ENVIRONMENT_LIST_KEYS)


def rename_environments(document: Any, rename: Callable[[str], str | None]) -> bool:
    """Rewrite environment names in place; ``rename`` returns the new name or None to keep.

    Returns whether anything changed.
    """
    changed = False
    for node, key, value in list(_walk(document)):
        target: Any = node
        if key in ENVIRONMENT_KEYS and isinstance(value, str):
            new = rename(value)
            if new is not None and new != value:
                target[key] = new
                changed = True
        elif key in ENVIRONMENT_LIST_KEYS and isinstance(value, list):
            renamed = [rename(v) or v if isinstance(v, str) else v for v in value]
            if renamed != value:
                target[key] = list(dict.fromkeys(renamed))
                changed = True
    return changed


def is_built_in_id_type(name: str) -> bool:
    return name.lower() in _BUILT_IN_LOWER


def check_id_types(session: Session, project_id: str, names: Iterable[str], where: str) -> None:
    """Refuse a name that is neither built in nor a defined custom type of the project."""
    unknown = sorted(n for n in names if not is_built_in_id_type(n))
    if not unknown:
        return
    defined = {n.lower() for n in repository.unit_id_type_names(session, project_id)}
    missing = [n for n in unknown if n.lower() not in defined]
    if missing:
        raise InvalidInput.field(
            where,
            f"unknown unit id type {missing[0]!r}: use userID, stableID or a type created "
            "with POST /console/v1/unit_id_types",
        )


def _environment_names(document: Any) -> Iterator[tuple[str, str]]:
    """(where, name) of every environment name ``document`` writes, ``where`` being its path
    (``rules[0].environments[1]``, ``userIDOverrides[2].environment``)."""

    def walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if key in VALUE_KEYS:
                    continue
                where = f"{path}.{key}" if path else str(key)
                if key in ENVIRONMENT_KEYS and isinstance(value, str):
                    yield where, value
                elif key in ENVIRONMENT_LIST_KEYS and isinstance(value, list):
                    for i, name in enumerate(value):
                        if isinstance(name, str):
                            yield f"{where}[{i}]", name
                else:
                    yield from walk(value, where)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                yield from walk(item, f"{path}[{i}]")

    return walk(document, "")


def canonical_environments(
    session: Session, project_id: str, before: Any, after: Any
) -> dict[str, str]:
    """Check every environment name ``after`` writes that ``before`` did not already have: a
    blank or unknown one is a 400 naming where it is written. Returns the names written in
    another case than the project's (``{written: project's spelling}``), for the caller to
    rewrite: the compiler and scoped keys compare names exactly."""
    kept = {name for _, name in _environment_names(before)} if before else set()
    known: list[str] | None = None
    spelled: dict[str, str] = {}
    renames: dict[str, str] = {}
    for where, name in _environment_names(after):
        if name in kept or name in renames:
            continue
        if not name.strip():
            raise InvalidInput.field(where, "an environment name must not be blank")
        if known is None:
            known = repository.environment_names(session, project_id)
            spelled = {n.lower(): n for n in known}
        project_name = spelled.get(name.lower())
        if project_name is None:
            raise InvalidInput.field(
                where, f"unknown environment {name!r} (the project has: {', '.join(known)})"
            )
        if project_name != name:
            renames[name] = project_name
    return renames
