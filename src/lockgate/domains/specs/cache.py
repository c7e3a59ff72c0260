"""Renderings of a project's spec, cached per key scope and invalidated by the spec revision.

The SDK hot path asks the database one question, the project's spec revision, and asks it at
most once per ``ttl_ms`` per project (and at once after this process commits a change SDKs see);
when it matches the cached rendering, the answer is bytes already encoded and compressed. Several
processes each keep their own cache; the revision in the shared database keeps them honest, each
one noticing another's change within ``ttl_ms``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lockgate.cores.compiler.compiler import compile_v2
from lockgate.cores.compiler.snapshot import KeyScope
from lockgate.cores.compiler.v1 import render_v1
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.hashing import id_list_hash
from lockgate.documents.specs import ConfigSpecsV2
from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.specs import repository as loader
from lockgate.domains.specs.scoping import scope_to_apps
from lockgate.kit.db import Database
from lockgate.kit.freshness import FreshMap
from lockgate.kit.memory import settle_long_lived
from lockgate.storage.models import SegmentMember

# From this many specs on, a new evaluator is worth one full collection to settle it.
SETTLE_AT_SPECS = 500


def _encode(document: Mapping[str, object]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class PayloadScope:
    """What the requesting SDK key may see: its environments and its target apps, primary
    first. A key without apps sees the whole project."""

    environments: tuple[str, ...] | None = None
    target_apps: tuple[str, ...] = ()

    @property
    def target_app(self) -> str | None:
        """The key's primary app: what ``target_app`` conditions compare against."""
        return self.target_apps[0] if self.target_apps else None


@dataclass
class Rendered:
    """One compiled spec and every encoding of it. Encodings are built on first use."""

    project_id: str
    revision: int
    time_ms: int
    v2: ConfigSpecsV2
    load_id_lists: Callable[[], dict[str, frozenset[str]]]
    _lock: threading.RLock = field(default_factory=threading.RLock)
    _memo: dict[str, Any] = field(default_factory=dict)

    def _once(self, name: str, build: Callable[[], Any]) -> Any:
        if name not in self._memo:
            with self._lock:
                if name not in self._memo:
                    self._memo[name] = build()
        return self._memo[name]

    @property
    def checksum(self) -> str:
        return str(self._once("checksum", self._checksum))

    def _checksum(self) -> str:
        body = dict(self.v2)
        body.pop("checksum", None)
        digest = hashlib.sha256(_encode(body)).digest()
        return str(int.from_bytes(digest[:8], "big"))

    def v2_bytes(self, *, gzipped: bool = False) -> bytes:
        plain: bytes = self._once("v2", lambda: _encode({**self.v2, "checksum": self.checksum}))
        if not gzipped:
            return plain
        return bytes(self._once("v2.gz", lambda: gzip.compress(plain, 5)))

    def encoded(self, version: int, *, gzipped: bool) -> bytes | None:
        """The encoding if already built (None: build it with ``v2_bytes``/``v1_bytes``)."""
        found = self._memo.get(f"v{version}.gz" if gzipped else f"v{version}")
        return found if isinstance(found, bytes) else None

    def v1_bytes(self, *, gzipped: bool = False) -> bytes:
        plain: bytes = self._once(
            "v1", lambda: _encode({**render_v1(self.v2), "checksum": self.checksum})
        )
        if not gzipped:
            return plain
        return bytes(self._once("v1.gz", lambda: gzip.compress(plain, 5)))

    @property
    def evaluator_ready(self) -> bool:
        return "evaluator" in self._memo

    @property
    def evaluator(self) -> Evaluator:
        evaluator: Evaluator = self._once("evaluator", self._evaluator)
        return evaluator

    def _evaluator(self) -> Evaluator:
        evaluator = Evaluator(self.v2, id_lists=self.load_id_lists())
        store = evaluator.store
        specs = len(store.feature_gates) + len(store.dynamic_configs) + len(store.layer_configs)
        if specs >= SETTLE_AT_SPECS:
            # The compiled project lives until the next revision: keep the collector from
            # re-scanning it during every initialize (docs/sdk.md §Speed of evaluation).
            settle_long_lived()
        return evaluator


class SpecCache:
    def __init__(
        self, database: Database, ttl_ms: int = 0, *, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._database = database
        self._entries: dict[tuple[str, PayloadScope], Rendered] = {}
        self._locks: dict[tuple[str, PayloadScope], threading.Lock] = {}
        self._guard = threading.Lock()
        self._revisions: FreshMap[str, int] = FreshMap(
            self._read_revision, ttl_ms / 1000, lambda: database.sdk_generation, now=now
        )

    def current_revision(self, session: Session, project_id: str) -> tuple[int, int]:
        found = loader.revision(session, project_id)
        if found is None:
            raise LookupError(project_id)
        return found

    def _read_revision(self, project_id: str) -> int:
        with self._database.transaction(write=False) as session:
            revision, _ = self.current_revision(session, project_id)
        return revision

    def cached(self, project_id: str, scope: PayloadScope = PayloadScope()) -> Rendered | None:
        """The rendering if its revision is known current, without touching the database."""
        revision = self._revisions.cached(project_id)
        cached = self._entries.get((project_id, scope))
        # A rendering compiled after the revision was read may be newer than it: never older.
        if isinstance(revision, int) and cached is not None and cached.revision >= revision:
            return cached
        return None

    def get(self, project_id: str, scope: PayloadScope = PayloadScope()) -> Rendered:
        revision = self._revisions.get(project_id)
        key = (project_id, scope)
        cached = self._entries.get(key)
        if cached is not None and cached.revision == revision:
            return cached
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            cached = self._entries.get(key)
            if cached is not None and cached.revision >= revision:
                return cached
            rendered = self._compile(project_id, scope)
            self._entries[key] = rendered
            return rendered

    def _compile(self, project_id: str, scope: PayloadScope) -> Rendered:
        with self._database.transaction(write=False) as session:
            revision, time_ms = self.current_revision(session, project_id)
            snapshot = loader.load_snapshot(session, project_id)
            client_apps = keys_repository.client_key_apps(session, project_id)
        # The compiler renders the key's environments; its apps narrow the result here, with
        # every dependency of the entities kept (docs/compiling.md §Target apps).
        v2 = compile_v2(snapshot, KeyScope(environments=scope.environments))
        v2 = scope_to_apps(v2, scope.target_apps, scope.target_app)
        if client_apps:
            v2["hashed_sdk_keys_to_app_ids"] = client_apps
        file_lists = [name for name, info in snapshot.id_lists.items() if info.inline_ids is None]

        def load_id_lists() -> dict[str, frozenset[str]]:
            lists: dict[str, frozenset[str]] = {}
            with self._database.transaction(write=False) as session:
                for name in file_lists:
                    ids = session.scalars(
                        select(SegmentMember.unit_id).where(
                            SegmentMember.project_id == project_id,
                            SegmentMember.segment_id == name,
                        )
                    )
                    lists[name] = frozenset(id_list_hash(i) for i in ids)
            return lists

        return Rendered(project_id, revision, time_ms, v2, load_id_lists)

    def clear(self) -> None:
        self._entries.clear()
        self._revisions.clear()
