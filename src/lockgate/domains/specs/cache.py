"""Renderings of a project's spec, cached per key scope and invalidated by the spec revision.

The SDK hot path asks the database one question, the project's spec revision, and asks it at
most once per ``ttl_ms`` per project (and at once after this process commits a change SDKs see);
when it matches the cached rendering, the answer is bytes already encoded and compressed. Several
processes each keep their own cache; the revision in the shared database keeps them honest, each
one noticing another's change within ``ttl_ms``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import brotli
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from lockgate.cores.compiler import proto
from lockgate.cores.compiler.fragments import CompileCounts, FragmentCompiler
from lockgate.cores.evaluation.evaluator import Evaluator
from lockgate.cores.evaluation.hashing import id_list_hash
from lockgate.documents.specs import ConfigSpecsV2
from lockgate.domains.keys import repository as keys_repository
from lockgate.domains.specs import repository as loader
from lockgate.domains.specs.deltas import AnswerHistory
from lockgate.domains.specs.render import (
    PROTO_HISTORY,
    Body,
    Encoder,
    Entries,
    encode,
    pack_entries,
    unpack_entries,
)
from lockgate.domains.specs.scoping import scope_to_apps
from lockgate.kit.bytecache import ByteCache
from lockgate.kit.db import Database
from lockgate.kit.freshness import FreshMap
from lockgate.kit.memory import Warmup, settle_long_lived
from lockgate.storage.models import SegmentMember

logger = logging.getLogger(__name__)

# From this many specs on, a new evaluator is worth one full collection to settle it.
SETTLE_AT_SPECS = 500


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

    @property
    def digest(self) -> str:
        """The scope's name in the shared store of protobuf documents, the same in every
        process."""
        text = json.dumps([self.environments, list(self.target_apps)])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ProtoStore:
    """The protobuf documents of one project's key scope that any process streamed, kept in
    the database (``proto_documents``) so that every process can answer a poll naming one of
    them with a delta (docs/sdk.md §Protobuf specs)."""

    database: Database
    project_id: str
    scope: str  # PayloadScope.digest

    def find(self, document_checksum: str) -> Entries | None:
        with self.database.transaction(write=False) as session:
            packed = loader.proto_document(session, self.project_id, self.scope, document_checksum)
        if packed is None:
            return None
        try:
            return unpack_entries(packed)
        except ValueError:
            logger.warning("unreadable protobuf document %s kept", document_checksum)
            return None

    def keep(self, document_checksum: str, revision: int, spec_time: int, entries: Entries) -> None:
        packed = pack_entries(entries)
        with self.database.transaction() as session:
            loader.save_proto_document(
                session,
                self.project_id,
                self.scope,
                document_checksum,
                revision=revision,
                spec_time=spec_time,
                entries=packed,
                keep=PROTO_HISTORY,
            )


class Past:
    """A rendering that a newer revision replaced, kept for initialize deltas: its document
    and, once built (or reused from the rendering), its evaluator; none of its encodings."""

    __slots__ = ("_evaluator", "_load_id_lists", "_lock", "revision", "time_ms", "v2")

    def __init__(self, rendered: Rendered) -> None:
        self.revision = rendered.revision
        self.time_ms = rendered.time_ms
        self.v2 = rendered.v2
        self._load_id_lists = rendered.load_id_lists
        self._evaluator: Evaluator | None = rendered.evaluator if rendered.evaluator_ready else None
        self._lock = threading.Lock()

    @property
    def evaluator(self) -> Evaluator:
        """The revision's evaluator; built here when its rendering never built one (with the
        id lists as they are now: an answer that differs for it is never taken for the held
        one, docs/sdk.md §Initialize deltas)."""
        if self._evaluator is None:
            with self._lock:
                if self._evaluator is None:
                    self._evaluator = Evaluator(self.v2, id_lists=self._load_id_lists())
        return self._evaluator


class PastRenderings:
    """The last ``count`` renderings of one key scope that newer revisions replaced in this
    worker, newest last, so that an initialize answer any worker gave from one of them can be
    evaluated again for a delta (docs/sdk.md §Initialize deltas)."""

    def __init__(self, count: int) -> None:
        self._kept: deque[Past] = deque(maxlen=count)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def add(self, rendered: Rendered) -> None:
        with self._lock:
            if all(past.revision != rendered.revision for past in self._kept):
                self._kept.append(Past(rendered))

    def at(self, time_ms: int) -> list[Past]:
        """The kept renderings whose spec time is ``time_ms`` (what an answer's ``time`` says),
        newest first."""
        with self._lock:  # a deque may not grow while it is read
            return [past for past in reversed(self._kept) if past.time_ms == time_ms]


@dataclass
class Rendered:
    """One compiled spec and every encoding of it. Encodings are built on first use."""

    project_id: str
    revision: int
    time_ms: int
    v2: ConfigSpecsV2
    load_id_lists: Callable[[], dict[str, frozenset[str]]]
    encoder: Encoder = field(default_factory=Encoder)
    # Encoded /v1/initialize answers of this rendering, by request fingerprint (None: kept
    # nowhere); they go with the rendering when a new revision replaces it.
    responses: ByteCache | None = None
    # The answers this key scope gave in this worker, by full_checksum, kept across revisions
    # for initialize deltas (None: no deltas).
    answers: AnswerHistory | None = None
    # The renderings this one replaced in this worker, for initialize deltas from answers
    # another worker gave (None: none kept).
    past: PastRenderings | None = None
    # Where the protobuf documents streamed are kept for every process (None: in this
    # process's memory alone).
    proto_store: ProtoStore | None = None
    # The worker's warm-up, armed when the evaluator is built (None: no settle later).
    warmup: Warmup | None = None
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
        return str(self._once("checksum", lambda: self.encoder.checksum(self._body(2))))

    def _body(self, version: int) -> Body:
        body: Body = self._once(f"body{version}", lambda: self.encoder.body(self.v2, version))
        return body

    def _bytes(self, version: int, gzipped: bool) -> bytes:
        body = self._body(version)
        tail = b',"checksum":' + encode(self.checksum) + b"}"
        if gzipped:
            return bytes(self._once(f"v{version}.gz", lambda: self.encoder.gzip(body, tail)))
        plain: bytes = self._once(f"v{version}", lambda: b"".join([*body.units, tail]))
        return plain

    def v2_bytes(self, *, gzipped: bool = False) -> bytes:
        return self._bytes(2, gzipped)

    def encoded(self, version: int, *, gzipped: bool) -> bytes | None:
        """The encoding if already built (None: build it with ``v2_bytes``/``v1_bytes``)."""
        found = self._memo.get(f"v{version}.gz" if gzipped else f"v{version}")
        return found if isinstance(found, bytes) else None

    def v1_bytes(self, *, gzipped: bool = False) -> bytes:
        return self._bytes(1, gzipped)

    def proto_bytes(self, since_checksum: str | None, *, deltas: bool) -> bytes | None:
        """The protobuf spec stream, brotli-compressed, for an SDK holding the document
        ``since_checksum`` (docs/sdk.md §Protobuf specs); None when the document cannot be
        written in protobuf, so the SDK gets JSON."""
        held = self._proto_held(since_checksum)
        name = f"proto:{since_checksum if held is not None else ''}:{deltas and held is not None}"

        def build() -> bytes | None:
            try:
                stream = self.encoder.proto.stream(
                    self.v2, self.checksum, held, copy_previous=deltas
                )
            except proto.Unencodable:
                return None
            # Kept for every process before any SDK can name it in a poll.
            self._once("proto:kept", self._keep_proto)
            return bytes(brotli.compress(stream, quality=5))

        found: bytes | None = self._once(name, build)
        return found

    def _proto_held(self, since_checksum: str | None) -> Entries | None:
        """What the SDK holds: a document this process streamed, else one the shared store
        keeps; None (it gets everything) when neither knows it or the store cannot be read."""
        store = self.proto_store
        try:
            return self.encoder.proto.held(since_checksum, store.find if store else None)
        except SQLAlchemyError:
            logger.warning("protobuf documents could not be read", exc_info=True)
            return None

    def _keep_proto(self) -> bool:
        entries = self.encoder.proto.held(self.checksum)
        if self.proto_store is None or entries is None:
            return False
        try:
            self.proto_store.keep(self.checksum, self.revision, self.time_ms, entries)
        except SQLAlchemyError:
            # The SDKs still get the stream; a poll naming it elsewhere gets everything.
            logger.warning("protobuf document %s could not be kept", self.checksum, exc_info=True)
            return False
        return True

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
        if self.warmup is not None:
            # What the first answers add to it for good (the renderings they share) is
            # settled once they have been given (docs/sdk.md §Speed of evaluation).
            self.warmup.arm()
        return evaluator


@dataclass
class _ProjectFragments:
    """What the incremental compile keeps of one project: its documents and, per key
    environments, its compiled fragments."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    documents: loader.KeptDocuments = field(default_factory=loader.KeptDocuments)
    compilers: dict[tuple[str, ...] | None, FragmentCompiler] = field(default_factory=dict)
    client_apps: dict[str, str] | None = None


class SpecCache:
    def __init__(
        self,
        database: Database,
        ttl_ms: int = 0,
        *,
        now: Callable[[], float] = time.monotonic,
        initialize_cache_bytes: int = 0,
        initialize_delta_bytes: int = 0,
        initialize_delta_revisions: int = 0,
        warmup: Warmup | None = None,
    ) -> None:
        self._database = database
        self._initialize_cache_bytes = initialize_cache_bytes
        self._initialize_delta_bytes = initialize_delta_bytes
        self._initialize_delta_revisions = initialize_delta_revisions
        self._answers: dict[tuple[str, PayloadScope], AnswerHistory] = {}
        self._past: dict[tuple[str, PayloadScope], PastRenderings] = {}
        self._warmup = warmup
        self._entries: dict[tuple[str, PayloadScope], Rendered] = {}
        self._locks: dict[tuple[str, PayloadScope], threading.Lock] = {}
        self._guard = threading.Lock()
        self._fragments: dict[str, _ProjectFragments] = {}
        self._encoders: dict[tuple[str, PayloadScope], Encoder] = {}
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
            if cached is not None and rendered.past is not None:
                rendered.past.add(cached)
            self._entries[key] = rendered
            return rendered

    def _project(self, project_id: str) -> _ProjectFragments:
        with self._guard:
            return self._fragments.setdefault(project_id, _ProjectFragments())

    def _compile(self, project_id: str, scope: PayloadScope) -> Rendered:
        """Compile the key's document from the fragments of the entities that did not change
        and new ones for those that did (docs/compiling.md §Incremental compile)."""
        project = self._project(project_id)
        with project.lock, self._database.transaction(write=False) as session:
            snapshot = loader.load_snapshot(session, project_id, project.documents)
            revision, time_ms = project.documents.revision, snapshot.time_ms
            assert revision is not None
            # Client keys' apps change only with a change that names no entity, after which
            # the load reads every key (docs/compiling.md §Incremental compile).
            if project.client_apps is None or project.documents.scanned:
                project.client_apps = keys_repository.client_key_apps(session, project_id)
            client_apps = dict(project.client_apps)
            compiler = project.compilers.get(scope.environments)
            if compiler is None:
                compiler = project.compilers[scope.environments] = FragmentCompiler(
                    scope.environments
                )
            # The compiler renders the key's environments; its apps narrow the result here, with
            # every dependency of the entities kept (docs/compiling.md §Target apps).
            v2 = compiler.document(snapshot)
        v2 = scope_to_apps(v2, scope.target_apps, scope.target_app)
        if client_apps:
            v2["hashed_sdk_keys_to_app_ids"] = client_apps
        with self._guard:
            encoder = self._encoders.setdefault((project_id, scope), Encoder())
            answers = past = None
            if self._initialize_delta_bytes:
                answers = self._answers.setdefault(
                    (project_id, scope), AnswerHistory(self._initialize_delta_bytes)
                )
                if self._initialize_delta_revisions:
                    past = self._past.setdefault(
                        (project_id, scope), PastRenderings(self._initialize_delta_revisions)
                    )
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

        responses = (
            ByteCache(self._initialize_cache_bytes) if self._initialize_cache_bytes else None
        )
        store = ProtoStore(self._database, project_id, scope.digest)
        return Rendered(
            project_id,
            revision,
            time_ms,
            v2,
            load_id_lists,
            encoder,
            responses,
            answers,
            past,
            store,
            self._warmup,
        )

    def compile_counts(
        self, project_id: str, environments: tuple[str, ...] | None = None
    ) -> CompileCounts:
        """What the last compile of ``project_id`` for ``environments`` compiled anew."""
        return self._project(project_id).compilers[environments].counts

    def clear(self) -> None:
        self._entries.clear()
        self._fragments.clear()
        self._encoders.clear()
        self._answers.clear()
        self._past.clear()
        self._revisions.clear()
