"""Common random numbers for the riders (issue #13): every order's travel draws come with the demand, so
changing the policy changes no order's draw; with the trip mechanism off, no draw is made at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.engine.simulation import Simulation
from sim.io.scenario import load_scenario

TOY = Path(__file__).resolve().parents[2] / "scenarios" / "toy.yaml"
ON = [
    "nodes.stores.trip.return_to=pool",
    "nodes.stores.capacity.rider_reach_s=360",
    "nodes.stores.capacity.rider_handover_s=150",
    "nodes.stores.trip.travel_cv=0.25",
    "horizon.warmup_days=2",
]


def run(policy: str, overrides: list[str]) -> Simulation:
    sc = load_scenario(TOY, overrides)
    sim = Simulation(sc, seed=sc.seed, replication=0, days=1, policy=policy, router="nearest")
    sim.run()
    return sim


def test_policy_does_not_move_any_travel_draw() -> None:
    a, b = run("top_n(n=120)", ON), run("central_only", ON)
    assert a.trip_u.shape == (a.book.n, 3) and a.book.n == b.book.n
    assert np.array_equal(a.trip_u, b.trip_u)
    assert np.array_equal(a.book.created_s, b.book.created_s)
    # the policies really differ in what they send to the stores
    near = [int(((s.book.served_tier == 0) & (s.book.status == 0)).sum()) for s in (a, b)]
    assert near[0] > 0 and near[1] == 0


def test_off_draws_nothing() -> None:
    sim = run("top_n(n=120)", ["horizon.warmup_days=2"])
    assert sim.ops.trip is None and sim.trip_u.shape == (0, 3)
