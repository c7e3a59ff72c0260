"""Thompson-sampling traffic allocation for autotune: a Beta posterior on each variant's success
rate, and each variant's weight is the share of posterior draws in which it is best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_DRAWS = 10_000


@dataclass(frozen=True, slots=True)
class VariantOutcomes:
    """Units exposed to a variant and how many of them succeeded."""

    trials: int
    successes: int

    def __post_init__(self) -> None:
        if not 0 <= self.successes <= self.trials:
            raise ValueError("successes must lie between 0 and trials")


@dataclass(frozen=True, slots=True)
class BetaPrior:
    alpha: float = 1.0
    beta: float = 1.0


def thompson_weights(
    variants: Sequence[VariantOutcomes],
    rng: np.random.Generator,
    *,
    draws: int = DEFAULT_DRAWS,
    prior: BetaPrior = BetaPrior(),
    exploration_floor: float = 0.0,
) -> tuple[float, ...]:
    """Traffic weights summing to 1, in the order of `variants`.

    The same Generator state gives the same weights. `exploration_floor` keeps every variant at
    least that share of traffic, so a variant that fell behind early can still recover.
    """
    k = len(variants)
    if k == 0:
        return ()
    if not 0 <= exploration_floor * k <= 1:
        raise ValueError("exploration_floor times the number of variants must lie in [0, 1]")
    a = np.array([prior.alpha + v.successes for v in variants], dtype=np.float64)
    b = np.array([prior.beta + v.trials - v.successes for v in variants], dtype=np.float64)
    samples = rng.beta(a, b, size=(draws, k))
    wins = np.bincount(np.argmax(samples, axis=1), minlength=k) / draws
    weights = exploration_floor + (1 - exploration_floor * k) * wins
    return tuple(float(w) for w in weights)
