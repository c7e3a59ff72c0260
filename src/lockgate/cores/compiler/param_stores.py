"""Parameter stores into the payload's ``param_stores`` (docs/compiling.md §Parameter stores).

A store compiles to ``{"parameters": {name: parameter}, "targetAppIDs": [...], "version": n}``
keyed by the store's name; each parameter is the stored Console object unchanged, entity names
plain. Which stores, and which specs they read, a key with target apps receives is decided
where the document is narrowed to the key's apps (docs/compiling.md §Target apps).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lockgate.cores.compiler.snapshot import KeyScope


def visible(store: Mapping[str, Any], scope: KeyScope) -> bool:
    """A compile for one target app keeps the stores tagged with it, as ``Compiler.visible``
    does for the other kinds."""
    return scope.target_app is None or scope.target_app in (store.get("targetAppIDs") or [])


def store_entry(store: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "parameters": {p["name"]: dict(p) for p in store.get("parameters") or []},
        "targetAppIDs": list(store.get("targetAppIDs") or []),
        "version": store.get("version", 1),
    }


def compile_stores(stores: Iterable[Mapping[str, Any]], scope: KeyScope) -> dict[str, Any]:
    """The ``param_stores`` map of a payload compiled for ``scope``."""
    return {store["name"]: store_entry(store) for store in stores if visible(store, scope)}
