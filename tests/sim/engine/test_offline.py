"""Offline sales at shops and the online view's sync lag (issue #14, sim/engine/offline.py): the oversell rate
of a small case against a hand computation, the counter draw against its expectation, and toy runs
(lag 0 never oversells; the books balance with the counter's flow)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sim.engine.offline import OfflineSales, oversell
from sim.inventory.state import InventoryState
from sim.rng import RandomStreams
from sim.run import simulate
from sim.units import DAY, HOUR

ROOT = Path(__file__).resolve().parents[3]
TOY = ROOT / "scenarios" / "toy.yaml"
SMALL = [
    "horizon.days=1",
    "horizon.warmup_days=2",
    "demand.orders_per_day=400",
    "catalog.n_skus=80",
    "router.epoch_s=300",
]
EPOCH = 60.0


def _cells_case(sync_s: float, n: int = 50, delay_s: float = 120.0) -> tuple[int, int]:
    """n shelf cells (stores) of one SKU holding one unit each; cell i sells its unit over the counter at
    a_i = 60 i + 30 s and gets an online order for one unit at a_i + delay_s. Epochs every 60 s: the counter
    sales due are applied, then the orders of the epoch are routed to their cell if the online view shows a
    free unit, then the oversell step. Returns (orders routed to their cell, orders oversold)."""
    inv = InventoryState(n, 1, np.array([np.inf]), offline=True)
    inv.on_hand[:, 0] = 1
    off = OfflineSales(
        np.arange(n), np.ones(n), np.full(24, 1 / 24), np.zeros(n), np.full(n, DAY), sync_s, (n, 1)
    )
    off.t = 60.0 * np.arange(n) + 30.0
    off.node, off.sku = np.arange(n), np.zeros(n, np.int64)
    order_t = off.t + delay_s
    sim = SimpleNamespace(offline=off, inv=inv, book=SimpleNamespace(oversold=np.zeros(n, bool)))
    routed = 0
    for k in range(1, n + 10):
        t = k * EPOCH
        off.apply(t, inv)
        now = np.flatnonzero(
            (order_t > t - EPOCH) & (order_t <= t)
        )  # created in this epoch, routed at its end
        cells = now[inv.on_hand[now, 0] - inv.reserved[now, 0] >= 1]  # what the router sees: the online view
        if not cells.size:
            continue
        m = cells.size
        one = np.ones(m, np.int64)
        ep = SimpleNamespace(
            idx=cells,
            p_row=np.arange(m),
            p_node=cells,
            p_tier=np.zeros(m, np.int64),
            n_lines=one,
            pair=np.arange(m),
            sku=np.zeros(m, np.int64),
            qty=one,
        )
        chosen = oversell(sim, ep, np.arange(m))  # type: ignore[arg-type]
        ok = cells[chosen >= 0]
        routed += cells.size
        inv.reserve(ok, np.zeros(ok.size, np.int64), np.ones(ok.size, np.int64), np.full(ok.size, t))
        inv.apply_picks(t + 1.0)
        assert (inv.on_hand - off.unsynced >= inv.reserved).all()  # the shelf never owes a reserved unit
    off.sync(inv)
    assert (inv.on_hand >= 0).all() and inv.sold_offline.sum() == n  # every counter sale found its unit
    return routed, int(sim.book.oversold.sum())


def test_positive_lag_oversells_at_the_hand_computed_rate() -> None:
    # A sale at 60 i + 30 is applied at epoch E = 60 (i + 1); the view learns it at the first multiple of 300 at or
    # after E (the sync follows the sales of that epoch). The order, created at 60 i + 150, is routed at E + 120.
    # E mod 300 cycles through 60, 120, 180, 240, 0: the view still shows the unit at E + 120 when the sync is
    # more than 120 s away, i.e. for E mod 300 = 60 (sync 240 s later) and 120 (180 s): 2 cells in 5 oversell.
    routed, oversold = _cells_case(sync_s=300.0)
    assert (
        oversold == 20 and routed == 20
    )  # 50 cells x 2 / 5; the others see an empty view and are not routed
    # a lag longer than the delay: every order is routed to a unit sold 2 minutes earlier
    assert _cells_case(sync_s=3600.0)[1] == 50 - _late_syncs(3600.0) > 40


def _late_syncs(sync_s: float) -> int:
    """Cells whose sale the view learns before their order is routed (sync at a multiple of sync_s in between)."""
    e = 60.0 * (np.arange(50) + 1)
    visible = np.ceil(e / sync_s) * sync_s
    return int((visible <= e + 120.0).sum())


def test_lag_zero_never_oversells() -> None:
    routed, oversold = _cells_case(sync_s=0.0)
    assert oversold == 0 and routed == 0  # the view shows the empty shelf at once


def test_counter_draw_matches_its_expectation() -> None:
    """A day's counter sales: Poisson(s / (1 - s) x rate) units, SKUs in proportion to the rate, inside the
    store's hours by the profile."""
    n_nodes, share = 3, 0.4
    rate = np.zeros((n_nodes, 4))
    rate[1] = [1000.0, 500.0, 300.0, 200.0]  # store node 1; nodes 0 and 2 are not stores here
    profile = np.zeros(24)
    profile[[9, 10, 18]] = [1.0, 1.0, 2.0]
    off = OfflineSales(
        np.array([1]),
        np.array([share / (1 - share)]),
        profile / profile.sum(),
        np.array([9.5 * HOUR]),
        np.array([20 * HOUR]),
        300.0,
        (n_nodes, 4),
    )
    import datetime as dt

    off.draw_day(RandomStreams(7, 0), dt.date(2026, 11, 1), 2, rate, np.array([0]), ["C"])
    n = off.t.size
    mean = 2000.0 * share / (1 - share)
    assert abs(n - mean) < 4 * np.sqrt(mean)
    assert (off.node == 1).all() and np.all(np.diff(off.t) >= 0)
    tod = off.t - 2 * DAY
    assert tod.min() >= 9.5 * HOUR and tod.max() < 20 * HOUR
    # hour 9 is open half the hour: weights 0.5, 1, 2 -> shares 1/7, 2/7, 4/7
    got = np.array([(tod // HOUR == h).mean() for h in (9, 10, 18)])
    assert np.allclose(got, [1 / 7, 2 / 7, 4 / 7], atol=0.04)
    assert np.allclose(np.bincount(off.sku, minlength=4) / n, rate[1] / 2000.0, atol=0.03)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("offline")
    out = {}
    for name, sets in (
        ("lag0", ["nodes.stores.offline.sync_s=0"]),
        ("off", ["nodes.stores.offline.enabled=false"]),
    ):
        out[name] = base / name
        simulate(TOY, out=out[name], overrides=[*SMALL, *sets], report=False)
    return out


def test_lag_zero_never_oversells_on_the_toy_and_the_books_balance(runs: dict[str, Path]) -> None:
    o = pd.read_parquet(runs["lag0"] / "orders.parquet")
    assert not o["oversold"].any()
    inv = pd.read_parquet(runs["lag0"] / "inventory.parquet")
    assert inv["sold_offline"].sum() > 0
    flow = (
        inv["start"]
        + inv["received"]
        - inv["shipped"]
        - inv["transferred_out"]
        - inv["spoiled"]
        - inv["sold_offline"]
    )
    assert (flow == inv["end"]).all()
    nodes = pd.read_parquet(runs["lag0"] / "nodes.parquet")
    kind = inv["node_id"].map(dict(zip(nodes["id"], nodes["kind"], strict=True)))
    assert (inv.loc[kind != "store", "sold_offline"] == 0).all()  # only shops sell over a counter
    off = pd.read_parquet(runs["off"] / "orders.parquet")
    assert "oversold" not in off.columns
    assert "sold_offline" not in pd.read_parquet(runs["off"] / "inventory.parquet").columns


def test_a_cell_named_by_several_short_lines_is_synced_once() -> None:
    """The oversell step reports each short line's cell; two orders short on one shelf name it twice. The
    sync sells the cell's unsynced units once (found at national volume: a store's stock went to -4)."""
    inv = InventoryState(2, 3, np.full(3, np.inf), offline=True)
    inv.on_hand[1, 2] = 10
    off = OfflineSales(
        np.array([1]), np.ones(1), np.full(24, 1 / 24), np.zeros(1), np.full(1, DAY), 300.0, (2, 3)
    )
    off.unsynced[1, 2], off.n_unsynced = 7, 7
    off.sync(inv, (np.array([1, 1]), np.array([2, 2])))
    assert inv.on_hand[1, 2] == 3 and inv.sold_offline[1, 2] == 7
    assert off.unsynced[1, 2] == 0 and off.n_unsynced == 0
