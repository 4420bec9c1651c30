"""Inventory theory at a single node, against an event simulation (DESIGN.md section 12).

The simulation is built at the inventory level — ``sim.inventory.state.InventoryState`` arrays (on
hand, reserved, pipeline), ``sim.inventory.replenishment.plan_replenishment`` (order-up-to on the
inventory position, from a supplier node with unlimited stock) and its ``Pipeline`` — not by
driving the full engine: the engine's routing, downgrade offers (a stock-out there sends the
order to another tier) and day-boundary reviews would get in the way of the textbook systems.
Demand is a Poisson process of single units; randomness only from ``sim.rng.RandomStreams``
(one stream per replication).

1. Lost sales, one-for-one replenishment (continuous review, base stock S, lead time L): Palm's
   theorem makes the number of outstanding orders an M/G/S/S (Erlang loss) system, so the fill
   rate is 1 - ErlangB(S, lambda L).
2. Backorders, periodic review R, order-up-to S, lead time L: cycle service level
   P(D_{R+L} <= S) (no backorders when the next order arrives) and fill rate
   1 - (E[(D_{R+L} - S)^+] - E[(D_L - S)^+]) / (lambda R), Poisson over R + L.
Each must lie inside the 99% Student-t confidence interval of >= 20 replications; the policy
module's own formulas (``sim.policies.stock_math``) must equal the theory.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.inventory.replenishment import Pipeline, plan_replenishment
from sim.inventory.state import InventoryState
from sim.policies.stock_math import DemandModel, cycle_level, fill_rate
from sim.rng import RandomStreams
from sim.units import DAY

REPS = 20
SUPPLIER, NODE = 0, 1


def erlang_b(s: int, a: float) -> float:
    """Erlang B blocking probability by the stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, s + 1):
        b = a * b / (k + a * b)
    return b


def poisson_loss(s: int, mu: float) -> float:
    """E[(D - s)^+] for D ~ Poisson(mu), summed directly from the pmf."""
    d = np.arange(0, int(mu + 40 * math.sqrt(mu + 1) + s + 50))
    return float((np.maximum(d - s, 0) * stats.poisson.pmf(d, mu)).sum())


