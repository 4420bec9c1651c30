"""A staffing profile read back as the riders on shift (nodes.stores.staffing.profile, issue #18): a profile
equal to the group's rule reproduces its run exactly, fewer riders in it change the run, bad tables exit 2
naming file, row and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine.simulation import Simulation
from sim.errors import ScenarioError
from sim.io.staffing_profile import read_profile
from sim.run import prepare

TOY = Path(__file__).resolve().parents[2] / "scenarios" / "toy.yaml"
SMALL = [
    "horizon.days=1",
    "horizon.warmup_days=2",
    "demand.orders_per_day=300",
    "catalog.n_skus=60",
    "geography.zones_per_city=10",
    "router.epoch_s=300",
]
STORES = [f"store-Hangzhou-00{i}" for i in range(1, 6)]


def write(tmp: Path, riders: np.ndarray, name: str = "p.csv") -> Path:
    rows = [
        {"store": s, "hour": h, "riders": int(riders[i, h])} for i, s in enumerate(STORES) for h in range(24)
    ]
    path = tmp / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def orders(*overrides: str) -> pd.DataFrame:
    sc = prepare(TOY, overrides=SMALL + list(overrides))
    sim = Simulation(sc, seed=7, replication=0, days=1, policy=sc.policy, router=sc.router.name)
    o = sim.run().orders
    return pd.DataFrame({"status": o.status, "node": o.node, "delivered": o.delivered_s})


def test_profile_equal_to_the_group_rule_reproduces_it_and_fewer_riders_change_it(tmp_path: Path) -> None:
    by_hour = [0.5] * 8 + [1.0] * 16
    share = np.array(by_hour)
    same = write(tmp_path, np.rint(np.full((5, 1), 8.0) * share[None, :]))
    rule = orders(f"nodes.stores.staffing.by_hour={by_hour}")
    via = orders(f"nodes.stores.staffing.profile={same}")
    pd.testing.assert_frame_equal(rule, via)
    thin = np.rint(np.full((5, 1), 8.0) * share[None, :])
    thin[0, 8:20] = 0  # store 1 has nobody on shift 08:00-20:00
    fewer = orders(f"nodes.stores.staffing.profile={write(tmp_path, thin, 'thin.csv')}")
    assert not rule.equals(fewer)


def test_stores_left_out_keep_the_group_rule(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"store": [STORES[0]] * 24, "hour": range(24), "riders": [3] * 24}).to_csv(path, index=False)
    table = read_profile(path, STORES)
    assert (table[0] == 3).all() and np.isnan(table[1:]).all()


@pytest.mark.parametrize(
    ("rows", "needle"),
    [
        ({"store": ["nope"], "hour": [0], "riders": [1]}, "row 2, column store: 'nope' is not a store"),
        ({"store": [STORES[0]], "hour": [24], "riders": [1]}, "row 2, column hour"),
        ({"store": [STORES[0]], "hour": [3], "riders": [1.5]}, "row 2, column riders"),
        (
            {"store": [STORES[0]] * 2, "hour": [3, 3], "riders": [1, 1]},
            "row 3: store store-Hangzhou-001 hour 3 is listed twice",
        ),
        ({"store": [STORES[0]], "hour": [3], "riders": [1]}, "lists 1 of the 24 hours"),
        ({"store": [STORES[0]], "hours": [3], "riders": [1]}, "missing column(s) hour"),
    ],
)
def test_bad_tables_name_file_row_and_column(tmp_path: Path, rows: dict, needle: str) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(ScenarioError) as exc:
        prepare(TOY, overrides=[f"nodes.stores.staffing.profile={path}"])
    assert any(needle in p and "nodes.stores.staffing.profile: bad.csv" in p for p in exc.value.problems), (
        exc.value.problems
    )


def test_profile_with_a_city_pool_is_a_scenario_error(tmp_path: Path) -> None:
    """Per-store riders and a city pool contradict each other: a validation error naming the field (exit 2),
    not an exception from the engine."""
    path = write(tmp_path, np.full((5, 24), 2))
    with pytest.raises(ScenarioError) as exc:
        prepare(TOY, overrides=[f"nodes.stores.staffing.profile={path}", "nodes.stores.staffing.pool=city"])
    assert any(
        p.startswith("nodes.stores.staffing.profile:") and "pool: city" in p for p in exc.value.problems
    ), exc.value.problems
