"""SRM health check (docs/statistics.md §Sample ratio mismatch): chi-square on unit counts, graded
by Statsig thresholds."""

from __future__ import annotations

import pytest

from lockgate.cores.stats.srm import HealthStatus, srm_check

pytestmark = pytest.mark.database_free


@pytest.mark.parametrize(
    ("units", "chi_square", "status"),
    [
        # Exactly on the split: chi^2 = 0, p = 1.
        ([5000, 5000], 0.0, "PASSED"),
        # E = 5000 each, |O - E| = 140: chi^2 = 2 x 140^2/5000 = 7.84, p = 0.0051 in [0.001, 0.01).
        ([5140, 4860], 7.84, "WARNING"),
        # |O - E| = 200: chi^2 = 2 x 200^2/5000 = 16, p = 6.3e-5 < 0.001, deviation 2 pp.
        ([5200, 4800], 16.0, "FAILED"),
        # 10M units, |O - E| = 9000: chi^2 = 2 x 9000^2/5e6 = 32.4, p = 1.3e-8, but the share is
        # off by only 0.09 pp < 0.1 pp: low impact, a warning.
        ([5_009_000, 4_991_000], 32.4, "WARNING"),
    ],
)
def test_srm_check__two_groups__graded_by_p_and_deviation(
    units: list[int], chi_square: float, status: HealthStatus
) -> None:
    result = srm_check(units, [0.5, 0.5])
    assert result.chi_square == pytest.approx(chi_square, abs=1e-9)
    assert result.status == status


def test_srm_check__no_units__waiting() -> None:
    result = srm_check([0, 0], [0.5, 0.5])
    assert (result.status, result.p_value) == ("WAITING", None)


def test_srm_check__unequal_weights__expected_from_weights() -> None:
    # Given a 20/80 split observed as 2000/8000: exactly as configured
    assert srm_check([2000, 8000], [20, 80]).chi_square == pytest.approx(0.0)


def test_srm_result__to_health_check__console_shape() -> None:
    check = srm_check([5200, 4800], [1, 1]).to_health_check()
    assert set(check) == {"name", "description", "status", "type"}
    assert check["type"] == "has_balanced_exposures"
    assert check["status"] == "FAILED"


def test_srm_check__length_mismatch__raises() -> None:
    with pytest.raises(ValueError, match="same length"):
        srm_check([1, 2], [1.0])