def ci99(x: list[float]) -> tuple[float, float]:
    a = np.asarray(x)
    half = stats.t.ppf(0.995, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return float(a.mean() - half), float(a.mean() + half)


class Node:
    """One node fed by an unlimited supplier through InventoryState / plan_replenishment / Pipeline."""

    def __init__(self, s: int, lead_s: float) -> None:
        self.inv = InventoryState(2, 1, np.array([np.inf]))
        self.inv.receive(np.array([SUPPLIER]), np.array([0]), np.array([10**12]), from_pipeline=False)
        self.inv.receive(np.array([NODE]), np.array([0]), np.array([s]), from_pipeline=False)
        self.pipe = Pipeline()
        self.s = s
        self.lead = np.array([0.0, lead_s])

    def arrivals(self, t: float) -> int:
        if self.pipe.next_arrival() > t:
            return 0
        a = self.pipe.arrivals(t)
        self.inv.receive(a.node, a.sku, a.qty, from_pipeline=True)
        return int(a.qty.sum())

    def available(self) -> int:
        return int(self.inv.available(np.array([NODE]), np.array([0]))[0])

    def take(self, t: float, qty: int) -> None:
        """Units leave the shelf now (reserved and picked at t)."""
        one = np.array([NODE])
        self.inv.reserve(one, np.array([0]), np.array([qty]), np.array([t]))
        self.inv.apply_picks(t + 1e-6)

    def review(self, t: float, backlog: int = 0) -> None:
        """Order up to S on the inventory position net of the backlog (targets S + backlog)."""
        targets = np.array([[0], [self.s + backlog]])
        ship, _ = plan_replenishment(
            self.inv,
            targets,
            np.array([-1, 0]),
            np.array([0, 1]),
            np.array([1.0]),
            np.array([np.inf, np.inf]),
            np.zeros(2),
            np.zeros(2),
            self.lead,
            t,
        )
        self.pipe.add(ship)


def lost_sales_fill(
    s: int, lam_per_day: float, lead_days: float, days: float, warmup_days: float, rep: int
) -> float:
    rng = RandomStreams(2026, rep).get("validation.palm.arrivals")
    times = np.sort(rng.uniform(0.0, days * DAY, rng.poisson(lam_per_day * days)))
    node = Node(s, lead_days * DAY)
    served = demanded = 0
    for t in times.tolist():
        node.arrivals(t)
        ok = node.available() > 0
        if ok:
            node.take(t, 1)
            node.review(t)  # one-for-one: the position fell by one, order one unit
        if t >= warmup_days * DAY:
            demanded += 1
            served += ok
    return served / demanded


@pytest.mark.slow
def test_palm_lost_sales_fill_rate_is_one_minus_erlang_b():
    S, LAM, L = 5, 4.0, 1.0  # lambda L = 4 units outstanding on average
    theory = 1.0 - erlang_b(S, LAM * L)
    fills = [lost_sales_fill(S, LAM, L, days=500.0, warmup_days=10.0, rep=r) for r in range(REPS)]
    lo, hi = ci99(fills)
    assert lo <= theory <= hi, (
        f"1 - ErlangB({S}, {LAM * L}) = {theory:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"
    )
    assert abs(np.mean(fills) - theory) < 0.02


def backorder_run(
    s: int, lam_per_day: float, review_days: int, lead_days: int, periods: int, warmup: int, rep: int
) -> tuple[float, float]:
    """(fill rate, share of cycles ending without backorders) of a periodic-review order-up-to S."""
    rng = RandomStreams(2026, rep).get("validation.periodic.arrivals")
    R = review_days * DAY
    node = Node(s, lead_days * DAY)
    backlog = 0
    served = demanded = cycles = clean = 0
    for k in range(periods):
        t0 = k * R
        if k >= warmup + lead_days // review_days:  # net inventory just before the arrival that ends a cycle
            cycles += 1
            clean += backlog == 0
        node.arrivals(t0)
        pay = min(backlog, node.available())
        if pay:
            node.take(t0, pay)
            backlog -= pay
        node.review(t0, backlog)
        n = rng.poisson(lam_per_day * review_days)
        for t in np.sort(t0 + rng.uniform(0.0, R, n)).tolist():
            ok = node.available() > 0
            if ok:
                node.take(t, 1)
            else:
                backlog += 1
            if k >= warmup:
                demanded += 1
                served += ok
    return served / demanded, clean / cycles


@pytest.mark.slow
def test_periodic_review_backorders_match_poisson_over_review_plus_lead():
    S, LAM, R, L = 12, 3.0, 1, 2
    mu_l, mu_r = LAM * L, LAM * R
    csl = float(stats.poisson.cdf(S, mu_l + mu_r))
    fill = 1.0 - (poisson_loss(S, mu_l + mu_r) - poisson_loss(S, mu_l)) / mu_r
    runs = [backorder_run(S, LAM, R, L, periods=1500, warmup=20, rep=r) for r in range(REPS)]
    lo, hi = ci99([f for f, _ in runs])
    assert lo <= fill <= hi, f"fill rate {fill:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"
    lo, hi = ci99([c for _, c in runs])
    assert lo <= csl <= hi, f"cycle service {csl:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"
    # the policies' own formulas are the same theory
    model = DemandModel("poisson")
    assert float(
        fill_rate(model, np.array([S]), np.array([mu_l]), np.array([mu_l + mu_r]))[0]
    ) == pytest.approx(fill, abs=1e-10)
    assert int(cycle_level(model, csl - 1e-9, np.array([mu_l + mu_r]))[0]) == S
    assert int(cycle_level(model, csl + 1e-9, np.array([mu_l + mu_r]))[0]) == S + 1


def test_erlang_b_recursion_matches_the_closed_form():
    for s, a in ((1, 0.5), (5, 4.0), (10, 7.5)):
        closed = (a**s / math.factorial(s)) / sum(a**k / math.factorial(k) for k in range(s + 1))
        assert erlang_b(s, a) == pytest.approx(closed, rel=1e-12)
