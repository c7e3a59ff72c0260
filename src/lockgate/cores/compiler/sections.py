"""The entity kinds compiled outside ``compiler.py``, in the order they are compiled.

Holdouts come first because experiments, layers and gates reference them; experiments before
layers because a layer's allocation rules delegate to its experiments.
"""

from __future__ import annotations

from lockgate.cores.compiler import autotunes, experiments, holdouts, layers
from lockgate.cores.compiler.base import Section

SECTIONS: list[Section] = [
    holdouts.compile_section,
    experiments.compile_section,
    layers.compile_section,
    autotunes.compile_section,
]
