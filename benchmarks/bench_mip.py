"""ms per routing epoch of ``flow`` and of CP-SAT (``mip``) on real batches, and repairs/fallbacks at peak volume.

1. Batches recorded from toy runs (normal and x10 volume) (the engine's own Batch objects, routed by flow), restricted to their
   single-line single-unit orders: flow is exact there, so flow, ``mip`` (exact reduction + CP-SAT per
   component) and one whole CP-SAT model without the reduction must reach equal objectives (asserted);
   ms per epoch and the ratios are printed.
2. The toy at stress volume (orders x10, as double11_stress.yaml's 11 November; double11.yaml is the x3 public peak) routed by flow and by
   mip: router.repairs, router.fallbacks, solver ms per epoch and the headline KPIs.
Printed figures only, never timed assertions. Run: ``.venv/bin/python benchmarks/bench_mip.py [--quick]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.engine.simulation import Simulation  # noqa: E402
from sim.routing import Batch  # noqa: E402
from sim.routing.flow import COST_SCALE, Flow  # noqa: E402
from sim.routing.mip import Mip, solve_orders, stock_uses  # noqa: E402
from sim.run import prepare, simulate  # noqa: E402

TOY = Path(__file__).resolve().parents[1] / "scenarios" / "toy.yaml"


class Recorder:
    """Routes by flow and keeps every batch the engine built."""

    name = "flow"

    def __init__(self) -> None:
        self.flow = Flow()
        self.batches: list[Batch] = []

    def route(self, batch: Batch) -> np.ndarray:
        self.batches.append(batch)
        return self.flow.route(batch)


def single_line(batch: Batch) -> Batch | None:
    """The batch restricted to its single-line single-unit orders (flow is exact on those)."""
    use_option, _, use_qty, _ = stock_uses(batch)
    keyed = batch.opt_stock_key is not None and batch.opt_stock_key >= 0
    unit = np.ones(batch.opt_order.size, bool)
    unit[use_option[use_qty > 1]] = False
    bad = np.bincount(batch.opt_order[~(keyed & unit)], minlength=batch.n_orders) > 0
    keep_o = np.flatnonzero(~bad)
    if keep_o.size < 2:
        return None
    new = np.full(batch.n_orders, -1, np.int64)
    new[keep_o] = np.arange(keep_o.size)
    rows = np.flatnonzero(new[batch.opt_order] >= 0)
    pos = np.full(batch.opt_order.size, -1, np.int64)
    pos[rows] = np.arange(rows.size)
    mu = pos[use_option] >= 0
    assert batch.use_key is not None and batch.opt_stock_key is not None
    opt = {
        k: getattr(batch, k)[rows]
        for k in ("opt_node", "opt_tier", "opt_km", "opt_cost", "opt_eta_s", "opt_offer", "opt_stock_key")
    }
    res = None if batch.opt_reservation is None else batch.opt_reservation[rows]
    return Batch(
        n_orders=keep_o.size,
        requested_tier=batch.requested_tier[keep_o],
        opt_order=new[batch.opt_order[rows]],
        unassigned_cost=batch.unassigned_cost[keep_o],
        node_capacity=batch.node_capacity,
        opt_reservation=res,
        stock_left=batch.stock_left,
        use_option=pos[use_option[mu]],
        use_key=batch.use_key[mu],
        use_qty=use_qty[mu],
        **opt,
    )


def score(batch: Batch, choice: np.ndarray, cost: np.ndarray) -> tuple[int, float]:
    """(must-serve orders left unserved, money): a carried must-serve order counts at its cheapest usable
    option, the routers' per-order shift (as tests/validation/test_mip_router.py)."""
    got = choice >= 0
    u = batch.unassigned_cost
    use_option, use_key, use_qty, left = stock_uses(batch)
    usable = (batch.node_capacity[batch.opt_node] > 0) & ~np.isin(
        np.arange(cost.size), use_option[use_qty > left[use_key]]
    )
    cheapest = np.full(batch.n_orders, np.inf)
    np.minimum.at(cheapest, batch.opt_order[usable], cost[usable])
    carried = ~got & ~np.isfinite(u)
    money = (
        cost[choice[got]].sum()
        + u[~got & np.isfinite(u)].sum()
        + np.where(np.isfinite(cheapest), cheapest, 0.0)[carried].sum()
    )
    return int(carried.sum()), float(money)


