"""Tune a policy's forward-inventory knob to a target average forward stock value (issue 7).

``shangou match`` is the verb for this (``shangou match SCENARIO --policy NAME --param KNOB --target-value
CNY``); this script stays for existing scripts. A thin command line over ``sim.experiments.match.match_inventory``; for example, from the repository:

    python tools/match_inventory.py scenarios/toy.yaml --policy cost_optimal --param holding_weight \\
        --lo 0.1 --hi 1000 --target 160000 --days 1 --replications 3 --out runs/match-co

prints the matched SPEC, the measured forward inventory and every step, and writes
``<out>/match.json`` (each step's compare folder sits next to it and is re-used by a re-run).
Knobs: ``top_n`` n (integer, rising), ``base_stock`` / ``forecast_push`` service (rising),
``cost_optimal`` holding_weight (falling, log scale). Exit 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import sys

from sim.experiments.match import match_inventory


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario")
    ap.add_argument("--policy", required=True, help="policy SPEC; its other parameters are kept")
    ap.add_argument("--param", required=True, help="the parameter to tune, e.g. holding_weight")
    ap.add_argument("--lo", type=float, required=True)
    ap.add_argument("--hi", type=float, required=True)
    ap.add_argument(
        "--target", type=float, required=True, help="average forward inventory value, CNY (FDCs + stores)"
    )
    ap.add_argument("--days", type=int, default=1)
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--tol", type=float, default=0.02, help="relative tolerance on the target")
    ap.add_argument("--max-iter", type=int, default=10, help="measurements at most (each a compare)")
    ap.add_argument("--scale", choices=("auto", "log", "linear"), default="auto")
    ap.add_argument("--integer", action="store_true", help="round the parameter (top_n's n)")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--router", default=None)
    ap.add_argument("--out", default=None)
    ap.add_argument(
        "--set", dest="overrides", action="append", default=[], help="scenario override path=value"
    )
    a = ap.parse_args(argv)
    lo, hi = (int(a.lo), int(a.hi)) if a.integer else (a.lo, a.hi)
    res = match_inventory(
        a.scenario,
        a.policy,
        a.param,
        lo,
        hi,
        a.target,
        days=a.days,
        replications=a.replications,
        tol=a.tol,
        max_iter=a.max_iter,
        scale=a.scale,
        integer=a.integer or None,
        out=a.out,
        workers=a.workers,
        router=a.router,
        overrides=a.overrides,
    )
    for s in res.steps:
        print(f"  {a.param}={s.value:.6g}: {s.inventory_cny:,.0f} CNY (± {s.half_width:,.0f})")
    state = "matched" if res.converged else ("closest (not bracketed)" if not res.bracketed else "closest")
    print(
        f"{state}: {res.policy} -> {res.inventory_cny:,.0f} CNY, {res.relative_error:+.2%} of {res.target_cny:,.0f}"
    )
    return 0 if res.converged else 1


if __name__ == "__main__":
    sys.exit(main())
