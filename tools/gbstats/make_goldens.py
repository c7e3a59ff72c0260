"""Golden values for `tests/stats/` from GrowthBook's gbstats, an independent stats engine.

gbstats pins numpy<2 (PyPI 0.8.0) and pandas, so it lives in its own virtualenv, never in the
project's. Ratio CUPED needs gbstats from the growthbook repository (packages/stats), which
PyPI 0.8.0 lacks; with PyPI 0.8.0 those cases are left out.

    python3 -m venv /tmp/gbvenv
    /tmp/gbvenv/bin/pip install gbstats            # or: pip install <growthbook>/packages/stats
    /tmp/gbvenv/bin/python tools/gbstats/make_goldens.py > tests/stats/goldens_gbstats.json

The inputs are fixed sufficient statistics (docs/statistics.md §Reference data: 20,000 units per
arm, plus a small n=30 case where Welch's t is in force for Statsig too). The script only reads them
and prints what gbstats says; the tests decide what is comparable.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from importlib import metadata
from typing import Any

from gbstats.bayesian import tests as bayes
from gbstats.frequentist import tests as freq
from gbstats.models import statistics as st
from gbstats.utils import check_srm

LIST_API = hasattr(st, "RegressionAdjustedRatioStatistic")

LARGE = {
    "control": {
        "n": 20000,
        "post": {"sum": 259818.22684590798, "sum_sq": 4511309.188208446},
        "pre": {"sum": 199999.8469264099, "sum_sq": 2992750.076335092},
        "post_pre": 3391755.90210826,
        "ratio_post": {
            "num": 17955,
            "num_sq": 37577,
            "den": 59697,
            "den_sq": 238537,
            "num_den": 71899,
        },
        "ratio_pre": {
            "num": 17959,
            "num_sq": 37549,
            "den": 59828,
            "den_sq": 238582,
            "num_den": 71763,
        },
        "ratio_cross": {"num_num": 19413, "num_den": 53883, "den_num": 53377, "den_den": 178663},
    },
    "test": {
        "n": 20000,
        "post": {"sum": 264752.40262521146, "sum_sq": 4690965.915471447},
        "pre": {"sum": 200913.792611746, "sum_sq": 3019148.4717759546},
        "post_pre": 3476331.2185630454,
        "ratio_post": {
            "num": 18341,
            "num_sq": 38833,
            "den": 60306,
            "den_sq": 241464,
            "num_den": 73779,
        },
        "ratio_pre": {
            "num": 18034,
            "num_sq": 37894,
            "den": 60033,
            "den_sq": 239701,
            "num_den": 72059,
        },
        "ratio_cross": {"num_num": 20153, "num_den": 55040, "den_num": 54347, "den_den": 180560},
    },
}

# n=30 per arm, means 10.0 and 11.2, sample SDs 2.0 and 2.5: ΣX² = (n-1)s² + n·mean².
SMALL = {
    "control": {"n": 30, "post": {"sum": 300.0, "sum_sq": 29 * 4.0 + 30 * 100.0}},
    "test": {"n": 30, "post": {"sum": 336.0, "sum_sq": 29 * 6.25 + 30 * 11.2**2}},
}


def sample_mean(n: int, s: float, q: float) -> Any:
    return st.SampleMeanStatistic(n=n, sum=s, sum_squares=q)


def mean_stat(arm: dict[str, Any]) -> Any:
    return sample_mean(arm["n"], arm["post"]["sum"], arm["post"]["sum_sq"])


def ratio_stat(arm: dict[str, Any]) -> Any:
    n, r = arm["n"], arm["ratio_post"]
    return st.RatioStatistic(
        n=n,
        m_statistic=sample_mean(n, r["num"], r["num_sq"]),
        d_statistic=sample_mean(n, r["den"], r["den_sq"]),
        m_d_sum_of_products=r["num_den"],
    )


def cuped_stat(arm: dict[str, Any]) -> Any:
    n = arm["n"]
    return st.RegressionAdjustedStatistic(
        n=n,
        post_statistic=sample_mean(n, arm["post"]["sum"], arm["post"]["sum_sq"]),
        pre_statistic=sample_mean(n, arm["pre"]["sum"], arm["pre"]["sum_sq"]),
        post_pre_sum_of_products=arm["post_pre"],
        theta=None if LIST_API else 0.0,
    )


def cuped_ratio_stat(arm: dict[str, Any]) -> Any:
    n, post, pre, cross = arm["n"], arm["ratio_post"], arm["ratio_pre"], arm["ratio_cross"]
    return st.RegressionAdjustedRatioStatistic(
        n=n,
        m_statistic_post=sample_mean(n, post["num"], post["num_sq"]),
        d_statistic_post=sample_mean(n, post["den"], post["den_sq"]),
        m_statistic_pre=sample_mean(n, pre["num"], pre["num_sq"]),
        d_statistic_pre=sample_mean(n, pre["den"], pre["den_sq"]),
        m_post_m_pre_sum_of_products=cross["num_num"],
        d_post_d_pre_sum_of_products=cross["den_den"],
        m_pre_d_pre_sum_of_products=pre["num_den"],
        m_post_d_post_sum_of_products=post["num_den"],
        m_post_d_pre_sum_of_products=cross["num_den"],
        m_pre_d_post_sum_of_products=cross["den_num"],
        theta=None,
    )


def run(test_cls: Any, control: Any, treatment: Any, config: Any) -> dict[str, Any]:
    """One gbstats test; only the fields the goldens need."""
    test = (
        test_cls([(control, treatment)], config)
        if LIST_API
        else test_cls(control, treatment, config)
    )
    result = dataclasses.asdict(test.compute_result())
    # The two APIs spell result fields differently (pValue vs p_value); keep snake_case.
    renamed = {"pValue": "p_value", "chanceToWin": "chance_to_win", "errorMessage": "error_message"}
    result = {renamed.get(key, key): value for key, value in result.items()}
    wanted = ("expected", "ci", "p_value", "uplift", "chance_to_win", "risk", "error_message")
    return {key: result[key] for key in wanted if key in result}


def frequentist(kind: str, **extra: Any) -> Any:
    return freq.FrequentistConfig(difference_type=kind, **extra)


def main() -> None:
    c, t = LARGE["control"], LARGE["test"]
    cases: dict[str, Any] = {}
    for kind in ("absolute", "relative"):
        cases[f"mean_{kind}"] = run(
            freq.TwoSidedTTest, mean_stat(c), mean_stat(t), frequentist(kind)
        )
        cases[f"ratio_{kind}"] = run(
            freq.TwoSidedTTest, ratio_stat(c), ratio_stat(t), frequentist(kind)
        )
        cases[f"cuped_mean_{kind}"] = run(
            freq.TwoSidedTTest, cuped_stat(c), cuped_stat(t), frequentist(kind)
        )
        cases[f"small_mean_{kind}"] = run(
            freq.TwoSidedTTest,
            mean_stat(SMALL["control"]),
            mean_stat(SMALL["test"]),
            frequentist(kind),
        )
    cases["mean_absolute_alpha_0.2"] = run(
        freq.TwoSidedTTest, mean_stat(c), mean_stat(t), frequentist("absolute", alpha=0.2)
    )
    cases["cuped_mean_theta"] = st.compute_theta(cuped_stat(c), cuped_stat(t))
    if LIST_API:
        cases["cuped_ratio_theta"] = st.compute_theta_regression_adjusted_ratio(
            cuped_ratio_stat(c), cuped_ratio_stat(t)
        )
        for kind in ("absolute", "relative"):
            cases[f"cuped_ratio_{kind}"] = run(
                freq.TwoSidedTTest, cuped_ratio_stat(c), cuped_ratio_stat(t), frequentist(kind)
            )
        cases["one_sided_increase_mean_absolute"] = run(
            freq.OneSidedTreatmentGreaterTTest, mean_stat(c), mean_stat(t), frequentist("absolute")
        )
        cases["bayes_mean_absolute_improper"] = run(
            bayes.EffectBayesianABTest,
            mean_stat(c),
            mean_stat(t),
            bayes.EffectBayesianConfig(difference_type="absolute"),
        )
        cases["bayes_mean_relative_prior_0_0.3"] = run(
            bayes.EffectBayesianABTest,
            mean_stat(c),
            mean_stat(t),
            bayes.EffectBayesianConfig(
                difference_type="relative",
                prior_effect=bayes.GaussianPrior(mean=0.0, variance=0.09, proper=True),
            ),
        )
    srm_inputs = [
        ([20000, 20000], [0.5, 0.5]),
        ([20000, 20400], [0.5, 0.5]),
        ([1000, 2100, 2900], [0.2, 0.4, 0.4]),
    ]
    cases["srm"] = [
        {"units": u, "weights": w, "p_value": float(check_srm(u, w))} for u, w in srm_inputs
    ]
    document = {
        "source": "gbstats "
        + metadata.version("gbstats")
        + (" (growthbook repo, list-of-pairs API)" if LIST_API else " (PyPI pair API)"),
        "generated_by": "tools/gbstats/make_goldens.py",
        "inputs": {"large": LARGE, "small": SMALL},
        "gbstats": cases,
    }
    json.dump(_plain(document), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


def _plain(value: Any) -> Any:
    """numpy scalars and tuples to JSON types; infinities to strings JSON can carry."""
    if isinstance(value, dict):
        return {key: _plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


if __name__ == "__main__":
    main()
