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


class FragmentCompiler:
    """The fragments of one project for one key's environments."""

    def __init__(self, environments: tuple[str, ...] | None = None) -> None:
        self.scope = KeyScope(environments=environments)
        self._gates: dict[str, _Fragment] = {}
        self._segments: dict[str, tuple[IdListInfo | None, _Fragment]] = {}
        self._configs: dict[str, _Fragment] = {}
        self._holdouts: tuple[Mapping[str, Any], ...] = ()
        self._sections: _Sections | None = None
        self.counts = CompileCounts()

    def document(self, snapshot: ProjectSnapshot) -> ConfigSpecsV2:
        """What ``compile_v2(snapshot, scope)`` returns, compiling only what changed."""
        counts = self.counts = CompileCounts()
        compiler = DocumentCompiler(snapshot, self.scope)

        def compiled(source: Any, build: Callable[[Any], ConfigSpec]) -> _Fragment:
            compiler.conditions = ConditionMap()
            spec = build(source)
            return _Fragment(source, spec, tuple(compiler.conditions.entries.items()))

        holdouts = tuple(snapshot.holdouts)
        holdouts_same = _same(holdouts, self._holdouts)
        self._holdouts = holdouts
        gates: dict[str, _Fragment] = {}
        for gate in snapshot.gates:
            fragment = self._gates.get(gate["id"])
            if fragment is None or fragment.source is not gate or not holdouts_same:
                fragment = compiled(gate, compiler.gate_spec)
                counts.gates += 1
            gates[gate["id"]] = fragment
        self._gates = gates

        segments: dict[str, tuple[IdListInfo | None, _Fragment]] = {}
        for segment in snapshot.segments:
            info = snapshot.id_lists.get(segment["id"])
            found = self._segments.get(segment["id"])
            if found is None or found[1].source is not segment or found[0] != info:
                found = (info, compiled(segment, compiler.segment_spec))
                counts.segments += 1
            segments[segment["id"]] = found
        self._segments = segments

        configs: dict[str, _Fragment] = {}
        for config in snapshot.configs:
            fragment = self._configs.get(config["id"])
            if fragment is None or fragment.source is not config:
                fragment = compiled(config, compiler.config_spec)
                counts.configs += 1
            configs[config["id"]] = fragment
        self._configs = configs

        sources = (*holdouts, *snapshot.experiments, *snapshot.layers, *snapshot.autotunes)
        sections = self._sections
        if sections is None or not _same(sources, sections.sources):
            sections = self._sections = self._compile_sections(compiler, sources)
            counts.sections += 1
        return self._assemble(snapshot, gates, segments, configs, sections)

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

    def _assemble(
        self,
        snapshot: ProjectSnapshot,
        gates: Mapping[str, _Fragment],
        segments: Mapping[str, tuple[IdListInfo | None, _Fragment]],
        configs: Mapping[str, _Fragment],
        sections: _Sections,
    ) -> ConfigSpecsV2:
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
        return envelope(
            snapshot,
            self.scope,
            gate_specs,
            config_specs,
            dict(sections.layers),
            dict(sections.experiment_to_layer),
            condition_map,
        )
