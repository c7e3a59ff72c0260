"""Sample-ratio-mismatch check (docs/statistics.md §Sample ratio mismatch): a chi-square
goodness-of-fit test of unique units per group against the configured split, graded into the
"Exposures are balanced" health check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

HealthStatus = Literal["PASSED", "FAILED", "WAITING", "WARNING"]

# Statsig's thresholds: below WARN_P a warning, below FAIL_P a red alert, unless every group is
# within LOW_IMPACT_DEVIATION (0.1 percentage point of allocation) of its expected share.
WARN_P = 0.01
FAIL_P = 0.001
LOW_IMPACT_DEVIATION = 0.001

HEALTH_CHECK_NAME = "Exposures are balanced"
HEALTH_CHECK_TYPE = "has_balanced_exposures"


@dataclass(frozen=True, slots=True)
class SrmResult:
    chi_square: float | None
    p_value: float | None
    max_share_deviation: float | None
    """Largest |observed share - expected share| over the groups, as a fraction."""
    status: HealthStatus
    description: str

    def to_health_check(self) -> dict[str, str]:
        """The Console API `healthChecks[]` item shape."""
        return {
            "name": HEALTH_CHECK_NAME,
            "description": self.description,
            "status": self.status,
            "type": HEALTH_CHECK_TYPE,
        }


def _grade(p: float, deviation: float) -> tuple[HealthStatus, str]:
    if p >= WARN_P:
        return "PASSED", "Exposures match the configured split."
    if deviation < LOW_IMPACT_DEVIATION:
        return "WARNING", "Statistically unbalanced, but every group is within 0.1% of its split."
    if p < FAIL_P:
        return "FAILED", "Sample ratio mismatch: results may be untrustworthy."
    return "WARNING", "Possible sample ratio mismatch: wait a day and check again."


def srm_check(units: Sequence[int], weights: Sequence[float]) -> SrmResult:
    """χ² = Σ(O_g - E_g)²/E_g with G-1 degrees of freedom; weights need not sum to 1."""
    # Imported on first use (frequentist.critical_value says why).
    from scipy import stats as sps

    if len(units) != len(weights):
        raise ValueError("units and weights must have the same length")
    total_units = sum(units)
    total_weight = sum(weights)
    if len(units) < 2 or total_units == 0 or total_weight <= 0 or min(weights) <= 0:
        return SrmResult(None, None, None, "WAITING", "Not enough exposures to check the split.")
    expected_shares = [w / total_weight for w in weights]
    chi_square = sum(
        (o - total_units * s) ** 2 / (total_units * s)
        for o, s in zip(units, expected_shares, strict=True)
    )
    p = float(sps.chi2.sf(chi_square, len(units) - 1))
    deviation = max(abs(o / total_units - s) for o, s in zip(units, expected_shares, strict=True))
    status, description = _grade(p, deviation)
    return SrmResult(chi_square, p, deviation, status, description)
