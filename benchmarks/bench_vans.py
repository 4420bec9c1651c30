"""Van waves: PyVRP against OR-Tools routing at several deterministic efforts, and `approx` against both.

Instances are real wave problems as the engine builds them (`sim.engine.van_waves.wave_problem`):
one day's orders of the toy (Hangzhou, 40 zones) or Shanghai-Hangzhou (Shanghai 400 zones) scenario,
the first M orders in an FDC's reach form a wave: toy with M = fill x vans x the orders a van can make
in the window (the engine's own wave capacity), vans in {2, 4, 6}; Shanghai with its own fleet of 40
and M = 40, 80, 140 orders. For each instance the reference is
the best on-time length any configuration found. Printed per configuration: mean / max gap to that
reference, instances with a late stop, ms per wave (one core). Then `approx` (sweep + BHH, what
``vans: approx`` charges) against the solver's km on the same waves, and the toy end to end with
each van mode.
Run: ``.venv/bin/python benchmarks/bench_vans.py`` (about 3-5 minutes on one free core).
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.demand import demand_day  # noqa: E402
from sim.engine.simulation import Simulation  # noqa: E402
from sim.engine.van_waves import wave_problem  # noqa: E402
from sim.engine.warehouse import approx_fdc  # noqa: E402
from sim.io.scenario import load_scenario  # noqa: E402
from sim.routing.vans import VanProblem, VanRoutes, solve_ortools, solve_pyvrp  # noqa: E402
from sim.run import simulate  # noqa: E402

PYVRP = (100, 300, 500, 1000, 3000)
ORTOOLS = (10, 30, 100, 300)


def lateness_s(p: VanProblem, r: VanRoutes) -> float:
    return float(np.maximum(r.start_s + p.service_s - p.close_s, 0.0).max(initial=0.0))


def instances(scenario: str, waves: list[tuple[int | None, float]]) -> list[tuple[str, VanProblem, float]]:
    """(label, problem, approx km) at the scenario's first FDC for each (vans, orders) in `waves`: vans None
    keeps the scenario's fleet and takes `orders` orders; otherwise `orders` is the fill of the engine's wave
    capacity for that many vans."""
    sc = load_scenario(ROOT / f"scenarios/{scenario}.yaml")
    sim = Simulation(sc, seed=0, replication=0, days=1, policy="central_only", router="nearest")
    orders = demand_day(sc, sim.net, sim.cat, sim.streams, 0)
    sim.book.add_day(orders, warmup=False)
    w, f = sim.waves, 0
    node = sim.fdcs[f]
    covered = sim.net.covers()[:, node]
    mine = np.flatnonzero(covered[sim.book.zone])
    fleet = int(w.vans[f])
    out = []
    for vans, size in waves:
        w.vans[f] = fleet if vans is None else vans
        per_van = float(w.per_van_orders(0, sim.mean_order_l, sim.fdc_mean_km)[f])
        ref = mine[: int(size if vans is None else size * vans * per_van)]
        z = sim.book.zone[ref]
        lat, lon, km = sim.net.zone_lat[z], sim.net.zone_lon[z], sim.net.road_km[z, node].astype(float)
        vol = sim._order_volume_l(ref)
        p, _, _ = wave_problem(w, f, 0, lat, lon, vol)
        _, cost, _ = approx_fdc(w, f, 0, lat, lon, km, vol)
        approx_km = (cost.sum() - w.per_stop * ref.size) / w.per_km
        out.append((f"{scenario[:5]} {w.vans[f]:>2}v {ref.size:>3}o", p, float(approx_km)))
    return out


def main() -> None:
    warnings.filterwarnings("ignore")  # PyVRP's penalty warnings on waves that cannot all be on time
    cases = instances("toy", [(v, fill) for v in (2, 4, 6) for fill in (0.5, 0.9)]) + instances(
        "shanghai_hangzhou", [(None, m) for m in (40, 80, 140)]
    )
    configs = [("pyvrp", it) for it in PYVRP] + [("ortools", s) for s in ORTOOLS]
    res: dict[tuple[str, int], list[tuple[float, float, float]]] = {c: [] for c in configs}
    for label, p, _ in cases:
        row = []
        for name, effort in configs:
            t0 = time.perf_counter()
            r = solve_pyvrp(p, effort) if name == "pyvrp" else solve_ortools(p, effort)
            ms = (time.perf_counter() - t0) * 1e3
            res[name, effort].append((r.km, lateness_s(p, r), ms))
            row.append(f"{r.km:7.1f}{'*' if lateness_s(p, r) > 0 else ' '}")
        print(f"{label} {p.n:>3} stops: " + " ".join(row), flush=True)
    print("columns: " + ", ".join(f"{n} {e}" for n, e in configs) + "; * = a stop ends after the window")
    print(
        "\nconfig            mean gap  max gap  late  ms/wave   (gap: km over the best on-time km of any config)"
    )
    ref = []
    for i in range(len(cases)):
        ok = [res[c][i][0] for c in configs if res[c][i][1] == 0]
        ref.append(min(ok) if ok else min(res[c][i][0] for c in configs))
    for c in configs:
        gaps = np.array([res[c][i][0] / ref[i] - 1 for i in range(len(cases))]) * 100
        late = sum(1 for v in res[c] if v[1] > 0)
        ms = np.mean([v[2] for v in res[c]])
        print(f"{c[0]:8s} {c[1]:>5}   {gaps.mean():7.2f}% {gaps.max():7.2f}% {late:5d} {ms:8.0f}")
    print("\napprox (sweep + BHH) km vs the best solver km on the same wave")
    for (label, p, approx_km), best in zip(cases, ref, strict=True):
        print(
            f"{label} {p.n:>3} stops: approx {approx_km:7.1f} km, solver {best:7.1f} km, "
            f"approx / solver = {approx_km / best:.2f}"
        )


def engine() -> None:
    """The toy end to end (3 warm-up + 2 measured days) with each van mode: wall time and mid-tier figures."""
    with tempfile.TemporaryDirectory() as tmp:
        for mode in ("approx", "solver"):
            t0 = time.perf_counter()
            res = simulate(
                ROOT / "scenarios/toy.yaml",
                out=Path(tmp) / mode,
                report=False,
                overrides=[f"router.vans={mode}"],
            )
            wall = time.perf_counter() - t0
            o = res.orders
            m = o[(o.served_tier == "mid") & (o.status == "delivered") & ~o.warmup]
            km = (m.cost_transport_cny.sum() - 4.0 * len(m)) / 2.5  # toy van costs: 4 CNY/stop + 2.5 CNY/km
            late = (m.delivered_s > m.promised_s + 1e-6).mean()
            print(
                f"toy end to end, vans {mode}: {wall:.1f} s; {len(m)} mid orders, van km per order "
                f"{km / len(m):.2f}, mean creation to delivery {((m.delivered_s - m.created_s) / 3600).mean():.2f} h, "
                f"late {late:.1%}"
            )


if __name__ == "__main__":
    main()
    engine()
