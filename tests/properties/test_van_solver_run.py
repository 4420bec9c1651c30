"""Toy runs with ``router.vans=solver``: invariants hold (checked by `simulate`), the run is deterministic,
and its mid-tier figures sit in a sane range of ``approx``'s (printed; loosely bounded on purpose: the
solver's routes are shorter and its times come from the route, so they differ by design)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.run import simulate
from tests.conftest import SCENARIOS

TOY = SCENARIOS / "toy.yaml"
PER_STOP, PER_KM = 4.0, 2.5  # the toy's van costs (scenario defaults)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("vans")
    return {
        name: simulate(
            TOY,
            out=base / name,
            days=1,
            report=False,
            overrides=[f"router.vans={mode}", "demand.orders_per_day=1000"],
        )
        for name, mode in (("solver", "solver"), ("solver_again", "solver"), ("approx", "approx"))
    }


def mid(run) -> pd.DataFrame:
    o = run.orders
    return o[(o.served_tier == "mid") & (o.status == "delivered") & ~o.warmup]


def test_solver_run_is_deterministic(runs):
    for name in ("orders", "nodes"):
        assert (runs["solver"].path / f"{name}.parquet").read_bytes() == (
            runs["solver_again"].path / f"{name}.parquet"
        ).read_bytes()


def test_solver_mid_deliveries_are_in_a_sane_range_of_approx(runs):
    figures = {}
    for name in ("solver", "approx"):
        m = mid(runs[name])
        assert len(m) > 20
        hours = (m.delivered_s - m.created_s).to_numpy() / 3600.0
        km = (m.cost_transport_cny.sum() - PER_STOP * len(m)) / PER_KM  # van cost = per stop + per km
        figures[name] = (hours.mean(), km / len(m), (m.delivered_s <= m.promised_s + 1e-6).mean())
        print(
            f"{name}: {len(m)} mid orders, mean creation to delivery {hours.mean():.2f} h, "
            f"van km per order {km / len(m):.2f}, on time {figures[name][2]:.1%}"
        )
    (h_s, km_s, ot_s), (h_a, km_a, _) = figures["solver"], figures["approx"]
    assert np.all(np.isfinite([h_s, km_s]))
    assert 0.5 * h_a <= h_s <= 1.5 * h_a
    assert 0.0 < km_s <= 1.5 * km_a  # real routes are no longer than the estimate, give or take
    assert ot_s >= 0.8  # the wave capacity keeps routes mostly inside the window
