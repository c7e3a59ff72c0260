"""Our results against GrowthBook's gbstats on the same sufficient statistics.

Goldens come from tools/gbstats/make_goldens.py (gbstats from the growthbook repository, which
has ratio CUPED). Where Statsig's method legitimately differs from gbstats
(docs/statistics.md §Where gbstats differs) the comment says so and we compare what is comparable:

* gbstats always uses Welch's t; Statsig uses z unless nu < 100. At nu ~ 40,000 the CIs differ by
  t/z - 1 ~ 3e-5, so large-sample CIs are compared as gbstats' SE x Z, and p-values loosely.
* gbstats' relative p-value tests the relative estimate; Statsig reports the absolute p:
  not compared.
* Relative CUPED SE: gbstats' gradient uses Y_t where the full gradient has Y_t - theta(X_t - X_c).
"""

from __future__ import annotations

from typing import Any

import pytest
from scipy import stats as sps

from lockgate.cores.stats.bayesian import GaussianPrior, bayesian
from lockgate.cores.stats.cuped import cuped_mean, cuped_ratio
from lockgate.cores.stats.frequentist import Contrast, analyze, contrast
from lockgate.cores.stats.srm import srm_check
from lockgate.cores.stats.sufficient import (
    CupedMeanStats,
    CupedRatioStats,
    MeanStats,
    RatioStats,
    mean_estimate,
    ratio_estimate,
)

pytestmark = pytest.mark.database_free

EXACT = 1e-9
Z_975 = float(sps.norm.isf(0.025))


def _mean(arm: dict[str, Any]) -> MeanStats:
    return MeanStats(arm["n"], arm["post"]["sum"], arm["post"]["sum_sq"])


def _ratio(arm: dict[str, Any], key: str) -> RatioStats:
    r = arm[key]
    return RatioStats(arm["n"], r["num"], r["num_sq"], r["den"], r["den_sq"], r["num_den"])


def _cuped_mean(arm: dict[str, Any]) -> CupedMeanStats:
    pre = MeanStats(arm["n"], arm["pre"]["sum"], arm["pre"]["sum_sq"])
    return CupedMeanStats(_mean(arm), pre, arm["post_pre"], arm["n"])


def _cuped_ratio(arm: dict[str, Any]) -> CupedRatioStats:
    x = arm["ratio_cross"]
    return CupedRatioStats(
        _ratio(arm, "ratio_post"),
        _ratio(arm, "ratio_pre"),
        x["num_num"],
        x["num_den"],
        x["den_num"],
        x["den_den"],
        arm["n"],
    )


def _contrast(goldens: dict[str, Any], metric: str, size: str = "large") -> Contrast:
    arms = goldens["inputs"][size]
    control, test = arms["control"], arms["test"]
    builders = {
        "mean": lambda: contrast(mean_estimate(_mean(control)), mean_estimate(_mean(test))),
        "ratio": lambda: contrast(
            ratio_estimate(_ratio(control, "ratio_post")),
            ratio_estimate(_ratio(test, "ratio_post")),
        ),
        "cuped_mean": lambda: cuped_mean(_cuped_mean(control), _cuped_mean(test)).contrast,
        "cuped_ratio": lambda: cuped_ratio(_cuped_ratio(control), _cuped_ratio(test)).contrast,
    }
    return builders[metric]()


def _estimate_and_se(c: Contrast, kind: str) -> tuple[float, float]:
    if kind == "absolute":
        assert c.delta is not None and c.delta_variance is not None
        return c.delta, c.delta_variance**0.5
    assert c.relative is not None and c.relative_variance is not None
    return c.relative, c.relative_variance**0.5


@pytest.mark.parametrize(
    ("metric", "kind", "se_tolerance"),
    [
        ("mean", "absolute", EXACT),
        ("mean", "relative", EXACT),
        ("ratio", "absolute", EXACT),
        ("ratio", "relative", EXACT),
        ("cuped_mean", "absolute", EXACT),
        # gbstats' relative CUPED gradient omits theta(X_t - X_c): 0.3927% vs our 0.3921%.
        ("cuped_mean", "relative", 2e-3),
        ("cuped_ratio", "absolute", EXACT),
        ("cuped_ratio", "relative", EXACT),
    ],
)
def test_estimate__gbstats_inputs__matches_gbstats_point_and_se(
    goldens: dict[str, Any], metric: str, kind: str, se_tolerance: float
) -> None:
    # Given the fixed 20,000-unit-per-arm sufficient statistics
    golden = goldens["gbstats"][f"{metric}_{kind}"]
    # When we compute the contrast
    estimate, se = _estimate_and_se(_contrast(goldens, metric), kind)
    # Then the point estimate is gbstats' and the SE agrees within the documented tolerance
    assert estimate == pytest.approx(golden["expected"], rel=EXACT)
    assert se == pytest.approx(golden["uplift"]["stddev"], rel=se_tolerance)


