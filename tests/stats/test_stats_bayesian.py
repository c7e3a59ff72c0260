"""Normal-normal Bayesian view (docs/statistics.md §Bayesian view) by hand."""

from __future__ import annotations

import math

import pytest

from lockgate.cores.stats.bayesian import GaussianPrior, bayesian, posterior
from lockgate.cores.stats.frequentist import contrast
from lockgate.cores.stats.sufficient import GroupEstimate

pytestmark = pytest.mark.database_free


def test_posterior__no_prior__data_pass_through() -> None:
    assert posterior(0.02, 0.01, None) == (0.02, 0.01)


def test_posterior__prior_as_precise_as_data__halfway_and_sd_over_root_two() -> None:
    # (0/0.01^2 + 0.02/0.01^2)/(2/0.01^2) = 0.01; sd = sqrt(1/(2/0.01^2)) = 0.01/sqrt(2)
    mean, sd = posterior(0.02, 0.01, GaussianPrior(0.0, 0.01))
    assert (mean, sd) == pytest.approx((0.01, 0.01 / math.sqrt(2)), rel=1e-12)


def test_bayesian__absolute_with_relative_prior__prior_scaled_by_control_mean() -> None:
    # Given control mean 10, delta 0.2 with var(delta) = 0.01 (SE 0.1), prior N(0, 1%^2) relative
    c = contrast(GroupEstimate(100, 10.0, 0.5), GroupEstimate(100, 10.2, 0.5))
    # When the absolute posterior is computed, the prior becomes N(0, 0.1^2)
    result = bayesian(c, prior=GaussianPrior(0.0, 0.01))
    # Then posterior = (0.2/0.01)/(2/0.01) = 0.1, sd = 0.1/sqrt(2), P(>0) = Phi(sqrt(2))
    assert result is not None
    assert (result.mean, result.sd) == pytest.approx((0.1, 0.1 / math.sqrt(2)), rel=1e-12)
    assert result.chance_to_beat == pytest.approx(0.9213504, abs=1e-7)


def test_bayesian__zero_variance__none() -> None:
    assert bayesian(contrast(GroupEstimate(5, 1.0, 0.0), GroupEstimate(5, 1.0, 0.0))) is None
