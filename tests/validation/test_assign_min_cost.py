"""assign_min_cost (DESIGN.md section 6 contract) against scipy.optimize.milp (HiGHS), an independent solver."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from sim.routing import assign_min_cost
from sim.routing.flow import COST_SCALE


def milp_assignment(
    cost: np.ndarray, capacity: np.ndarray, unassigned: np.ndarray, shift: float = 0.0, scale: float = 1.0
) -> float:
    """Optimal total cost by HiGHS: x[i, j] for finite entries, y[i] unassigned; sum_j x + y = 1, sum_i x <= cap.

    HiGHS solves (cost - shift) * scale (the same argmin: every order pays exactly one arc), so costs
    differing by less than its ~1e-7 tolerances can be magnified; the total is returned in CNY.
    """
    n, m = cost.shape
    if n == 0:
        return 0.0
    c_orig = np.concatenate([cost[np.isfinite(cost)], unassigned])
    cost, unassigned = (cost - shift) * scale, (unassigned - shift) * scale
    ii, jj = np.nonzero(np.isfinite(cost))
    k = ii.size
    c = np.concatenate([cost[ii, jj], unassigned])
    rows = np.concatenate([ii, np.arange(n)])
    a_ord = coo_matrix((np.ones(k + n), (rows, np.arange(k + n))), shape=(n, k + n))
    a_cap = coo_matrix((np.ones(k), (jj, np.arange(k))), shape=(m, k + n))
    cons = [LinearConstraint(a_ord, 1, 1)]
    if m:
        cons.append(LinearConstraint(a_cap, -np.inf, capacity.astype(float)))
    res = milp(
        c,
        constraints=cons,
        integrality=np.ones(k + n),
        bounds=Bounds(0, 1),
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    assert res.status == 0, res.message
    x = np.rint(res.x)
    return float(c_orig @ x)


def total(cost: np.ndarray, unassigned: np.ndarray, choice: np.ndarray) -> float:
    got = choice >= 0
    return float(cost[np.flatnonzero(got), choice[got]].sum() + unassigned[~got].sum())


def check_feasible(cost: np.ndarray, capacity: np.ndarray, choice: np.ndarray) -> None:
    assert choice.dtype.kind == "i" and choice.shape == (cost.shape[0],)
    got = choice >= 0
    assert np.isfinite(cost[np.flatnonzero(got), choice[got]]).all()
    assert (np.bincount(choice[got], minlength=cost.shape[1]) <= capacity).all()


def random_instance(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(0, 16)), int(rng.integers(0, 7))
    kind = seed % 4
    if kind == 0:  # fine-grained floats: rounding at the integer scale matters
        cost = rng.uniform(-5, 50, (n, m))
        unassigned = rng.uniform(10, 60, n)
    elif kind == 1:  # integer costs: many ties
        cost = rng.integers(0, 4, (n, m)).astype(float)
        unassigned = rng.integers(2, 5, n).astype(float)
    elif kind == 2:  # costs differing below the scale's resolution
        cost = 7.0 + rng.integers(0, 3, (n, m)) * 1e-7 + rng.uniform(0, 1e-6, (n, m))
        unassigned = np.full(n, 7.0 + 2e-6)
    else:  # wide range incl. dominated options (cost above the unassigned cost)
        cost = rng.lognormal(2, 1.5, (n, m))
        unassigned = rng.lognormal(2.5, 1.0, n)
    cost[rng.random((n, m)) < rng.uniform(0, 0.6)] = np.inf  # infeasible entries
    if n:
        cost[rng.random(n) < 0.15] = np.inf  # all-infeasible rows
    capacity = rng.integers(0, 4, m)
    capacity[rng.random(m) < 0.25] = 0  # zero capacities
    return cost, capacity, unassigned


@pytest.mark.parametrize("chunk", range(8))
def test_matches_milp_within_bound(chunk: int) -> None:
    for seed in range(chunk * 30, chunk * 30 + 30):  # 240 instances
        cost, capacity, unassigned = random_instance(seed)
        choice = assign_min_cost(cost, capacity, unassigned)
        check_feasible(cost, capacity, choice)
        shift, scale = (7.0, 1e6) if seed % 4 == 2 else (0.0, 1.0)
        ours, best = (
            total(cost, unassigned, choice),
            milp_assignment(cost, capacity, unassigned, shift, scale),
        )
        bound = cost.shape[0] / (2 * COST_SCALE)
        assert ours <= best + bound + 1e-9, (seed, ours, best)
        assert ours >= best - 1e-9 * max(1.0, abs(best)), (seed, ours, best)


def test_bound_is_tight_enough_to_separate_micro_differences() -> None:
    # two orders, one slot: the 3e-6 CNY difference exceeds the bound 2/(2S) = 1e-6, so it must be honoured
    cost = np.array([[1.0], [1.0 + 3e-6]])
    choice = assign_min_cost(cost, np.array([1]), np.array([5.0, 5.0 + 3e-6 + 3e-6]))
    assert choice.tolist() == [-1, 0]


def test_empty_inputs() -> None:
    assert assign_min_cost(np.zeros((0, 3)), np.array([1, 2, 0]), np.zeros(0)).shape == (0,)
    assert assign_min_cost(np.zeros((3, 0)), np.zeros(0, int), np.ones(3)).tolist() == [-1, -1, -1]
    assert assign_min_cost(np.full((2, 2), np.inf), np.array([1, 1]), np.ones(2)).tolist() == [-1, -1]


def test_huge_and_infinite_costs() -> None:
    # dominated huge options are dropped exactly; inf capacity is fine
    cost = np.array([[1e300, 3.0], [2.0, np.inf]])
    assert assign_min_cost(cost, np.array([5, 1]), np.array([10.0, 10.0])).tolist() == [1, 0]
    # inf unassigned cost: serve as many such orders as possible, then minimise cost
    cost = np.array([[1.0, 2.0], [1.0, np.inf], [0.5, 0.6]])
    choice = assign_min_cost(cost, np.array([1, 1]), np.array([np.inf, np.inf, 100.0]))
    assert choice.tolist() == [1, 0, -1]
    # a spread no int64 scale can hold is refused with a clear message
    with pytest.raises(ValueError, match="integer scale"):
        assign_min_cost(np.array([[1.0, 1e15]]), np.array([1, 1]), np.array([np.inf]))


def test_capacity_and_cost_dtypes() -> None:
    cost = np.array([[1.0, 2.0], [1.0, 3.0]])
    for cap in (np.array([1, 1], np.int32), np.array([1.0, 1.0]), [1, 1], np.array([True, True])):
        assert assign_min_cost(cost, cap, np.array([9.0, 9.0])).tolist() == [1, 0]


@pytest.mark.parametrize(
    ("cost", "capacity", "unassigned", "match"),
    [
        (np.ones(3), np.ones(3, int), np.ones(3), "2-D"),
        (np.ones((2, 3)), np.ones(2, int), np.ones(2), r"capacity must have shape \(3,\)"),
        (np.ones((2, 3)), np.ones(3, int), np.ones(3), r"unassigned_cost must have shape \(2,\)"),
        (np.array([[1.0, np.nan]]), np.ones(2, int), np.ones(1), "NaN"),
        (np.ones((1, 2)), np.ones(2, int), np.array([np.nan]), "NaN"),
        (np.ones((1, 2)), np.array([1, -1]), np.ones(1), "must be >= 0"),
        (np.ones((1, 2)), np.array([1.0, -2.0]), np.ones(1), "must be >= 0"),
        (np.ones((1, 2)), np.array([1.5, 1.0]), np.ones(1), "whole numbers"),
        (np.array([[1.0, -np.inf]]), np.ones(2, int), np.ones(1), "-inf"),
        (np.ones((1, 2)), np.ones(2, int), np.array([-np.inf]), "-inf"),
    ],
)
def test_value_errors(cost: np.ndarray, capacity: np.ndarray, unassigned: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        assign_min_cost(cost, capacity, unassigned)


def test_must_serve_priority_in_a_peak_sized_batch() -> None:
    """A Double-11-sized batch: every order must be served and the sum of their cost spreads exceeds
    the solver's integer range, so M is capped; the assignment is still the exact optimum."""
    rng = np.random.default_rng(11)
    n = 120_000
    cost = np.column_stack([rng.uniform(0, 600, n), rng.uniform(0, 600, n)])
    cap = np.array([n // 3, n - n // 3])  # exactly enough places: everyone is served
    choice = assign_min_cost(cost, cap, np.full(n, np.inf))
    assert (choice >= 0).all() and np.bincount(choice, minlength=2).tolist() == cap.tolist()
    # independent optimum: the n // 3 orders that gain most from node 0 go there
    gain = cost[:, 1] - cost[:, 0]
    best = cost[:, 1].sum() - np.sort(gain)[::-1][: cap[0]].sum()
    assert cost[np.arange(n), choice].sum() == pytest.approx(best, abs=n / (2 * 1e6))