def timed(fn, batch: Batch) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(batch)
    return (time.perf_counter() - t0) * 1e3, out


def epoch_figures(multiplier: float, days: int) -> None:
    per_day = int(prepare(TOY).demand.orders_per_day * multiplier)
    sc = prepare(TOY, days=days, policy="base_stock", overrides=[f"demand.orders_per_day={per_day}"])
    sim = Simulation(sc, seed=sc.seed, replication=0, days=sc.horizon.days, policy=sc.policy, router="flow")
    rec = Recorder()
    sim.router = rec
    sim.run()
    batches = [b for b in (single_line(b) for b in rec.batches) if b is not None]
    flow, mip = Flow(), Mip()

    def whole(b: Batch) -> np.ndarray:
        out = solve_orders(
            b.n_orders,
            b.opt_order,
            b.opt_node,
            mip.decision_cost(b),
            b.unassigned_cost,
            b.node_capacity,
            *stock_uses(b),
            reduce=False,
        )
        assert out is not None
        return out

    ms: dict[str, list[float]] = {"flow": [], "mip": [], "cp-sat whole": []}
    for b in batches[:3]:  # warm-up (imports, first model)
        flow.route(b), mip.route(b), whole(b)
    for b in batches:
        objs = []
        for name, fn in (("flow", flow.route), ("mip", mip.route), ("cp-sat whole", whole)):
            t, choice = timed(fn, b)
            ms[name].append(t)
            objs.append(score(b, choice, mip.decision_cost(b)))
        # equal objectives (exact routers): the same must-serve orders carried, the same money
        assert len({o[0] for o in objs}) == 1, objs
        assert max(o[1] for o in objs) - min(o[1] for o in objs) <= b.n_orders / COST_SCALE + 1e-9, objs
    sizes = np.array([b.n_orders for b in batches])
    print(
        f"single-line single-unit batches from a toy run ({per_day} orders/day, base_stock, {days} measured day(s)): "
        f"{len(batches)} epochs, "
        f"orders per batch median {np.median(sizes):.0f}, max {sizes.max()}; objectives equal on every batch"
    )
    print(f"{'router':>14} {'mean ms':>8} {'median':>7} {'p90':>7} {'ratio to flow (mean)':>21}")
    base = float(np.mean(ms["flow"]))
    for name, v in ms.items():
        print(
            f"{name:>14} {np.mean(v):8.3f} {np.median(v):7.3f} {np.percentile(v, 90):7.3f} {np.mean(v) / base:21.1f}"
        )
    print(f"mip fallbacks: {mip.fallbacks}")


def peak_figures(multiplier: float, days: int) -> None:
    sc = prepare(TOY, policy="base_stock")
    per_day = int(sc.demand.orders_per_day * multiplier)
    print(f"\ntoy at {multiplier:g}x volume ({per_day} orders/day, base_stock, {days} measured day(s)):")
    print(
        f"{'router':>7} {'epochs':>7} {'ms/epoch':>9} {'repairs':>8} {'fallbacks':>10} {'cost/order':>11} "
        f"{'perfect':>8} {'lost':>6} {'wall s':>7}"
    )
    for router in ("flow", "mip"):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            r = simulate(
                TOY,
                days=days,
                router=router,
                policy="base_stock",
                out=Path(tmp) / "run",
                report=False,
                overrides=[f"demand.orders_per_day={per_day}"],
            )
            wall = time.perf_counter() - t0
            k = json.loads((r.path / "kpis.json").read_text())
        rs = k["router"]
        print(
            f"{router:>7} {rs['epochs']:7d} {rs['solver_ms_mean']:9.2f} {rs['repairs']:8d} {rs['fallbacks']:10d} "
            f"{k['cost_per_order_cny']:11.2f} {k['perfect_order_rate']:8.3f} {k['lost_sales_rate']:6.3f} {wall:7.1f}"
        )


def main() -> None:
    quick = "--quick" in sys.argv
    epoch_figures(multiplier=1.0, days=1)
    epoch_figures(multiplier=10.0, days=1)
    peak_figures(multiplier=10.0, days=1 if quick else 2)


if __name__ == "__main__":
    main()
