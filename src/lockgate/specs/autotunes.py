"""Compiling autotunes into the canonical spec (being built)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lockgate.specs.compiler import Compiler


def compile_section(
    compiler: Compiler,
    gates: dict[str, Any],
    configs: dict[str, Any],
    layers: dict[str, Any],
    experiment_to_layer: dict[str, str],
) -> None:
    """Add this kind's specs to the payload maps."""
