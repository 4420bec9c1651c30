"""Per-day capacity surge (issue #14, nodes.surge, sim/engine/surge.py): pickers by hand, the day's capacities
on a toy promotion day and back the next day, off == the engine before, and a surge that serves more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine.simulation import Simulation
from sim.engine.store import StoreOps
from sim.engine.surge import surge_counts
from sim.run import prepare, simulate

ROOT = Path(__file__).resolve().parents[3]
TOY = ROOT / "scenarios" / "toy.yaml"
DAY = 86400.0
# a promotion on day 3 (2026-11-05 from the toy's start, 2026-11-02) of a 2-warm-up + 2-measured-day run
PROMO = [
    "horizon.days=2",
    "horizon.warmup_days=2",
    "horizon.start_date=2026-11-02",
    "demand.orders_per_day=600",
    "catalog.n_skus=80",
    'demand.promotions=[{"name": "peak", "date": "2026-11-05", "multiplier": 3.0}]',
]


def test_surge_counts_round_and_keep_a_node_open() -> None:
    assert surge_counts(np.array([6, 0, 1, 3]), 3.0).tolist() == [18, 0, 3, 9]
    assert surge_counts(np.array([6, 0, 1, 3]), 0.1).tolist() == [1, 0, 1, 1]  # never closes a node
    assert surge_counts(np.array([60.0, 40.0]), 1.5).tolist() == [90.0, 60.0]


def test_set_pickers_by_hand() -> None:
    ops = object.__new__(StoreOps)  # only the picker matrix is involved
    ops.picker_free = np.array([[0.0, 500.0, np.inf], [900.0, np.inf, np.inf]])
    ops.set_pickers(np.array([1, 4]), 100.0)
    # store 0 keeps picker 0 (free at 0) and drops picker 1 (its pick in hand ended at 500, it takes no more);
    # store 1 keeps picker 0 busy until 900 and gains three, free at t = 100 (the matrix widens to 4)
    assert ops.picker_free.shape == (2, 4)
    assert ops.picker_free[0].tolist() == [0.0, np.inf, np.inf, np.inf]
    assert ops.picker_free[1].tolist() == [900.0, 100.0, 100.0, 100.0]
    ops.set_pickers(np.array([1, 1]), 200.0)  # back to base: extra pickers leave
    assert np.isfinite(ops.picker_free).sum(axis=1).tolist() == [1, 1]


def test_surge_holds_on_the_promotion_day_only() -> None:
    sc = prepare(TOY, overrides=[*PROMO, "nodes.surge.promotion_multiplier=3"])
    sim = Simulation(sc, seed=sc.seed, replication=0, days=2, policy=sc.policy, router=sc.router.name)
    assert sim.surge is not None
    base_st = np.isfinite(sim.ops.picker_free).sum(axis=1).copy()
    base = (sim.fdc_pickers.copy(), np.asarray(sim.waves.vans).copy(), sim.parcels.outbound.copy())
    for day, m in ((2, 1), (3, 3), (4, 1)):  # 2026-11-04, the peak 11-05, 11-06
        sim.surge.apply(sim, day)
        assert np.isfinite(sim.ops.picker_free).sum(axis=1).tolist() == (base_st * m).tolist()
        assert sim.fdc_pickers.tolist() == (base[0] * m).tolist()
        assert np.asarray(sim.waves.vans).tolist() == (base[1] * m).tolist()
        assert sim.parcels.outbound.tolist() == (base[2] * m).tolist()


def test_no_surge_is_the_engine_before(tmp_path: Path) -> None:
    sc = prepare(TOY, overrides=PROMO)
    assert (
        Simulation(sc, seed=sc.seed, replication=0, days=2, policy=sc.policy, router=sc.router.name).surge
        is None
    )


@pytest.fixture(scope="module")
def peak_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("surge")
    out = {}
    for name, m in (("off", 1), ("x3", 3)):
        out[name] = base / name
        # tight capacities so the peak is capacity-bound: 1 picker per store, 2 FDC pickers and vans, 150 parcels
        sets = [
            *PROMO,
            "nodes.stores.capacity.pickers=1",
            "nodes.fdcs.capacity.pickers=2",
            "nodes.fdcs.capacity.vans=2",
            "nodes.ndcs.capacity.outbound_per_day=150",
            f"nodes.surge.promotion_multiplier={m}",
        ]
        simulate(TOY, out=out[name], overrides=sets, report=False)
    return out


def test_surge_serves_more_on_the_peak_and_changes_nothing_before_it(peak_runs: dict[str, Path]) -> None:
    o = {k: pd.read_parquet(p / "orders.parquet") for k, p in peak_runs.items()}
    day = {k: np.floor(v.created_s / DAY) for k, v in o.items()}
    before = {k: v[day[k] < 3].reset_index(drop=True) for k, v in o.items()}
    # days before the surge are simulated identically (the surge starts at 00:00 of the peak)
    done_before = {k: v[v.delivered_s < 3 * DAY] for k, v in before.items()}
    pd.testing.assert_frame_equal(done_before["off"], done_before["x3"])
    served = {k: int((v[day[k] == 3].status == "delivered").sum()) for k, v in o.items()}
    assert served["x3"] > served["off"]
    # picker hours on shift count the surge crew: store pickers' available seconds grow by the peak day's extra
    n = {k: pd.read_parquet(p / "nodes.parquet") for k, p in peak_runs.items()}
    st = {k: v[v.kind == "store"].pickers_available_s.sum() for k, v in n.items()}
    assert st["x3"] == pytest.approx(st["off"] * 2)  # measured days 11-04 (x1) and 11-05 (x3): (1 + 3) / 2
