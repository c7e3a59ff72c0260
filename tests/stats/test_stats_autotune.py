"""Thompson-sampling weights for autotune."""

from __future__ import annotations

import numpy as np
import pytest

from lockgate.cores.stats.autotune import VariantOutcomes, thompson_weights

pytestmark = pytest.mark.database_free

ARMS = [VariantOutcomes(100, 60), VariantOutcomes(100, 40), VariantOutcomes(100, 45)]


def test_thompson_weights__same_seed__same_weights() -> None:
    first = thompson_weights(ARMS, np.random.default_rng(7))
    second = thompson_weights(ARMS, np.random.default_rng(7))
    assert first == second
    assert sum(first) == pytest.approx(1.0)


def test_thompson_weights__clear_winner__gets_most_traffic() -> None:
    # Beta(61, 41) vs Beta(41, 61): means 0.598 vs 0.402, sd ~0.048 each: P(best) > 0.99
    weights = thompson_weights(ARMS, np.random.default_rng(1))
    assert weights[0] > 0.95


def test_thompson_weights__exploration_floor__every_variant_keeps_it() -> None:
    weights = thompson_weights(ARMS, np.random.default_rng(1), exploration_floor=0.1)
    assert min(weights) >= 0.1
    assert sum(weights) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("trials", "successes"), [(10, 11), (10, -1)], ids=["too_many", "negative"]
)
def test_variant_outcomes__impossible_counts__raise(trials: int, successes: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        VariantOutcomes(trials, successes)


def test_thompson_weights__floor_too_large__raises() -> None:
    with pytest.raises(ValueError, match="exploration_floor"):
        thompson_weights(ARMS, np.random.default_rng(1), exploration_floor=0.5)


def test_thompson_weights__no_variants__empty() -> None:
    assert thompson_weights([], np.random.default_rng(1)) == ()
