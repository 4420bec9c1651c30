"""Fresh cross-docked at the FDC (issue #14, ``inventory.fresh.cross_dock``): a store's fresh leaves the NDC at the
review and passes through its FDC the same day (never on the FDC's books), the FDC holds fresh for its own tier
only, the NDC's supplier delivers overnight; by hand on a three-node chain, and on the toy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.inventory.perishables import FreshFlow, SellThrough, cap_fresh_targets, fresh_supplier, unfilled
from sim.inventory.replenishment import plan_replenishment
from sim.inventory.state import InventoryState
from sim.run import simulate
from sim.units import DAY, HOUR

ROOT = Path(__file__).resolve().parents[2]
# nodes: 0 NDC, 1 FDC (from 0), 2 store (from 1), 3 store straight from the NDC
SUPPLIER = np.array([-1, 0, 1, 0])
KIND = np.array([0, 1, 2, 2])
LEAD = np.array([0.0, 10 * HOUR, 4 * HOUR, 12 * HOUR])
LEVEL = np.where(KIND == 1, 0, 1)


def _plan(cross: bool, carry_age: bool = False) -> tuple[InventoryState, object, float]:
    inv = InventoryState(4, 2, np.array([4.0, np.inf]))  # SKU 0 fresh, SKU 1 not
    inv.carry_age = carry_age
    inv.receive(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([20, 50, 30]), from_pipeline=False)
    if carry_age:  # 6 of the NDC's fresh units are 2 days old
        inv.cohorts[:, 0, 0] = [14, 0, 6, 0]
    targets = np.zeros((4, 2), np.int64)
    targets[1] = [3, 40]  # the FDC asks 3 fresh (its own tier) + 10 non-fresh
    targets[2] = [5, 8]  # the store below the FDC: 5 fresh, 8 non-fresh
    targets[3] = [2, 0]
    ship, cost = plan_replenishment(
        inv,
        targets,
        SUPPLIER,
        LEVEL,
        volume_l=np.array([1000.0, 1000.0]),  # 1 m3 a unit: trucks of 4 m3 count units
        truck_capacity_m3=np.full(4, 4.0),
        truck_fixed_cny=np.array([0.0, 100.0, 10.0, 50.0]),
        truck_per_unit_cny=np.array([0.0, 1.0, 0.5, 2.0]),
        lead_time_s=LEAD,
        now_s=3 * DAY,
        cross_dock=np.array([True, False]) if cross else None,
    )
    return inv, ship, cost


def test_a_stores_fresh_passes_through_its_fdc_by_hand() -> None:
    inv, ship, cost = _plan(cross=True)
    rows = {
        (int(n), int(s)): (int(q), float(a))
        for n, s, q, a in zip(ship.node, ship.sku, ship.qty, ship.arrive_s, strict=True)
    }
    # the store's 5 fresh come from the NDC, after both lanes (10 h + 4 h); its non-fresh from the FDC (4 h)
    assert rows[(2, 0)] == (5, 3 * DAY + 14 * HOUR)
    assert rows[(2, 1)] == (8, 3 * DAY + 4 * HOUR)
    assert rows[(1, 0)] == (3, 3 * DAY + 10 * HOUR) and rows[(1, 1)] == (10, 3 * DAY + 10 * HOUR)
    assert rows[(3, 0)] == (2, 3 * DAY + 12 * HOUR)
    # the NDC gave 3 + 5 + 2 fresh; the FDC's fresh is untouched (never on its books), its non-fresh gave 8
    assert inv.transferred_out[0].tolist() == [10, 10] and inv.transferred_out[1].tolist() == [0, 8]
    assert inv.on_hand[1].tolist() == [0, 22] and inv.pipeline[2].tolist() == [5, 8]
    # trucks (4 m3): FDC lane 13 units -> 4 trucks, +5 cross-docked = 18 -> 5 (one more); store lane 13 -> 4;
    # NDC-store lane 2 -> 1. Per unit: FDC lane 13 + 5 x 1, store lane 13 x 0.5, direct store 2 x 2
    assert cost == pytest.approx(5 * 100 + 18 * 1.0 + 4 * 10 + 13 * 0.5 + 1 * 50 + 2 * 2.0)


def test_without_cross_dock_the_fdc_supplies_its_stores_fresh() -> None:
    inv, ship, cost = _plan(cross=False)
    rows = {(int(n), int(s)): int(q) for n, s, q in zip(ship.node, ship.sku, ship.qty, strict=True)}
    assert rows[(1, 0)] == 3 and (2, 0) not in rows  # the FDC has no fresh on hand yet: the store gets none
    assert inv.transferred_out[0, 0] == 5


def test_cross_docked_units_keep_their_age() -> None:
    inv, ship, _ = _plan(cross=True, carry_age=True)
    # FIFO at the NDC in row order: the FDC's 3 (level 0) take 3 of the 6 old units, then the store 3 old + 2 new
    got = sorted(
        zip(ship.node.tolist(), ship.sku.tolist(), ship.qty.tolist(), ship.origins().tolist(), strict=True)
    )
    assert (1, 0, 3, 1) in got  # day 3 - age 2
    assert (2, 0, 3, 1) in got and (2, 0, 2, 3) in got


def test_fdc_holds_fresh_for_its_own_tier_only() -> None:
    life = np.array([4.0, np.inf])
    fc = np.array([[0, 0], [1.0, 1.0], [2.0, 1.0], [0.5, 1.0]])
    targets = np.array([[0, 0], [30, 30], [8, 8], [3, 3]], np.int64)  # the FDC's 30 include the store's 8
    out = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND, flow=FreshFlow(cross_dock=True))
    # FDC: 30 - 8 = 22, capped at its own 1.0 x 3 days = 3; stores ceil(2 x 3) = 6, ceil(0.5 x 3) = 2
    assert out[:, 0].tolist() == [0, 3, 6, 2]
    assert out[:, 1].tolist() == [0, 30, 8, 3]  # non-fresh untouched
    before = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND)  # echelon: FDC 1 + 2 (its store) -> 9
    assert before[:, 0].tolist() == [0, 9, 6, 2]


def test_fresh_supplier_and_unfilled() -> None:
    assert fresh_supplier(SUPPLIER, KIND).tolist() == [-1, 0, 0, 0]
    targets = np.array([[0], [3], [5], [2]])
    pos = np.array([[0], [1], [2], [2]])
    fresh = np.array([0])
    # the NDC's direct customers: the FDC (gap 2), and with cross-dock the store below it (gap 3)
    assert unfilled(targets, pos, SUPPLIER, np.array([0]), fresh).tolist() == [[2]]
    assert unfilled(targets, pos, fresh_supplier(SUPPLIER, KIND), np.array([0]), fresh).tolist() == [[5]]


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("xdock")
    sets = ["horizon.days=2", "horizon.warmup_days=2", "demand.orders_per_day=600", "catalog.n_skus=80"]
    out = {}
    for name, extra in (
        ("on", ["inventory.fresh.carry_age=true"]),
        ("off", ["inventory.fresh.cross_dock=false"]),
    ):
        out[name] = base / name
        simulate(ROOT / "scenarios" / "toy.yaml", out=out[name], overrides=[*sets, *extra], report=False)
    return out


def test_toy_fdcs_hand_no_fresh_to_stores_and_stores_get_it_young(toy_runs: dict[str, Path]) -> None:
    """With cross-dock (and ages carried; the run's invariants, the fresh-age one included, held), FDCs pass no
    fresh unit to their stores from their own stock; without it they do."""
    from sim.catalog import build_catalog
    from sim.io.scenario import load_scenario

    for name, expect_fdc_out in (("on", False), ("off", True)):
        run = toy_runs[name]
        cat = build_catalog(load_scenario(run / "scenario.yaml"))
        fresh = np.flatnonzero(np.isfinite(cat.shelf_life_s))
        inv = pd.read_parquet(run / "inventory.parquet")
        kind = pd.read_parquet(run / "nodes.parquet").set_index("id")["kind"]
        f = inv[inv["sku"].isin(fresh)]
        fdc_out = int(f.loc[f["node_id"].map(kind) == "fdc", "transferred_out"].sum())
        store_in = int(f.loc[f["node_id"].map(kind) == "store", "received"].sum())
        assert store_in > 0
        assert (fdc_out > 0) == expect_fdc_out


def test_sell_through_counts_only_days_with_stock_by_hand() -> None:
    """In-stock sell-through: units shipped per day over the last `window` days on which the node held the SKU
    (start or received > 0); NaN where it held it on none; older days fall out of the window."""
    inv = InventoryState(2, 2, np.array([4.0, np.inf]))
    st = SellThrough(np.array([0]), window=2)
    assert st.rate() is None
    for start, received, shipped in ((5, 0, 3), (0, 0, 0), (2, 4, 5)):  # node 0; node 1 never holds SKU 0
        inv.start[0, 0], inv.received[0, 0], inv.shipped[0, 0] = start, received, shipped
        st.close_day(inv)
    rate = st.rate()
    assert rate is not None
    # window 2: day 2 (no stock: not counted) and day 3 (5 shipped) -> 5 a day; node 1 unknown
    assert rate[0, 0] == 5.0 and np.isnan(rate[1, 0])
    st3 = SellThrough(np.array([0]), window=3)
    st3.days = st.days[:]
    inv.start[0, 0], inv.received[0, 0], inv.shipped[0, 0] = 1, 0, 1
    st3.close_day(inv)
    r3 = st3.rate()
    assert r3 is not None and r3[0, 0] == 3.0  # days 3 and 4 held: (5 + 1) / 2


def test_sell_through_lowers_a_cap_only_below_the_forecast() -> None:
    life = np.array([4.0, np.inf])
    fc = np.array([[0, 0], [10.0, 1.0], [2.0, 1.0], [0.5, 1.0]])
    targets = np.array([[0, 0], [100, 30], [80, 8], [3, 3]], np.int64)
    sold = np.array([[np.nan], [1.5], [np.nan], [np.nan]])  # the FDC sells 1.5 a day of its forecast 10
    out = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND, flow=FreshFlow(cross_dock=True, sold=sold))
    # FDC: 100 - its store's 80 = 20, capped at min(10, 1.5) x 3 days = 5 (at 10 x 3 = 30 it stays 20); the stores
    # keep their forecasts: ceil(2 x 3) = 6, ceil(0.5 x 3) = 2
    assert out[:, 0].tolist() == [0, 5, 6, 2]
    high = np.array([[np.nan], [50.0], [np.nan], [np.nan]])  # selling above the forecast: the forecast holds
    out = cap_fresh_targets(targets, fc, life, SUPPLIER, KIND, flow=FreshFlow(cross_dock=True, sold=high))
    assert out[1, 0] == 20
