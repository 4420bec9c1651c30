"""A single store with Poisson arrivals and exponential picking is an M/M/c queue (DESIGN.md 12).

The engine runs with 1-second routing epochs, one SKU family in unlimited stock, one line per
order and a promise so long that no order is refused: the pickers' waiting time must match
Erlang C's mean wait W_q inside a batch-means 99% confidence interval (first 10% dropped).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import stats

from sim.engine.simulation import Simulation
from sim.io.scenario import load_scenario

C, MEAN_PICK_S, RHO = 3, 75.0, 0.75
LAMBDA = RHO * C / MEAN_PICK_S  # orders per second


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean waiting time in queue of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    terms = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / (math.factorial(c) * (1 - rho))
    p_wait = top / (terms + top)
    return p_wait / (c * mu - lam)


def scenario(tmp_path):
    data = {
        "name": "mmc",
        "seed": 11,
        "horizon": {"days": 6, "warmup_days": 2, "start_date": "2026-11-02"},
        "geography": {"cities": [{"name": "Hangzhou", "zones": 12, "radius_km": 2.0}]},
        "nodes": {
            "ndcs": {"sites": [{"id": "NDC", "city": "Hangzhou"}]},
            "stores": {
                "count_per_city": {"Hangzhou": 1},
                "capacity": {
                    "pickers": C,
                    "pick_base_s": MEAN_PICK_S,
                    "pick_per_line_s": 0.0,
                    "pick_cv": 1.0,
                    "riders": 200,
                    "rider_radius_km": 10.0,
                    "rider_max_batch": 1,
                },
            },
        },
        "lanes": {"ndc_store": {"base_h": 1.0}},
        "catalog": {
            "n_skus": 10,
            "categories": [{"name": "all", "share": 1.0, "value_cny": 10, "volume_l": 0.1}],
        },
        "demand": {
            "orders_per_day": LAMBDA * 86400,
            "intraday": [1.0] * 24,
            "weekly": [1.0] * 7,
            "day_cv": 0.0,
            "tier_mix": {"near": 1.0, "mid": 0.0, "far": 0.0},
            "basket": {"mean_lines": 1.0, "max_lines": 1, "mean_qty": 1.0},
        },
        "tiers": {"near": {"promise_min": 6000, "service_hours": ["00:00", "24:00"]}},
        "inventory": {"ndc_supply": {"initial_days_of_supply": 60}},
        "policy": "top_n(n=10, cover=20)",
        "router": {"name": "nearest", "epoch_s": 1},
        "forecast": {"method": "oracle", "error": 0.0},
    }
    p = tmp_path / "mmc.yaml"
    p.write_text(yaml.safe_dump(data))
    return load_scenario(p)


@pytest.mark.slow
def test_single_store_matches_erlang_c(tmp_path):
    sc = scenario(tmp_path)
    sim = Simulation(
        sc, seed=sc.seed, replication=0, days=sc.horizon.days, policy=sc.policy, router="nearest"
    )
    rec = sim.run()
    o = rec.orders
    measured = ~o.warmup
    assert (o.served_tier[measured] == 0).all(), "every order must be served near by the store"
    b = sim.book
    assign = np.ceil(b.created_s - 1e-9)  # routed at the end of its 1-second epoch
    wait = (b.pick_start_s - assign)[measured]
    wait = wait[int(0.1 * wait.size) :]
    k = 20
    means = np.array([m.mean() for m in np.array_split(wait, k)])
    half = stats.t.ppf(0.995, k - 1) * means.std(ddof=1) / math.sqrt(k)
    expected = erlang_c_wait(LAMBDA, 1 / MEAN_PICK_S, C)
    assert abs(wait.mean() - expected) <= half, (wait.mean(), expected, half)
