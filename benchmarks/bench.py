"""Shangou benchmarks (`make bench`): printed figures, never timed assertions.

Each figure is reported as a ratio against a naive baseline measured in the same run, because the
machines are shared and noisy. Today: scenario loading and network building at national scale, with
the vectorised zone x node distance matrix against a per-pair Python loop.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np

from sim.io.scenario import load_scenario
from sim.network import build_network
from sim.network.geo import distance_matrix_km

ROOT = Path(__file__).resolve().parents[1]


def best_of(fn, repeat: int = 3) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def naive_distances(zlat, zlon, nlat, nlon) -> list[list[float]]:  # type: ignore[no-untyped-def]
    out = []
    for a, b in zip(zlat, zlon, strict=True):
        row = []
        for c, d in zip(nlat, nlon, strict=True):
            p1, p2 = math.radians(a), math.radians(c)
            h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(d - b) / 2) ** 2
            row.append(2 * 6371.0088 * math.asin(math.sqrt(h)))
        out.append(row)
    return out


def main() -> None:
    t_load = best_of(lambda: load_scenario(ROOT / "scenarios/national.yaml"))
    sc = load_scenario(ROOT / "scenarios/national.yaml")
    t0 = time.perf_counter()
    net = build_network(sc)
    t_build = time.perf_counter() - t0
    print(f"national: load+validate {t_load * 1e3:.0f} ms; network build {t_build:.2f} s "
          f"({net.n_zones} zones x {net.n_nodes} nodes)")

    zsub = slice(0, 200)  # the naive loop on a slice, scaled per pair
    t_vec = best_of(lambda: distance_matrix_km(net.zone_lat, net.zone_lon, net.node_lat, net.node_lon))
    t_naive = best_of(lambda: naive_distances(net.zone_lat[zsub], net.zone_lon[zsub], net.node_lat, net.node_lon), 1)
    pairs_vec = net.n_zones * net.n_nodes / t_vec
    pairs_naive = 200 * net.n_nodes / t_naive
    check = np.allclose(distance_matrix_km(net.zone_lat[zsub], net.zone_lon[zsub], net.node_lat, net.node_lon),
                        naive_distances(net.zone_lat[zsub], net.zone_lon[zsub], net.node_lat[:], net.node_lon[:]),
                        rtol=1e-5)
    print(f"distance matrix: {pairs_vec / 1e6:.1f} M pairs/s vectorised vs {pairs_naive / 1e6:.2f} M pairs/s "
          f"per-pair Python = {pairs_vec / pairs_naive:.0f}x (results agree: {check})")


if __name__ == "__main__":
    main()
