"""sim.experiments.stats (t intervals, paired differences, Pareto) and the pure parts of compare/sweep:
SPEC and grid parsing, the adaptive-replication rule. No simulation runs here."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.errors import ScenarioError
from sim.experiments.compare import parse_policies
from sim.experiments.experiment import Group, _needed, next_n
from sim.experiments.jobs import JobOutcome
from sim.experiments.stats import paired_difference, pareto_front, summarize, t_quantile
from sim.experiments.sweep import format_value, parse_grid, point_slug


# --------------------------------------------------------------------------- intervals
def test_summary_known_numbers() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert s.n == 5 and s.mean == 3.0
    assert s.std == pytest.approx(math.sqrt(2.5))
    # t(0.975, 4) = 2.776445105..., half-width = t * sqrt(2.5) / sqrt(5)
    assert t_quantile(5) == pytest.approx(2.7764451051977987, rel=1e-12)
    assert s.half_width == pytest.approx(2.7764451051977987 * math.sqrt(0.5), rel=1e-12)


def test_summary_matches_scipy_interval() -> None:
    x = np.array([12.1, 9.7, 11.3, 10.8, 13.4, 10.1, 9.9, 12.6])
    s = summarize(x, level=0.95)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (s.ci_low, s.ci_high) == (pytest.approx(lo, rel=1e-12), pytest.approx(hi, rel=1e-12))
    s99 = summarize(x, level=0.99)
    lo99, hi99 = stats.t.interval(0.99, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (s99.ci_low, s99.ci_high) == (pytest.approx(lo99, rel=1e-12), pytest.approx(hi99, rel=1e-12))


def test_summary_drops_nan_and_handles_small_n() -> None:
    assert summarize([1.0, float("nan"), 3.0]).n == 2
    one = summarize([4.0])
    assert one.n == 1 and one.mean == 4.0 and math.isnan(one.ci_low) and math.isnan(one.std)
    none = summarize([])
    assert none.n == 0 and math.isnan(none.mean)
    with pytest.raises(ValueError):
        summarize([1.0, 2.0], level=1.5)


def test_paired_difference_matches_scipy_ttest_rel() -> None:
    base = np.array([50.2, 48.9, 53.1, 47.5, 51.8, 49.6])
    x = base - np.array([2.1, 1.8, 2.6, 1.5, 2.2, 1.9])  # strongly correlated with the baseline
    d = paired_difference(x, base)
    ci = stats.ttest_rel(x, base).confidence_interval(0.95)
    assert d.n == 6
    assert d.mean == pytest.approx(float(np.mean(x - base)))
    assert (d.ci_low, d.ci_high) == (pytest.approx(ci.low, rel=1e-10), pytest.approx(ci.high, rel=1e-10))
    assert d.corr == pytest.approx(float(np.corrcoef(x, base)[0, 1]))
    assert d.corr > 0.9 and d.significant
    # pairing pays: the unpaired (Welch) interval of the same difference is far wider and includes 0
    welch = stats.ttest_ind(x, base, equal_var=False).confidence_interval(0.95)
    assert welch.low < 0 < welch.high
    assert d.half_width < (welch.high - welch.low) / 2 / 5


def test_paired_difference_drops_incomplete_pairs_and_small_n() -> None:
    d = paired_difference([1.0, float("nan"), 3.0], [0.5, 2.0, 2.0])
    assert d.n == 2 and d.mean == pytest.approx(0.75)
    assert math.isnan(d.corr)  # two pairs are always perfectly correlated: not reported
    with pytest.raises(ValueError):
        paired_difference([1.0, 2.0], [1.0])


# --------------------------------------------------------------------------- Pareto
def test_pareto_front() -> None:
    # (cost: min, service: max)
    pts = np.array([[10, 0.5], [12, 0.7], [11, 0.4], [15, 0.7], [20, 0.9], [float("nan"), 1.0], [10, 0.5]])
    front = pareto_front(pts, ("min", "max"))
    assert front.tolist() == [True, True, False, False, True, False, True]
    assert pareto_front(pts[:, :1], ("min",)).tolist() == [True, False, False, False, False, False, True]
    with pytest.raises(ValueError):
        pareto_front(pts, ("min", "up"))
    with pytest.raises(ValueError):
        pareto_front(pts, ("min",))


# --------------------------------------------------------------------------- adaptive replications
def _outcomes(group: str, cost: list[float], perfect: list[float]) -> list[JobOutcome]:
    return [
        JobOutcome(group, r, f"r{r}", "ran", metrics={"cost_per_order_cny": c, "perfect_order_rate": p})
        for r, (c, p) in enumerate(zip(cost, perfect, strict=True))
    ]


def test_needed_is_the_smallest_sufficient_n() -> None:
    v = np.array([10.0, 12.0, 11.0, 13.0])
    s = float(v.std(ddof=1))
    m = _needed(v, 0.5)
    assert t_quantile(m) * s / math.sqrt(m) <= 0.5
    assert t_quantile(m - 1) * s / math.sqrt(m - 1) > 0.5 or m - 1 < 2


def test_next_n_rule() -> None:
    g = [Group("a", "a", None), Group("b", "b", None)]  # type: ignore[arg-type]
    tight = _outcomes("a", [40.0, 40.1, 39.9], [0.60, 0.61, 0.60]) + _outcomes(
        "b", [30.0, 30.1, 29.9], [0.70, 0.70, 0.71]
    )
    assert next_n(tight, g, 3, ci_width=0.05) == 3  # both intervals narrow enough: no more rounds
    loose = _outcomes("a", [40.0, 44.0, 36.0], [0.60, 0.61, 0.60]) + tight[3:]
    assert next_n(loose, g, 3, ci_width=0.02) > 3  # cost ±2% of 40 needs more replications
    # a group with a failed job takes no part
    failed = loose[:2] + [JobOutcome("a", 2, "r2", "failed", error="x")] + tight[3:]
    assert next_n(failed, g, 3, ci_width=0.02) == 3


# --------------------------------------------------------------------------- parsing
def test_parse_policies() -> None:
    assert parse_policies("central_only, top_n(n=100,cover=2)") == ["central_only", "top_n(cover=2,n=100)"]
    assert parse_policies(["a", "b(x=1)"]) == ["a", "b(x=1)"]
    for bad in ("", "top_n(n=1", "top n", "f(1)"):
        with pytest.raises(ScenarioError, match="--policies"):
            parse_policies(bad)


def test_parse_grid() -> None:
    g = parse_grid(
        ["nodes.fdcs.capacity.slots=2000,8000", "policy=top_n(n=50),top_n(n=100)", "x.y=[1,2],[3]"]
    )
    assert g == {
        "nodes.fdcs.capacity.slots": ["2000", "8000"],
        "policy": ["top_n(n=50)", "top_n(n=100)"],
        "x.y": ["[1,2]", "[3]"],
    }
    assert parse_grid({"forecast.error": [0.1, 0.3], "flag": [True], "name": ["a"]}) == {
        "forecast.error": ["0.1", "0.3"],
        "flag": ["true"],
        "name": ["a"],
    }
    assert format_value(None) == "null"
    for bad in (
        ["forecast.error"],
        ["=1,2"],
        ["a=1", "a=2"],
        ["a="],
        ["a=1,1"],
        ["policy=top n"],
        ["a=(1,2"],
        [],
        ["seed=1,2"],
    ):
        with pytest.raises(ScenarioError, match="--grid"):
            parse_grid(bad)


def test_point_slug_is_file_safe_and_stable() -> None:
    s = point_slug({"nodes.fdcs.capacity.slots": "2000", "policy": "top_n(n=50)"})
    assert s == "nodes.fdcs.capacity.slots=2000-policy=top_n-n=50"
    long = point_slug({"a" * 80: "1", "b" * 80: "2"})
    assert len(long) <= 111 and long == point_slug({"a" * 80: "1", "b" * 80: "2"})
