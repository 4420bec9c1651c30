"""Statistics for comparing runs: Student-t confidence intervals, paired differences, Pareto fronts.

Replications of one configuration are independent and identically distributed, so a KPI's mean
has the Student-t interval mean ± t(1-α/2, n-1)·s/√n (s the sample standard deviation, ddof=1).
Two policies run with common random numbers see the same orders in replication r, so their KPIs
are positively correlated; the right interval for "policy minus baseline" is the t interval of the
per-replication differences d_r = x_r - b_r (paired by replication), whose variance
Var(x) + Var(b) - 2·Cov(x, b) is smaller than the unpaired one by exactly that covariance. We report
the correlation so a reader can see how much the pairing bought. NaN values (a KPI that does not
exist in a replication, e.g. near-tier p90 with no near orders) are dropped, pairwise for pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class Summary:
    """Mean, standard deviation (ddof=1) and Student-t interval of n values (NaN where undefined)."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0


@dataclass(frozen=True)
class Paired:
    """Mean of the paired differences x_r - b_r, their t interval, and corr(x, b) over the pairs."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    corr: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2.0

    @property
    def significant(self) -> bool:
        """The interval excludes 0 (False when it is undefined)."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def _clean(values: Sequence[float] | np.ndarray) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    return a[np.isfinite(a)]


def t_quantile(n: int, level: float = 0.95) -> float:
    """t(1 - α/2, n - 1) for a two-sided `level` interval of n values (NaN if n < 2)."""
    if n < 2:
        return NAN
    # imported here: scipy.stats costs ~2 CPU-s to import, and a single run needs no interval
    from scipy import stats as _st

    return float(_st.t.ppf(0.5 + level / 2.0, n - 1))


def summarize(values: Sequence[float] | np.ndarray, level: float = 0.95) -> Summary:
    """Mean, std and the two-sided Student-t `level` interval of the finite values."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    a = _clean(values)
    n = int(a.size)
    if n == 0:
        return Summary(0, NAN, NAN, NAN, NAN)
    mean = float(a.mean())
    if n == 1:
        return Summary(1, mean, NAN, NAN, NAN)
    std = float(a.std(ddof=1))
    hw = t_quantile(n, level) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - hw, mean + hw)


def paired_difference(
    x: Sequence[float] | np.ndarray, baseline: Sequence[float] | np.ndarray, level: float = 0.95
) -> Paired:
    """Interval for E[x - baseline] from pairs (x[r], baseline[r]) of the same replication r.

    The two arrays are aligned by position; pairs with a NaN on either side are dropped. The
    correlation is NaN with fewer than 3 pairs (two points are always perfectly correlated) or when
    either side is constant.
    """
    xa, ba = np.asarray(x, dtype=float).ravel(), np.asarray(baseline, dtype=float).ravel()
    if xa.shape != ba.shape:
        raise ValueError(f"paired values need equal lengths, got {xa.size} and {ba.size}")
    ok = np.isfinite(xa) & np.isfinite(ba)
    xa, ba = xa[ok], ba[ok]
    s = summarize(xa - ba, level)
    corr = NAN
    if xa.size >= 3 and xa.std() > 0 and ba.std() > 0:
        corr = float(np.corrcoef(xa, ba)[0, 1])
    return Paired(s.n, s.mean, s.std, s.ci_low, s.ci_high, corr)


def pareto_front(points: Sequence[Sequence[float]] | np.ndarray, senses: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of `points` (n, k); senses[j] is "min" or "max".

    A point dominates another if it is at least as good in every column and better in one. Rows
    with a NaN are never on the front. Equal points are all kept.
    """
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != len(senses):
        raise ValueError(f"points must be (n, {len(senses)}), got shape {p.shape}")
    bad = [s for s in senses if s not in ("min", "max")]
    if bad:
        raise ValueError(f"senses must be 'min' or 'max', got {bad[0]!r}")
    sign = np.array([1.0 if s == "min" else -1.0 for s in senses])
    q = p * sign  # now every column is minimised
    finite = np.all(np.isfinite(q), axis=1)
    front = finite.copy()
    for i in np.flatnonzero(finite):
        others = q[finite]
        dominated = np.any(np.all(others <= q[i], axis=1) & np.any(others < q[i], axis=1))
        front[i] = not dominated
    return front
