"""mSPRT (docs/statistics.md §Sequential testing) against vectors worked by hand from the
formulas."""

from __future__ import annotations

import pytest

from lockgate.cores.stats.frequentist import Alternative, contrast
from lockgate.cores.stats.sequential import msprt_z_star, sequential
from lockgate.cores.stats.sufficient import GroupEstimate

pytestmark = pytest.mark.database_free

# Case A: var(X_t) = var(X_c) = 4, N_t = N_c = 100, delta = 0.5, alpha = 0.05 two-sided.
#   V   = 4/100 + 4/100                    = 0.08
#   Z   = Z_0.025                          = 1.959964
#   tau = Z^2 (4 + 4)/(100 + 100)          = 3.841459 x 0.04 = 0.153658
#   (V + tau)/tau                          = 0.233658/0.153658 = 1.520636
#   -2 ln(0.025) = 7.377759;  ln(V/(V+tau)) = ln(0.342381) = -1.071833
#   Z*  = sqrt(1.520636 x (7.377759 + 1.071833)) = sqrt(12.848718) = 3.584515
#   (equal split and variances: the 3.5845 of docs/statistics.md §Reference values, 20,000 per arm)
#   CI* = 0.5 +- 3.584515 x 0.282843       = [-0.513854, 1.513854]
#   sigma = Z*/Z = 1.828868; Z = 0.5/0.282843 = 1.767767; p* = 2 Phi(-0.966592) = 0.333749
# Case B: var(X_t) = 9, var(X_c) = 1, N_t = 50, N_c = 150, delta = 0.5.
#   V = 9/50 + 1/150 = 0.186667; tau = 3.841459 x 10/200 = 0.192073
#   (V + tau)/tau = 1.971853; ln(V/(V+tau)) = -0.707524
#   Z* = sqrt(1.971853 x (7.377759 + 0.707524)) = 3.992867
#   CI* = 0.5 +- 3.992867 x 0.432049 = [-1.225116, 2.225116]
#   sigma = 2.037215; Z = 1.157275; p* = 2 Phi(-0.568065) = 0.569989
# Case C: case A one-sided (increase): alpha replaces alpha/2.
#   Z_0.05 = 1.644854; tau = 2.705543 x 0.04 = 0.108222; (V+tau)/tau = 1.739223
#   -2 ln(0.05) = 5.991465; ln(V/(V+tau)) = -0.855594
#   Z* = sqrt(1.739223 x 6.847059) = 3.450878; CI* = [0.5 - 3.450878 x 0.282843, inf)
#   = [-0.476056, inf); sigma = 2.097985; p* = 1 - Phi(0.842603) = 0.199725
CASES = [
    pytest.param(
        4.0, 4.0, 100, 100, "two-sided", 3.584515, (-0.513854, 1.513854), 0.333749, id="A"
    ),
    pytest.param(9.0, 1.0, 50, 150, "two-sided", 3.992867, (-1.225116, 2.225116), 0.569989, id="B"),
    pytest.param(4.0, 4.0, 100, 100, "increase", 3.450878, (-0.476056, None), 0.199725, id="C"),
]


@pytest.mark.parametrize(("var_t", "var_c", "n_t", "n_c", "alt", "z_star", "ci", "p"), CASES)
def test_sequential__hand_vector__matches_formula(
    var_t: float,
    var_c: float,
    n_t: int,
    n_c: int,
    alt: Alternative,
    z_star: float,
    ci: tuple[float, float | None],
    p: float,
) -> None:
    # Given groups whose means differ by 0.5
    c = contrast(GroupEstimate(n_c, 10.0, var_c), GroupEstimate(n_t, 10.5, var_t))
    # When the mSPRT adjustment is computed
    result = sequential(c, alternative=alt)
    # Then Z*, the CI and p* are the hand-computed ones
    assert result is not None and result.absolute_ci is not None
    assert result.z_star == pytest.approx(z_star, abs=1e-6)
    assert result.absolute_ci.lower == pytest.approx(ci[0], abs=1e-6)
    assert result.absolute_ci.upper == (None if ci[1] is None else pytest.approx(ci[1], abs=1e-6))
    assert result.p_value == pytest.approx(p, abs=1e-6)


@pytest.mark.parametrize("units", [100, 20_000, 5_000_000])
def test_msprt_z_star__equal_split_equal_variance__is_constant_in_n(units: int) -> None:
    # Given a 50/50 split with equal variances, V/tau = 2/Z^2 whatever N
    # (docs/statistics.md §Sequential testing)
    v = 3.0
    found = msprt_z_star(2 * v / units, v, v, units, units)
    # Then Z* is the same 3.5845 at every sample size
    assert found is not None
    assert found[0] == pytest.approx(3.584515, abs=1e-6)


def test_sequential__zero_variance__returns_none() -> None:
    c = contrast(GroupEstimate(100, 1.0, 0.0), GroupEstimate(100, 1.0, 0.0))
    assert sequential(c) is None
