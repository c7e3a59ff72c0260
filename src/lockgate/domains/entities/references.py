"""Where an entity document names an environment or a unit id type.

Both are project vocabularies (docs/console.md §Environments, §Unit ID types): every document
write checks that the names it introduces exist, removing an environment or a type that a
document names is refused, and renaming an environment rewrites the documents.

The walk follows the document's structure (rules, conditions, overrides) and never enters the
values a user stores (``defaultValue``, ``returnValue``, group parameters...), where an
``idType`` key is data, not a reference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

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
