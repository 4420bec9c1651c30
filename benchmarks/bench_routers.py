"""Routers compared with common random numbers: cost per order and perfect-order rate, paired differences.

Each configuration is a label, a router name and ``--set`` overrides; every configuration runs the same
replications (the same orders, issue #15's paired design), and the table gives each one's mean ± 95% t
interval and its paired difference against the first configuration. Runs are kept under ``--out`` and reused,
so a table can grow one configuration at a time. Printed figures only. Example::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_routers.py --replications 5 --out /tmp/routers \\
        --config flow=flow --config nearest=nearest --config tier_first=tier_first \\
        --config flow_stem=flow:router.mid_estimate=stem
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.experiments.stats import summarize  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
KPIS = ("cost_per_order_cny", "perfect_order_rate", "lost_sales_rate")


def parse_config(text: str) -> tuple[str, str, tuple[str, ...]]:
    """``label=router[:path=value[:path=value...]]``."""
    label, _, rest = text.partition("=")
    router, *sets = rest.split(":")
    if not label or not router:
        raise SystemExit(f"--config: expected label=router[:path=value...], got {text!r}")
    return label, router, tuple(sets)


def _run(job: tuple[str, int | None, int, str, tuple[str, ...], str]) -> str:
    scenario, days, rep, router, sets, out = job
    if (Path(out) / "kpis.json").exists():
        return out
    from sim.run import simulate

    simulate(
        scenario,
        days=days,
        replication=rep,
        router=router,
        overrides=list(sets),
        out=out,
        force=True,
        report=False,
    )
    return out


def _half(values: np.ndarray) -> str:
    s = summarize(list(values))
    return f"{s.mean:+.3f}" if s.n < 2 else f"{s.mean:+.3f} ± {(s.ci_high - s.ci_low) / 2:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "toy.yaml"))
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--replications", type=int, default=5)
    ap.add_argument(
        "--only", help="run only these replications (comma list, e.g. 3,4: parallel invocations), no table"
    )
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default="/tmp/bench-routers")
    ap.add_argument("--config", action="append", required=True, help="label=router[:path=value...]")
    ap.add_argument("--set", action="append", default=[], help="override for every run: path=value")
    ap.add_argument("--sets-file", help="a file of overrides for every run, one path=value per line")
    a = ap.parse_args(argv)
    if a.sets_file:
        a.set += [
            ln.strip()
            for ln in Path(a.sets_file).read_text().splitlines()
            if ln.strip() and not ln.startswith("#")
        ]
    configs = [parse_config(c) for c in a.config]
    reps = [int(r) for r in a.only.split(",")] if a.only else list(range(a.replications))
    jobs = [
        (a.scenario, a.days, r, router, (*a.set, *sets), f"{a.out}/{label}/r{r}")
        for r in reps
        for label, router, sets in configs
    ]
    with ProcessPoolExecutor(a.workers) as ex:
        outs = list(ex.map(_run, jobs))
    if a.only:
        return 0
    k = {o: json.loads((Path(o) / "kpis.json").read_text()) for o in outs}
    vals = {
        label: {m: np.array([k[f"{a.out}/{label}/r{r}"][m] for r in range(a.replications)]) for m in KPIS}
        for label, _, _ in configs
    }
    base = configs[0][0]
    print(f"{a.scenario}, {a.replications} replications, paired Δ = config − {base} (95% t)")
    print("| config | cost/order CNY | Δ cost | perfect % | Δ perfect pp | lost % | Δ lost pp |")
    print("|---|---|---|---|---|---|---|")
    for label, _, _ in configs:
        v, b = vals[label], vals[base]
        cells = [f"{label}"]
        for m, scale in zip(KPIS, (1.0, 100.0, 100.0), strict=True):
            cells.append(f"{v[m].mean() * scale:.3f}")
            cells.append("" if label == base else _half((v[m] - b[m]) * scale))
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
