"""The entity kinds compiled outside ``compiler.py``, in the order they are compiled.

Holdouts come first because experiments, layers and gates reference them; experiments before
layers because a layer's allocation rules delegate to its experiments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from lockgate.cores.compiler import autotunes, experiments, holdouts, layers
from lockgate.documents.specs import SpecRule

if TYPE_CHECKING:
    from lockgate.cores.compiler.compiler import Compiler, Section

HoldoutHook = Callable[["Compiler", str, str, str], list[SpecRule]]

SECTIONS: list[Section] = [
    holdouts.compile_section,
    experiments.compile_section,
    layers.compile_section,
    autotunes.compile_section,
]
HOLDOUT_HOOKS: list[HoldoutHook] = [holdouts.reference_rules]
