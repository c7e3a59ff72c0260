"""The incremental compile: the document assembled from per-entity fragments
(`docs/compiling.md` §Incremental compile).

A fragment is one entity's spec and the conditions it added to ``condition_map``, in the order
it added them. ``FragmentCompiler`` keeps the fragments of one project for one environments
scope and, given a new snapshot, compiles again only the entities whose stored document is a
new object: the loader hands over the same object for as long as the row's version is
unchanged, so identity is the version check. What a fragment also reads decides when it is
compiled again: a gate's holdout references read every holdout, a segment its id list. Holdouts,
experiments, layers and autotunes read each other, so they form one fragment, compiled again
when any of them changes.

The document is assembled in the order ``compile_v2`` builds it, and ``condition_map`` keeps
the first occurrence of each id in that order, so the result equals a full compile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from operator import is_not
from typing import Any

from lockgate.cores.compiler.compiler import DocumentCompiler, envelope
from lockgate.cores.compiler.conditions import SEGMENT_PREFIX, ConditionMap
from lockgate.cores.compiler.sections import SECTIONS
from lockgate.cores.compiler.snapshot import IdListInfo, KeyScope, ProjectSnapshot
from lockgate.documents.specs import ConfigSpec, ConfigSpecsV2, SpecCondition

Conditions = tuple[tuple[str, SpecCondition], ...]


@dataclass(frozen=True)
class _Fragment:
    source: Mapping[str, Any]  # the stored document compiled
    spec: ConfigSpec
    conditions: Conditions


@dataclass(frozen=True)
class _Sections:
    """Holdouts, experiments, layers and autotunes, compiled together."""

    sources: tuple[Mapping[str, Any], ...]
    gates: tuple[tuple[str, ConfigSpec], ...]
    configs: tuple[tuple[str, ConfigSpec], ...]
    layers: tuple[tuple[str, ConfigSpec], ...]
    experiment_to_layer: tuple[tuple[str, str], ...]
    conditions: Conditions


def _same(left: Sequence[object], right: Sequence[object]) -> bool:
    return len(left) == len(right) and all(a is b for a, b in zip(left, right, strict=True))


@dataclass
class CompileCounts:
    """How many fragments the last ``document`` call compiled (the rest were reused)."""

    gates: int = 0
    segments: int = 0
    configs: int = 0
    sections: int = 0


@dataclass(frozen=True)
class _Assembled:
    """The last assembled document's spec maps and condition map, and what they were
    assembled from."""

    gates: dict[str, ConfigSpec]
    configs: dict[str, ConfigSpec]
    condition_map: dict[str, SpecCondition]
    segments: Mapping[str, tuple[IdListInfo | None, _Fragment]]
    sections: _Sections


def _condition_ids(fragment: _Fragment) -> tuple[str, ...]:
    return tuple(cid for cid, _ in fragment.conditions)


class FragmentCompiler:
    """The fragments of one project for one key's environments."""

    def __init__(self, environments: tuple[str, ...] | None = None) -> None:
        self.scope = KeyScope(environments=environments)
        self._gates: dict[str, _Fragment] = {}
        self._gate_sources: Sequence[Any] | None = None
        self._segments: dict[str, tuple[IdListInfo | None, _Fragment]] = {}
        self._configs: dict[str, _Fragment] = {}
        self._config_sources: Sequence[Any] | None = None
        self._holdouts: tuple[Mapping[str, Any], ...] = ()
        self._sections: _Sections | None = None
        self._assembled: _Assembled | None = None
        self.counts = CompileCounts()

    @staticmethod
    def _update(
        documents: Sequence[Any],
        last_documents: Sequence[Any] | None,
        last: dict[str, _Fragment],
        valid: bool,
        compiled: Callable[[Any], _Fragment],
    ) -> tuple[dict[str, _Fragment], list[str] | None]:
        """One kind's fragments, and the ids compiled again when every other entity kept its
        place (None when the kind was walked whole: entities added, removed or moved)."""
        if valid and last_documents is not None and len(documents) == len(last_documents):
            moved = list(compress(range(len(documents)), map(is_not, documents, last_documents)))
            if all(documents[i]["id"] == last_documents[i]["id"] for i in moved):
                fragments = last.copy()
                for i in moved:
                    fragments[documents[i]["id"]] = compiled(documents[i])
                return fragments, [documents[i]["id"] for i in moved]
        fragments = {}
        for document in documents:
            fragment = last.get(document["id"])
            if not valid or fragment is None or fragment.source is not document:
                fragment = compiled(document)
            fragments[document["id"]] = fragment
        return fragments, None

    def document(self, snapshot: ProjectSnapshot) -> ConfigSpecsV2:
        """What ``compile_v2(snapshot, scope)`` returns, compiling only what changed."""
        counts = self.counts = CompileCounts()
        compiler = DocumentCompiler(snapshot, self.scope)

        def compiled(build: Callable[[Any], ConfigSpec]) -> Callable[[Any], _Fragment]:
            def fragment(source: Any) -> _Fragment:
                compiler.conditions = ConditionMap()
                spec = build(source)
                return _Fragment(source, spec, tuple(compiler.conditions.entries.items()))

            return fragment

        def gate_fragment(source: Any) -> _Fragment:
            counts.gates += 1
            return compiled(compiler.gate_spec)(source)

        def config_fragment(source: Any) -> _Fragment:
            counts.configs += 1
            return compiled(compiler.config_spec)(source)

        holdouts = tuple(snapshot.holdouts)
        holdouts_same = _same(holdouts, self._holdouts)
        self._holdouts = holdouts
        gates, gates_moved = self._update(
            snapshot.gates, self._gate_sources, self._gates, holdouts_same, gate_fragment
        )
        last_gates, self._gates, self._gate_sources = self._gates, gates, snapshot.gates

        segments: dict[str, tuple[IdListInfo | None, _Fragment]] = {}
        segments_same = len(snapshot.segments) == len(self._segments)
        for segment in snapshot.segments:
            info = snapshot.id_lists.get(segment["id"])
            found = self._segments.get(segment["id"])
            if found is None or found[1].source is not segment or found[0] != info:
                found = (info, compiled(compiler.segment_spec)(segment))
                counts.segments += 1
                segments_same = False
            segments[segment["id"]] = found
        if segments_same and list(segments) == list(self._segments):
            segments = self._segments
        self._segments = segments

        configs, configs_moved = self._update(
            snapshot.configs, self._config_sources, self._configs, True, config_fragment
        )
        last_configs, self._configs, self._config_sources = self._configs, configs, snapshot.configs

        sources = (*holdouts, *snapshot.experiments, *snapshot.layers, *snapshot.autotunes)
        sections = self._sections
        if sections is None or not _same(sources, sections.sources):
            sections = self._sections = self._compile_sections(compiler, sources)
            counts.sections += 1
        assembled = self._assembled
        if (
            assembled is not None
            and gates_moved is not None
            and configs_moved is not None
            and assembled.segments is segments
            and assembled.sections is sections
            and all(_condition_ids(gates[g]) == _condition_ids(last_gates[g]) for g in gates_moved)
            and all(
                _condition_ids(configs[c]) == _condition_ids(last_configs[c]) for c in configs_moved
            )
        ):
            # Entities changed in place without touching their conditions: the same maps, with
            # their specs replaced, and the same condition map.
            gate_specs = assembled.gates.copy()
            gate_specs.update((g, gates[g].spec) for g in gates_moved)
            config_specs = assembled.configs.copy()
            config_specs.update((c, configs[c].spec) for c in configs_moved)
            assembled = _Assembled(
                gate_specs, config_specs, assembled.condition_map, segments, sections
            )
        else:
            assembled = self._assemble(gates, segments, configs, sections)
        self._assembled = assembled
        return envelope(
            snapshot,
            self.scope,
            assembled.gates.copy(),
            assembled.configs.copy(),
            dict(sections.layers),
            dict(sections.experiment_to_layer),
            assembled.condition_map,
        )

    @staticmethod
    def _compile_sections(
        compiler: DocumentCompiler, sources: tuple[Mapping[str, Any], ...]
    ) -> _Sections:
        compiler.conditions = ConditionMap()
        gates: dict[str, ConfigSpec] = {}
        configs: dict[str, ConfigSpec] = {}
        layers: dict[str, ConfigSpec] = {}
        experiment_to_layer: dict[str, str] = {}
        for section in SECTIONS:
            section(compiler, gates, configs, layers, experiment_to_layer)
        return _Sections(
            sources=sources,
            gates=tuple(gates.items()),
            configs=tuple(configs.items()),
            layers=tuple(layers.items()),
            experiment_to_layer=tuple(experiment_to_layer.items()),
            conditions=tuple(compiler.conditions.entries.items()),
        )

    @staticmethod
    def _assemble(
        gates: Mapping[str, _Fragment],
        segments: Mapping[str, tuple[IdListInfo | None, _Fragment]],
        configs: Mapping[str, _Fragment],
        sections: _Sections,
    ) -> _Assembled:
        # The order of DocumentCompiler.document: gates, segments, configs, then the sections.
        condition_map: dict[str, SpecCondition] = {}
        gate_specs: dict[str, ConfigSpec] = {}
        for name, fragment in gates.items():
            gate_specs[name] = fragment.spec
            for cid, condition in fragment.conditions:
                condition_map.setdefault(cid, condition)
        for name, (_, fragment) in segments.items():
            gate_specs[f"{SEGMENT_PREFIX}{name}"] = fragment.spec
            for cid, condition in fragment.conditions:
                condition_map.setdefault(cid, condition)
        config_specs: dict[str, ConfigSpec] = {}
        for name, fragment in configs.items():
            config_specs[name] = fragment.spec
            for cid, condition in fragment.conditions:
                condition_map.setdefault(cid, condition)
        gate_specs.update(sections.gates)
        config_specs.update(sections.configs)
        for cid, condition in sections.conditions:
            condition_map.setdefault(cid, condition)
        return _Assembled(gate_specs, config_specs, condition_map, segments, sections)