@pytest.mark.parametrize(
    ("metric", "case", "alpha"),
    [
        ("mean", "mean_absolute", 0.05),
        ("mean", "mean_absolute_alpha_0.2", 0.2),
        ("ratio", "ratio_absolute", 0.05),
        ("cuped_mean", "cuped_mean_absolute", 0.05),
        ("cuped_ratio", "cuped_ratio_absolute", 0.05),
    ],
)
def test_absolute_ci__large_sample__is_z_times_gbstats_se_and_close_to_its_t_ci(
    goldens: dict[str, Any], metric: str, case: str, alpha: float
) -> None:
    # Given nu ~ 40,000 >= 100, so Statsig uses z where gbstats uses Welch t
    golden = goldens["gbstats"][case]
    c = _contrast(goldens, metric)
    # When we analyze at the same alpha
    result = analyze(c, alpha=alpha)
    # Then our CI is exactly gbstats' SE x Z_{alpha/2} around gbstats' estimate
    assert result.dof is None
    assert result.absolute_ci is not None
    half = golden["uplift"]["stddev"] * float(sps.norm.isf(alpha / 2))
    assert result.absolute_ci.lower == pytest.approx(golden["expected"] - half, rel=EXACT)
    assert result.absolute_ci.upper == pytest.approx(golden["expected"] + half, rel=EXACT)
    # And it is narrower than gbstats' t CI by at most t_nu/z - 1 (< 1e-4 here)
    golden_half = (golden["ci"][1] - golden["ci"][0]) / 2
    assert 0 < 1 - result.absolute_ci.half_width / golden_half < 1e-4
    # And p is the z p of gbstats' estimate and SE: a thinner tail than gbstats' t p, by under
    # 1% even at |Z| = 4.15 (CUPED mean: 3.3080e-05 vs 3.3148e-05)
    z = golden["expected"] / golden["uplift"]["stddev"]
    assert result.p_value == pytest.approx(2 * float(sps.norm.sf(abs(z))), rel=EXACT)
    assert 0 < golden["p_value"] / result.p_value - 1 < 1e-2


@pytest.mark.parametrize("kind", ["absolute", "relative"])
def test_ci__small_sample_below_100_dof__equals_gbstats_welch_t(
    goldens: dict[str, Any], kind: str
) -> None:
    # Given n = 30 per arm, nu = 55.3 < 100, where Statsig also uses Welch's t
    golden = goldens["gbstats"][f"small_mean_{kind}"]
    c = _contrast(goldens, "mean", size="small")
    # When we analyze with the delta-method relative CI (the one gbstats computes)
    result = analyze(c, relative_method="delta")
    # Then the CI is gbstats' to rounding, and so is the absolute p
    ci = result.absolute_ci if kind == "absolute" else result.relative_ci
    assert result.dof == pytest.approx(55.3337, rel=1e-5)
    assert ci is not None
    assert (ci.lower, ci.upper) == pytest.approx(tuple(golden["ci"]), rel=EXACT)
    if kind == "absolute":
        assert result.p_value == pytest.approx(golden["p_value"], rel=EXACT)


@pytest.mark.parametrize(("metric", "case"), [("mean", "mean"), ("ratio", "ratio")])
def test_relative_delta_ci__large_sample__is_z_times_gbstats_relative_se(
    goldens: dict[str, Any], metric: str, case: str
) -> None:
    # Given the delta-method relative CI, which is gbstats' eq. (2)
    golden = goldens["gbstats"][f"{case}_relative"]
    # When we analyze
    result = analyze(_contrast(goldens, metric), relative_method="delta")
    # Then it is gbstats' relative SE x Z around gbstats' relative estimate
    assert result.relative_ci is not None
    half = golden["uplift"]["stddev"] * Z_975
    assert result.relative_ci.half_width == pytest.approx(half, rel=EXACT)


