"""Per-group sufficient statistics (counts, sums, squares, cross products) and the group estimates
derived from them: the only inputs the rest of `lockgate.cores.stats` needs from the warehouse.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


def _sample_covariance(n: int, sum_a: float, sum_b: float, sum_ab: float) -> float | None:
    """Sample covariance (ddof=1) from sums; `None` below two units."""
    if n < 2:
        return None
    return (sum_ab - sum_a * sum_b / n) / (n - 1)


@dataclass(frozen=True, slots=True)
class MeanStats:
    """One group of a count/sum/mean-over-all-units metric: N, ΣX, ΣX²."""

    n: int
    total: float
    total_sq: float

    def __add__(self, other: MeanStats) -> MeanStats:
        return MeanStats(self.n + other.n, self.total + other.total, self.total_sq + other.total_sq)

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n > 0 else None

    @property
    def variance(self) -> float | None:
        """Unit-level sample variance s² with N-1 in the denominator
        (docs/statistics.md §Variance)."""
        var = _sample_covariance(self.n, self.total, self.total, self.total_sq)
        # Cancellation in ΣX² - (ΣX)²/N can leave a tiny negative number for constant data.
        return None if var is None else max(var, 0.0)

    @classmethod
    def from_values(cls, values: NDArray[np.float64]) -> MeanStats:
        v = np.asarray(values, dtype=np.float64)
        return cls(int(v.size), float(v.sum()), float(np.dot(v, v)))


@dataclass(frozen=True, slots=True)
class RatioStats:
    """One group of a ratio metric over participating units: N, ΣX, ΣX², ΣY, ΣY², ΣXY."""

    n: int
    num_total: float
    num_total_sq: float
    den_total: float
    den_total_sq: float
    num_den_total: float

    def __add__(self, other: RatioStats) -> RatioStats:
        return RatioStats(
            self.n + other.n,
            self.num_total + other.num_total,
            self.num_total_sq + other.num_total_sq,
            self.den_total + other.den_total,
            self.den_total_sq + other.den_total_sq,
            self.num_den_total + other.num_den_total,
        )

    @property
    def numerator(self) -> MeanStats:
        return MeanStats(self.n, self.num_total, self.num_total_sq)

    @property
    def denominator(self) -> MeanStats:
        return MeanStats(self.n, self.den_total, self.den_total_sq)

    @property
    def ratio(self) -> float | None:
        """R̄ = ΣX/ΣY, the ratio of sums (not the mean of unit ratios)."""
        return self.num_total / self.den_total if self.den_total != 0 else None

    @property
    def num_den_covariance(self) -> float | None:
        return _sample_covariance(self.n, self.num_total, self.den_total, self.num_den_total)

    @property
    def linearized_variance(self) -> float | None:
        """Unit-level variance of X/Ȳ - R̄·Y/Ȳ, so that var(R̄) = this / N (delta method,
        docs/statistics.md §Variance)."""
        r = self.ratio
        var_x, var_y = self.numerator.variance, self.denominator.variance
        cov = self.num_den_covariance
        if r is None or var_x is None or var_y is None or cov is None:
            return None
        mean_y = self.den_total / self.n
        return max((var_x - 2.0 * r * cov + r * r * var_y) / (mean_y * mean_y), 0.0)

    @classmethod
    def from_values(cls, num: NDArray[np.float64], den: NDArray[np.float64]) -> RatioStats:
        x = np.asarray(num, dtype=np.float64)
        y = np.asarray(den, dtype=np.float64)
        return cls(
            int(x.size),
            float(x.sum()),
            float(np.dot(x, x)),
            float(y.sum()),
            float(np.dot(y, y)),
            float(np.dot(x, y)),
        )


@dataclass(frozen=True, slots=True)
class CupedMeanStats:
    """A mean metric with its pre-period covariate over the same N units.

    Units without pre-period data enter `pre` with value 0; `units_with_pre` counts the others
    and drives the CUPED applicability rules.
    """

    post: MeanStats
    pre: MeanStats
    post_pre_total: float
    units_with_pre: int

    def __add__(self, other: CupedMeanStats) -> CupedMeanStats:
        return CupedMeanStats(
            self.post + other.post,
            self.pre + other.pre,
            self.post_pre_total + other.post_pre_total,
            self.units_with_pre + other.units_with_pre,
        )

    @property
    def covariance(self) -> float | None:
        return _sample_covariance(self.post.n, self.post.total, self.pre.total, self.post_pre_total)


@dataclass(frozen=True, slots=True)
class CupedRatioStats:
    """A ratio metric Y/N with its pre-period ratio X/M over the same units.

    Cross products pair every post quantity with every pre quantity; together with the
    within-period products in `post` and `pre` they give the full 4x4 covariance of (Y, N, X, M).
    """

    post: RatioStats
    pre: RatioStats
    post_num_pre_num: float
    post_num_pre_den: float
    post_den_pre_num: float
    post_den_pre_den: float
    units_with_pre: int

    def covariance_matrix(self) -> NDArray[np.float64] | None:
        """Sample covariance matrix of the unit vector (Y, N, X, M); `None` below two units."""
        n = self.post.n
        if n < 2:
            return None
        sums = np.array(
            [self.post.num_total, self.post.den_total, self.pre.num_total, self.pre.den_total]
        )
        products = np.array(
            [
                [
                    self.post.num_total_sq,
                    self.post.num_den_total,
                    self.post_num_pre_num,
                    self.post_num_pre_den,
                ],
                [
                    self.post.num_den_total,
                    self.post.den_total_sq,
                    self.post_den_pre_num,
                    self.post_den_pre_den,
                ],
                [
                    self.post_num_pre_num,
                    self.post_den_pre_num,
                    self.pre.num_total_sq,
                    self.pre.num_den_total,
                ],
                [
                    self.post_num_pre_den,
                    self.post_den_pre_den,
                    self.pre.num_den_total,
                    self.pre.den_total_sq,
                ],
            ]
        )
        cov: NDArray[np.float64] = (products - np.outer(sums, sums) / n) / (n - 1)
        return cov


@dataclass(frozen=True, slots=True)
class GroupEstimate:
    """What every metric type reduces to: units, point estimate of the group mean and the
    unit-level variance of the (possibly linearised or CUPED-adjusted) value."""

    units: int
    mean: float | None
    variance: float | None

    @property
    def mean_variance(self) -> float | None:
        """var(X̄) = s²/N."""
        if self.variance is None or self.units < 1:
            return None
        return self.variance / self.units

    @property
    def standard_error(self) -> float | None:
        """√var(X̄); Pulse reports this as the group's "std"
        (docs/statistics.md §Metric objects)."""
        v = self.mean_variance
        return None if v is None else float(np.sqrt(v))


def mean_estimate(stats: MeanStats) -> GroupEstimate:
    return GroupEstimate(stats.n, stats.mean, stats.variance)


def ratio_estimate(stats: RatioStats) -> GroupEstimate:
    return GroupEstimate(stats.n, stats.ratio, stats.linearized_variance)
