"""Fresh stock (inventory.fresh): caps and NDC draw by hand, the fresh-age invariant, and a toy run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.inventory.perishables import (
    cap_fresh_targets,
    echelon_rate,
    fresh_draw,
    newsvendor_cap,
    root_supplier,
    unfilled,
)
from sim.metrics.invariants import check_invariants

ROOT = Path(__file__).resolve().parents[2]
# nodes: 0 NDC, 1 FDC (from 0), 2 and 3 stores (from 1), 4 store straight from the NDC
SUPPLIER = np.array([-1, 0, 1, 1, 0])
KIND = np.array([0, 1, 2, 2, 2])
INF = np.inf


def test_root_and_echelon() -> None:
    assert root_supplier(SUPPLIER).tolist() == [0, 0, 0, 0, 0]
    rate = np.array([[9.0], [1.0], [2.0], [3.0], [4.0]])
    # the FDC carries its stores' demand; the NDC row carries the store it feeds directly (with_downstream)
    assert echelon_rate(rate, SUPPLIER, KIND)[:, 0].tolist() == [13.0, 6.0, 2.0, 3.0, 4.0]


def test_cap_by_shelf_life_and_demand() -> None:
    life = np.array([INF, 4.0, 1.5])  # SKU 0 not fresh; SKU 1 4 days; SKU 2 1.5 days (cap at 1 day's demand)
    fc = np.array([[0, 0, 0], [0, 1.0, 0.5], [5, 2.0, 0.2], [5, 0.3, 0], [5, 1.0, 2.0]])
    targets = np.full((5, 3), 100, np.int64)
    out = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND)
    assert out[:, 0].tolist() == [100] * 5  # non-fresh untouched
    assert out[0].tolist() == [100, 100, 100]  # NDC rows untouched (NDCs are not replenished by targets)
    # SKU 1, 3 days: FDC echelon 1 + 2 + 0.3 = 3.3 -> 10; stores 6, ceil(0.9) = 1, 3
    assert out[1:, 1].tolist() == [10, 6, 1, 3]
    # SKU 2, max(0.5, 1) = 1 day: FDC 0.5 + 0.2 + 0 -> 1; stores ceil(0.2) = 1, 0, 2
    assert out[1:, 2].tolist() == [1, 1, 0, 2]


def test_newsvendor_cap_is_the_poisson_quantile() -> None:
    """The cap k is the smallest with P(Poisson(mean) <= k) >= q: checked against cdf sums by hand."""
    from math import exp, factorial

    def cdf(k: int, m: float) -> float:
        return sum(exp(-m) * m**i / factorial(i) for i in range(k + 1))

    means = np.array([0.0, 0.1, 0.2876, 0.3, 1.0, 2.5, 12.0])
    for q in (0.25, 0.5, 0.9):
        got = newsvendor_cap(means, q)
        for m, k in zip(means, got, strict=True):
            if m == 0:
                assert k == 0
                continue
            assert cdf(int(k), m) >= q - 1e-12
            assert k == 0 or cdf(int(k) - 1, m) < q
    # q = 0.25: exp(-m) >= 0.25 for m <= ln 4 = 1.386: a SKU selling under ~1.4 units in its window is not stocked
    assert newsvendor_cap(np.array([1.38, 1.39]), 0.25).tolist() == [0, 1]


def test_newsvendor_caps_never_exceed_the_mean_rule() -> None:
    """At q = 0.25 the quantile is at most the ceiled mean (a Poisson's lower quartile is below its mean)."""
    life = np.array([INF, 4.0, 1.5])
    fc = np.array([[0, 0, 0], [0, 1.0, 0.5], [5, 2.0, 0.2], [5, 0.3, 0], [5, 1.0, 2.0]])
    targets = np.full((5, 3), 100, np.int64)
    mean_rule = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND)
    nv = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND, critical_ratio=0.25)
    assert (nv <= mean_rule).all() and (nv[:, 0] == 100).all() and (nv[0] == 100).all()
    # SKU 1 at store 3: 0.3 / day x 3 days = 0.9 < ln 4: not stocked, so its FDC's echelon counts only itself and
    # store 2: (1 + 2) x 3 days = 9 -> the lower quartile of Poisson(9), 7 (9.9 with store 3 would give 8)
    assert nv[3, 1] == 0 and nv[1, 1] == newsvendor_cap(np.array([9.0]), 0.25)[0] == 7
    assert newsvendor_cap(np.array([9.9]), 0.25)[0] == 8


def test_draw_counts_only_stocked_forward_demand() -> None:
    fresh = np.array([1, 2])
    rate = np.array([[50, 30, 20], [1, 1.0, 1.0], [1, 2.0, 2.0], [1, 3.0, 3.0], [1, 4.0, 4.0]])
    targets = np.zeros((5, 3), np.int64)
    targets[[1, 2, 4], 1] = 5  # SKU 1 stocked at the FDC, store 2 and store 4; SKU 2 nowhere
    far = np.array([True, False, False])
    d = fresh_draw(targets, rate, SUPPLIER, np.array([0]), far, fresh)
    assert d.tolist() == [[1.0 + 2.0 + 4.0, 0.0]]  # nobody draws SKU 2: the NDC buys none of it
    far2 = np.array([True, False, True])
    assert fresh_draw(targets, rate, SUPPLIER, np.array([0]), far2, fresh).tolist() == [[7.0, 20.0]]
    pos = np.zeros((5, 3), np.int64)
    pos[1, 1], pos[4, 1] = 2, 7
    # direct customers of the NDC: the FDC (5 - 2 = 3) and store 4 (5 - 7 < 0 -> 0); store 2 asks the FDC
    assert unfilled(targets, pos, SUPPLIER, np.array([0]), fresh).tolist() == [[3, 0]]


@pytest.fixture(scope="module")
def toy_records():
    from sim.engine.simulation import Simulation
    from sim.io.scenario import load_scenario

    sc = load_scenario(ROOT / "scenarios" / "toy.yaml", ["horizon.days=1", "demand.orders_per_day=800"])
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=sc.policy, router=sc.router.name)
    return sim, sim.run()


def test_fresh_age_invariant_holds_and_can_fail(toy_records) -> None:
    sim, rec = toy_records
    life = sim.cat.shelf_life_s / 86400.0
    assert np.isfinite(life).any()
    assert check_invariants(rec, drained=True, shelf_life_days=life) == []
    # the same records judged against a one-day shelf life: stock held overnight is older than that
    short = np.where(np.isfinite(life), 1.0, np.inf)
    problems = check_invariants(rec, drained=True, shelf_life_days=short)
    assert len(problems) == 1 and problems[0].startswith("no fresh unit older than its shelf life")


def test_ndc_holds_no_fresh_nobody_draws(toy_records) -> None:
    sim, rec = toy_records
    v = rec.inventory
    fresh = np.isfinite(sim.cat.shelf_life_s)
    df = pd.DataFrame(
        {
            "day": v.day,
            "node": v.node,
            "sku": v.sku,
            "received": v.received,
            "end": v.end,
            "out": v.transferred_out + v.shipped,
        }
    )
    df = df[fresh[df.sku]]
    ndc = np.isin(df.node, sim.ndcs)
    forward_skus = set(df.loc[~ndc & (df.received > 0), "sku"])
    idle = df[ndc & ~df.sku.isin(forward_skus)]
    assert idle.end.sum() == 0  # a fresh SKU no forward node stocks is not bought
    # NDC fresh stock turns well within its 4-day shelf life once forward nodes draw (from day 1)
    nd = df[ndc & (df.day >= 1)]
    assert nd.end.sum() <= 2.5 * nd.out.sum()
