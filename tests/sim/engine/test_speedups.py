"""Speed-ups that must not change a single output (issue #19): parked orders, the riders' plan cache,
the exact float floor division."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import sim.engine.option_build as ob
from sim.engine.simulation import Simulation
from sim.io.scenario import load_scenario
from sim.units import DAY, HOUR, floor_div

TOY = Path(__file__).resolve().parents[3] / "scenarios" / "toy.yaml"
# stores that run full: few riders on shift, pool riders with reach and handover, the flow router
BUSY = [
    "nodes.stores.capacity.riders=2",
    "horizon.warmup_days=2",
    "nodes.stores.trip.return_to=pool",
    "nodes.stores.capacity.rider_reach_s=360",
    "nodes.stores.capacity.rider_handover_s=150",
    "nodes.stores.trip.travel_cv=0.25",
    "tiers.near.quote=eta",
    "tiers.near.quote_buffer_min=10",
]


def run(monkeypatch: pytest.MonkeyPatch, park: bool) -> tuple[Simulation, int]:
    parked = [0]
    real = ob.park

    def counting(*a: object) -> np.ndarray:
        out = real(*a)  # type: ignore[arg-type]
        parked[0] += int(out.sum())
        return out

    monkeypatch.setattr(ob, "park", counting)
    monkeypatch.setattr(ob, "may_park", lambda sim: park and sim.explain is None)
    sc = load_scenario(TOY, BUSY)
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy="top_n(n=120)", router="flow")
    sim.run()
    return sim, parked[0]


def test_parking_changes_no_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    # two whole toy runs (~8 s on one core): parking is exact only if the whole run agrees, order by order
    a, n_parked = run(monkeypatch, park=True)
    b, none = run(monkeypatch, park=False)
    assert n_parked > 500 and none == 0  # the scenario really parks orders
    for f in (
        "status",
        "node",
        "served_tier",
        "promised_s",
        "delivered_s",
        "pick_start_s",
        "downgraded",
        "cost_transport",
        "cost_handling",
        "cost_penalty",
    ):
        assert np.array_equal(getattr(a.book, f), getattr(b.book, f), equal_nan=True), f
    assert np.array_equal(a.inv.on_hand, b.inv.on_hand)
    assert a.stats.repairs == b.stats.repairs and a.stats.epochs == b.stats.epochs


def test_floor_div_is_numpy_floor_division() -> None:
    rng = np.random.default_rng(3)
    edges = np.arange(1, 24 * 30) * HOUR
    x = np.concatenate(
        [
            rng.uniform(0, 30 * DAY, 100_000),
            edges,
            np.nextafter(edges, 0),
            np.nextafter(edges, np.inf),
            [0.0, 1e-300],
        ]
    )
    for d in (60.0, HOUR, DAY):
        assert np.array_equal(floor_div(x, d), x // d)


def test_shift_lookup_equals_the_rule_and_is_monotone() -> None:
    """``Shifts.available`` (max of the free time and the start of the next hour on shift) gives the rule's times:
    the free time in an hour on shift, else the start of the rider's next hour on shift, inf when none; and a call
    at `at` is the max of the rider's own time and ``available_at`` (what ``StoreOps`` keeps per rider)."""
    from sim.engine.staffing import Shifts, next_on_shift

    rng = np.random.default_rng(3)
    count = rng.integers(0, 4, (5, 30))
    sh = Shifts(count, next_on_shift(count, 3))
    free = rng.uniform(0, 31 * HOUR, (5, 3))
    free[0, 2] = np.inf
    free[1, 0] = 7 * HOUR  # an hour boundary
    rows = np.arange(5)
    want = np.empty_like(free)
    for s in range(5):
        for j in range(3):
            x = free[s, j]
            hs = [h for h in range(int(x // HOUR) if np.isfinite(x) else 30, 30) if count[s, h] > j]
            want[s, j] = np.inf if not hs else (x if hs[0] == x // HOUR else hs[0] * HOUR)
    assert np.array_equal(sh.available(free, rows), want)
    at = rng.uniform(0, 31 * HOUR, 5)
    direct = sh.available(np.maximum(free, at[:, None]), rows)
    assert np.array_equal(direct, np.maximum(sh.available(free, rows), sh.available_at(at, rows)))
    assert np.array_equal(
        sh.available(np.maximum(free, at[0]), rows),
        np.maximum(sh.available(free, rows), sh.available_all_at(float(at[0]))),
    )


def test_grouped_pairs_and_earlier_share_equal_their_sorts() -> None:
    """Candidate pairs built in place equal the stable sort by order of stores, FDCs and NDCs; the earlier share
    with orders in sequence (a stable sort by group) equals the lexsort of (group, order)."""
    from types import SimpleNamespace

    from sim.engine.options import Candidates

    rng = np.random.default_rng(5)
    Z, N = 12, 9
    covers = rng.random((Z, N)) < 0.4
    km = rng.uniform(0.5, 9.0, (Z, N))
    cand = (Candidates.build(covers, km, np.arange(0, 6)), Candidates.build(covers, km, np.arange(6, 8)))
    sim = SimpleNamespace(cand=cand, ndcs=np.array([8]))
    zone = rng.integers(0, Z, 40)
    r_s, n_s = cand[0].expand(zone)
    r_f, n_f = cand[1].expand(zone)
    rows = np.concatenate([r_s, r_f, np.arange(zone.size)])
    nodes = np.concatenate([n_s, n_f, np.full(zone.size, 8)])
    o = np.argsort(rows, kind="stable")
    p_row, p_node = ob._grouped_pairs(sim, zone)  # type: ignore[arg-type]
    assert np.array_equal(p_row, rows[o]) and np.array_equal(p_node, nodes[o])
    group, w = rng.integers(0, 4, p_row.size), rng.integers(1, 8, p_row.size) / 4.0  # exact sums
    shuffled = rng.permutation(p_row.size)
    assert np.array_equal(
        ob.earlier_share(group, p_row, w)[shuffled],
        ob.earlier_share(group[shuffled], p_row[shuffled], w[shuffled]),  # out of sequence: the lexsort
    )


def test_plan_cache_with_a_city_pool_equals_planning_afresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a shared pool a dispatch at one store changes the riders another store's open batch planned with: the
    cached plans must give what planning every batch afresh gives, order by order."""
    from sim.engine.store import StoreOps

    sc = load_scenario(TOY, BUSY + ["nodes.stores.staffing.pool=city"])  # ~6 s on one core: two busy toy days

    def outcome() -> tuple[np.ndarray, ...]:
        s = Simulation(sc, seed=sc.seed, replication=0, days=1, policy="top_n(n=120)", router="flow")
        s.run()
        b = s.book
        return b.status.copy(), b.node.copy(), b.delivered_s.copy()

    cached = outcome()
    real = StoreOps._planned

    def afresh(self: StoreOps, s: np.ndarray, batch: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        self._plan_ok[:] = False
        return real(self, s, batch)

    monkeypatch.setattr(StoreOps, "_planned", afresh)
    fresh = outcome()
    for a, b in zip(cached, fresh, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


def _marginal_cost_by_fdc(
    w: object, g: int, expected_more: np.ndarray, mean_order_l: float, mean_km: np.ndarray
) -> tuple:
    """``Waves.marginal_cost`` as it was written first: one FDC at a time (the reference of the grid form)."""
    from scipy.special import gammaln

    from sim.engine.warehouse import BHH

    used = w.used.get(g, np.zeros(len(w.vans), np.int64))  # type: ignore[attr-defined]
    base, stem = np.zeros(len(w.vans)), np.zeros(len(w.vans))  # type: ignore[attr-defined]
    for f in range(len(w.vans)):  # type: ignore[attr-defined]
        mu = max(float(expected_more[f]), 0.0)
        k = np.arange(int(np.ceil(mu + 8.0 * np.sqrt(mu) + 8.0)))
        p = np.exp(k * np.log(mu) - mu - gammaln(k + 1)) if mu > 0 else (k == 0).astype(float)
        p /= p.sum()
        n = float(used[f]) + k
        v0 = w.vans_for(f, g, n, mean_order_l, mean_km)  # type: ignore[attr-defined]
        v1 = w.vans_for(f, g, n + 1, mean_order_l, mean_km)  # type: ignore[attr-defined]
        tour = BHH * w.circuity * w.reach[f] * np.sqrt(np.pi) * (np.sqrt(n + 1) - np.sqrt(n))  # type: ignore[attr-defined]
        d = w.per_stop + w.per_km * (2.0 * float(mean_km[f]) * (v1 - v0) + tour)  # type: ignore[attr-defined]
        base[f], stem[f] = float(p @ d), float(p @ (2.0 * v1 / (n + 1)))
    return base, stem


def test_marginal_cost_grid_equals_one_fdc_at_a_time() -> None:
    """The (FDC, k) grid gives the same floats as the loop over FDCs, bit for bit (zero, tiny and large
    expected demand, used waves, both van dispatch rules); a mis-padded row or a sum over the padding fails."""
    from sim.engine.warehouse import VanFleet, Waves

    rng = np.random.default_rng(1)
    for trial in range(120):
        F = int(rng.integers(1, 9))
        fleet = VanFleet(
            rng.integers(1, 20, F),
            rng.uniform(500, 3000, F),
            rng.uniform(20, 40, F),
            rng.uniform(60, 300, F),
            np.zeros(F),
            np.zeros(F),
            rng.uniform(3, 30, F),
            1.3,
            2.0,
            3.0,
        )
        w = Waves(
            np.array([10 * HOUR, 16 * HOUR]),
            np.array([[11 * HOUR, 13 * HOUR], [17 * HOUR, 19 * HOUR]]),
            fleet,
            vans_as_needed=bool(trial % 2),
        )
        if trial % 3:
            w.used[1] = rng.integers(0, 300, F)
        em = rng.choice([0.0, 0.5, 3.0, 40.0, 900.0, -1.0], F) * rng.uniform(0.5, 1.5, F)
        km = rng.uniform(2, 20, F)
        want, got = _marginal_cost_by_fdc(w, 1, em, 25.0, km), w.marginal_cost(1, em, 25.0, km)
        assert np.array_equal(want[0], got[0]) and np.array_equal(want[1], got[1])


def test_poisson_and_normal_quantiles_equal_scipy_stats() -> None:
    """The newsvendor's Poisson quantile and the forecast's normal quantile, computed without importing
    scipy.stats, equal scipy.stats' own (every float)."""
    from scipy.stats import norm, poisson

    from sim.demand.forecast import sigma_for_wape
    from sim.inventory.perishables import poisson_ppf

    rng = np.random.default_rng(0)
    mu = np.concatenate([rng.exponential(5, 3000), rng.exponential(500, 300), [1e-9, 1.0, 2.0, 100.0]])
    for q in (0.01, 0.5, 0.6, 0.9, 0.95, 0.99, 0.0, 1.0):
        assert np.array_equal(poisson.ppf(q, mu), poisson_ppf(q, mu), equal_nan=True)
    for wape in np.linspace(0.0, 1.99, 200):
        assert sigma_for_wape(float(wape)) == float(2.0 * norm.ppf((1.0 + wape / 2.0) / 2.0))
