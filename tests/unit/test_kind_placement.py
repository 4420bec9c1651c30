"""Store kinds placed to cover demand (nodes.stores.kinds[].placement: cover, issue #13): a hand-built greedy
cover, and the bundled network's 24 h stores reaching every customer any store reaches."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.io.scenario import load_scenario
from sim.network import STORE, build_network
from sim.network.placement import cover_first

ROOT = Path(__file__).resolve().parents[2]
KM_LON = 1.0 / (111.32 * np.cos(np.radians(30.0)))  # degrees of longitude per km at 30 N


def test_cover_first_by_hand() -> None:
    """Zones at 0..9 km east (weights 1, zone 9 weighs 5); stores at 1, 2, 5 and 9 km, reach 1.5 km: store 9
    covers 8-9 (weight 6); stores 1, 2 and 5 tie at 3 and the lowest index (store 1: 0-2) goes first; then store 2
    adds only zone 3 while store 5 adds 4-6, so 5; store 2 last. Among stores 2 and 5 alone they tie: index order."""
    x = np.arange(10.0)
    w = np.ones(10)
    w[9] = 5.0
    lat, lon = np.full(10, 30.0), 120.0 + x * KM_LON
    s = np.array([1.0, 2.0, 5.0, 9.0])
    got = cover_first(lat, lon, w, np.full(4, 30.0), 120.0 + s * KM_LON, 1.5, 4, np.arange(4))
    assert got.tolist() == [3, 0, 2, 1]
    assert cover_first(
        lat, lon, w, np.full(4, 30.0), 120.0 + s * KM_LON, 1.5, 2, np.array([1, 2])
    ).tolist() == [1, 2]


def test_cover_placement_keeps_counts_and_reaches_all() -> None:
    """Shanghai-Hangzhou: as many 24 h stores either way; placed to cover, they reach every zone a store reaches."""
    out = []
    for placement in ("even", "cover"):
        sc = load_scenario(
            ROOT / "scenarios" / "shanghai_hangzhou.yaml",
            [
                f"nodes.stores.kinds[0].placement={placement}",
                "geography.cities[0].zones=120",
                "geography.cities[1].zones=60",
            ],
        )
        net = build_network(sc)
        st = np.flatnonzero(net.node_kind == STORE)
        h24 = np.array([net.node_capacity[i].service_hours == ("00:00", "24:00") for i in st])
        cov = net.covers()[:, st]
        out.append((int(h24.sum()), float(net.zone_weight[cov.any(axis=1) & ~cov[:, h24].any(axis=1)].sum())))
    assert out[0][0] == out[1][0] == 168
    assert out[1][1] == 0.0 < out[0][1]