@pytest.mark.parametrize(
    ("metric", "key"), [("cuped_mean", "cuped_mean_theta"), ("cuped_ratio", "cuped_ratio_theta")]
)
def test_cuped_theta__pooled__equals_gbstats(
    goldens: dict[str, Any], metric: str, key: str
) -> None:
    # Given both arms; Statsig and gbstats both pool theta over the two arms (mean: around the
    # grand mean; ratio: sum of within-arm covariances over sum of within-arm variances)
    control, test = goldens["inputs"]["large"]["control"], goldens["inputs"]["large"]["test"]
    # When CUPED is computed
    result = (
        cuped_mean(_cuped_mean(control), _cuped_mean(test))
        if metric == "cuped_mean"
        else cuped_ratio(_cuped_ratio(control), _cuped_ratio(test))
    )
    # Then theta is gbstats' and the adjustment is applied
    assert result.theta == pytest.approx(goldens["gbstats"][key], rel=EXACT)
    assert result.applied


def test_cuped_mean__statsig_mean_shift__control_unadjusted_and_delta_as_gbstats(
    goldens: dict[str, Any],
) -> None:
    # Given the CUPED inputs; gbstats reports only the delta, Statsig also reports group means
    control = goldens["inputs"]["large"]["control"]
    # When CUPED is applied
    c = _contrast(goldens, "cuped_mean")
    # Then the control mean is the raw mean (259818.2268 / 20000 = 12.990911) and the test mean
    # is shifted so that test - control is gbstats' adjusted delta
    assert c.control.mean == pytest.approx(control["post"]["sum"] / control["n"], rel=EXACT)
    assert c.test.mean is not None and c.control.mean is not None
    assert c.test.mean - c.control.mean == pytest.approx(
        goldens["gbstats"]["cuped_mean_absolute"]["expected"], rel=EXACT
    )


def test_one_sided_increase__large_sample__lower_bound_is_z_alpha_times_gbstats_se(
    goldens: dict[str, Any],
) -> None:
    golden = goldens["gbstats"]["one_sided_increase_mean_absolute"]
    # When testing for an increase
    result = analyze(_contrast(goldens, "mean"), alternative="increase")
    # Then the CI is [delta - Z_0.05 x SE, unbounded) and p is half the two-sided one
    assert result.absolute_ci is not None
    expected_lower = golden["expected"] - float(sps.norm.isf(0.05)) * golden["uplift"]["stddev"]
    assert result.absolute_ci.lower == pytest.approx(expected_lower, rel=EXACT)
    assert result.absolute_ci.upper is None
    assert golden["ci"][1] == "inf"
    assert result.p_value == pytest.approx(golden["p_value"], rel=1e-3)


@pytest.mark.parametrize(
    ("case", "relative", "prior"),
    [
        ("bayes_mean_absolute_improper", False, None),
        ("bayes_mean_relative_prior_0_0.3", True, GaussianPrior(0.0, 0.3)),
    ],
)
def test_bayesian__gbstats_inputs__posterior_matches_gbstats(
    goldens: dict[str, Any], case: str, relative: bool, prior: GaussianPrior | None
) -> None:
    golden = goldens["gbstats"][case]
    # When the normal-normal update runs (gbstats' prior variance 0.09 is our sd 0.3)
    result = bayesian(_contrast(goldens, "mean"), relative=relative, prior=prior)
    # Then posterior mean, sd, credible interval, chance to win and both risks agree
    assert result is not None
    assert result.mean == pytest.approx(golden["expected"], rel=EXACT)
    assert result.sd == pytest.approx(golden["uplift"]["stddev"], rel=EXACT)
    assert (result.credible_interval.lower, result.credible_interval.upper) == pytest.approx(
        tuple(golden["ci"]), rel=EXACT
    )
    assert result.chance_to_beat == pytest.approx(golden["chance_to_win"], rel=EXACT)
    # gbstats' risk is [loss of keeping control, loss of shipping test]
    assert result.expected_loss_control == pytest.approx(golden["risk"][0], rel=1e-7)
    assert result.expected_loss_test == pytest.approx(golden["risk"][1], rel=1e-6)


def test_srm__gbstats_cases__p_values_match_check_srm(goldens: dict[str, Any]) -> None:
    for case in goldens["gbstats"]["srm"]:
        # When our chi-square runs on the same units and weights
        result = srm_check(case["units"], case["weights"])
        # Then the p-value is gbstats' check_srm
        assert result.p_value == pytest.approx(case["p_value"], rel=1e-9, abs=1e-300)
