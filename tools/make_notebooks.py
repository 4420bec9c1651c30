"""Write notebooks/02_policy_comparison.ipynb, 03_peak_and_scale.ipynb, 04_decisions.ipynb and
05_runs_folder.ipynb (sources kept here, outputs not).

Run: .venv/bin/python tools/make_notebooks.py [NAME ...]   (no names: all of them)
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

ROOT = Path(__file__).resolve().parents[1]

SETUP = """import os
from pathlib import Path

import sim

SIZE = os.environ.get("SHANGOU_NB_SIZE", "toy")  # small | toy | city
OUT = os.environ.get("SHANGOU_NB_OUT", "")
# worker processes for compare / sweep: SHANGOU_NB_WORKERS, else half the CPUs (a notebook shares the machine)
WORKERS = int(os.environ.get("SHANGOU_NB_WORKERS") or max(1, (os.cpu_count() or 2) // 2))
ROOT = Path.cwd() if (Path.cwd() / "scenarios").is_dir() else Path.cwd().parent
"""


def comparison() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.cells = [
        nbf.v4.new_markdown_cell(
            "# Which stock where? Comparing pre-positioning policies\n\n"
            "Every policy sees the same customers (common random numbers: the same seed and replication give the "
            "same orders, baskets and decisions), so the *paired* difference to the baseline is much tighter than "
            "the two intervals suggest. `SIZE`: `small` (CI: toy at 500 orders/day, 2 replications), `toy` "
            "(5 replications), `city` (Shanghai-Hangzhou, 3 replications, several minutes)."
        ),
        nbf.v4.new_code_cell(SETUP),
        nbf.v4.new_code_cell(
            "SIZES = {\n"
            '    "small": ("toy.yaml", ["demand.orders_per_day=500"], 2),\n'
            '    "toy": ("toy.yaml", [], 5),\n'
            '    "city": ("shanghai_hangzhou.yaml", [], 3),\n'
            "}\n"
            "scenario_file, overrides, reps = SIZES[SIZE]\n"
            'policies = ["central_only", "top_n(n=120)", "base_stock(service=0.9)", "forecast_push(service=0.9)"]\n'
            'out = Path(OUT) if OUT else ROOT / "runs" / f"compare-{SIZE}"\n'
            'result = sim.compare(ROOT / "scenarios" / scenario_file, policies, replications=reps, days=1,\n'
            "                     overrides=overrides, out=out, progress=False, workers=WORKERS)\n"
            "assert not result.failures, result.failures\n"
            'print(f"{result.ran} runs, {result.reused} reused, in {out}")'
        ),
        nbf.v4.new_markdown_cell(
            "## The comparison table\n\nMean and 95% Student-t interval per policy, and the "
            "paired difference to the first policy (`central_only`: nothing forward)."
        ),
        nbf.v4.new_code_cell(
            'cols = ["policy", "n", "mean", "ci_low", "ci_high", "diff_mean", "diff_ci_low", "diff_ci_high"]\n'
            'for kpi in ("cost_per_order_cny", "perfect_order_rate"):\n'
            "    print(kpi)\n"
            "    display(result.table[result.table.kpi == kpi][cols].round(3))"
        ),
        nbf.v4.new_markdown_cell(
            "## The Pareto front\n\nCost per order against the perfect-order rate, with the intervals as "
            "whiskers. A policy is worth considering only if no other is both cheaper and better."
        ),
        nbf.v4.new_code_cell(
            "from IPython.display import Image\n"
            'display(Image(filename=str(result.plots["pareto_cost_perfect"])))'
        ),
        nbf.v4.new_markdown_cell(
            "Reading it: pushing stock forward (any policy but `central_only`) turns next-day parcels into "
            "30-minute and 4-hour deliveries and cuts lost sales; it costs store and FDC stock, transfers and "
            "spoilage. `base_stock` and `forecast_push` size each SKU by its own forecast, `top_n` gives the "
            "same cover to a fixed list. `shangou report` on the output folder writes the same analysis as HTML."
        ),
    ]
    return nb


def peak() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.cells = [
        nbf.v4.new_markdown_cell(
            "# Peaks and scale\n\n1. **Double 11**: how `base_stock` and `forecast_push` (远近场融合: stock pushed "
            "forward ahead of a forecast peak) cope with the promotion day, read from `kpis.json`'s `by_day`.\n"
            "2. **Scale**: how run time grows with orders per day.\n\n`SIZE`: `small` (CI: the toy network with a "
            "x3 day), `toy`, `city` (the `double11.yaml` scenario itself, the x3 public peak: several minutes per "
            "run; the x10 day is `double11_stress.yaml`, a stress test)."
        ),
        nbf.v4.new_code_cell(SETUP + "import time\n\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"),
        nbf.v4.new_code_cell(
            'promo = ["demand.promotions=[{date: 2026-11-06, multiplier: 3, pre_days: 1, pre_multiplier: 0.9}]",\n'
            '         "forecast.method=promotion_aware"]\n'
            "SIZES = {\n"
            '    "small": ("toy.yaml", promo + ["demand.orders_per_day=400"], 2),\n'
            '    "toy": ("toy.yaml", promo, 2),\n'
            '    "city": ("double11.yaml", [], None),\n'
            "}\n"
            "scenario_file, overrides, days = SIZES[SIZE]\n"
            'base = Path(OUT) if OUT else ROOT / "runs" / f"peak-{SIZE}"\n'
            "rows = []\n"
            'for policy in ("base_stock(service=0.9)", "forecast_push(service=0.9)"):\n'
            '    run = sim.simulate(ROOT / "scenarios" / scenario_file, overrides=overrides, days=days, policy=policy,\n'
            '                       out=base / policy.split("(")[0], force=True, report=False)\n'
            '    for d in run.kpis["by_day"]:\n'
            '        rows.append({"policy": policy, "date": d["date"], "orders": d["orders"],\n'
            '                     "perfect": d["perfect_order_rate"], "lost": d["lost_sales_rate"],\n'
            '                     "cost_per_order": d["cost_per_order_cny"]})\n'
            "by_day = pd.DataFrame(rows)\n"
            "display(by_day.round(3))"
        ),
        nbf.v4.new_markdown_cell(
            "On the peak day the forecast knows the promotion (`known_to_forecast`); `forecast_push` raises "
            "forward targets in the days before it, so more of the peak is served from stores and the FDC. "
            "Compare the rows of the peak date."
        ),
        nbf.v4.new_code_cell(
            'sizes = {"small": [200, 400, 800], "toy": [1000, 2000, 4000], "city": [150_000, 300_000, 600_000]}[SIZE]\n'
            'plain = "toy.yaml" if SIZE != "city" else "shanghai_hangzhou.yaml"\n'
            "timing = []\n"
            "for n in sizes:\n"
            "    t0 = time.perf_counter()\n"
            '    run = sim.simulate(ROOT / "scenarios" / plain, overrides=[f"demand.orders_per_day={n}"], days=1,\n'
            '                       out=base / f"scale-{n}", force=True, report=False)\n'
            "    wall = time.perf_counter() - t0\n"
            '    timing.append({"orders_per_day": n, "orders": len(run.orders), "seconds": wall,\n'
            '                   "orders_per_s": len(run.orders) / wall})\n'
            "timing = pd.DataFrame(timing)\n"
            "display(timing.round(1))\n"
            "fig, ax = plt.subplots(figsize=(5, 3))\n"
            'ax.plot(timing.orders, timing.seconds, "o-")\n'
            'ax.set_xlabel("orders simulated (warm-up + measured)")\n'
            'ax.set_ylabel("wall seconds")\n'
            "plt.show()"
        ),
        nbf.v4.new_markdown_cell(
            "Run time has a fixed part (one routing epoch a minute, whatever the volume) and a part that grows "
            "with orders; at full Shanghai-Hangzhou scale the engine handles tens of thousands of orders a "
            "second (`make bench`)."
        ),
    ]
    return nb


DECIDE_SETUP = """import datetime as dt

import pandas as pd

from sim.decide.promise import promise
from sim.decide.staff import staff
from sim.decide.study import optimize, sites

SIZES = {
    "small": (["horizon.warmup_days=2", "demand.orders_per_day=300", "catalog.n_skus=60",
               "geography.zones_per_city=10", "router.epoch_s=300"], 1, 1, (10, 50)),
    "toy": ([], 2, 3, (40, 200)),
}
overrides, days, reps, (n_lo, n_hi) = SIZES.get(SIZE, SIZES["toy"])
TOY = ROOT / "scenarios" / "toy.yaml"
base = Path(OUT) if OUT else ROOT / "runs" / f"decisions-{SIZE}"
common = dict(overrides=overrides, progress=False, workers=WORKERS)
"""

DECIDE_STOCK = """budget_cny = 60_000 if SIZE == "small" else 400_000
res = optimize(TOY, [f"policy.n={n_lo}..{n_hi}"], objective="cost_per_order_cny",
               constraints=[f"forward_inventory_value_cny<={budget_cny}"], budget=3 if SIZE == "small" else 8,
               replications=reps, select_top=1 if SIZE == "small" else 3,
               select_replications=2 if SIZE == "small" else 6, days=days, policy="top_n(n=20)",
               out=base / "optimize", **common)
print("chosen:", res.chosen, f"after {res.simulations} simulations")
display(res.chosen_kpis[["label", "n", "mean", "ci_low", "ci_high"]].round(3))"""

DECIDE_STAFF = """peak = dt.date(2026, 11, 2) + dt.timedelta(days=2 if SIZE == "small" else 3)  # the first measured day
promo = [f"demand.promotions=[{{date: {peak}, multiplier: 2}}]"]
# near.on_time_stocked: near on time of the near requests a store in reach, open, held the lines for (the part
# staffing controls; docs/kpis.md). near.on_time (of delivered) stays high with too few riders: not a target
st = staff(TOY, "near.on_time_stocked>=0.9", day=peak, replications=2 if SIZE == "small" else 3,
           levels=(0.5, 1.0, 2.0) if SIZE == "small" else (0.5, 0.7, 1.0, 1.3, 1.6, 2.0),
           out=base / "staff", overrides=overrides + promo, progress=False, workers=WORKERS)
display(st["levels"].round(3))
c = st["chosen"]
if c:
    print(f"{c['rider_hours']} rider-hours, {c['pickers']} pickers, {c['cost_cny_per_day']:,.0f} CNY/day; "
          f"verified mean {c['verified_mean']:.3f} (one-sided 95% lower bound {c['verified_lower_95']:.3f})")
    display(st["profile"].pivot(index="store", columns="hour", values="riders"))"""

DECIDE_SITES = """si = sites(TOY, "auto", [1] if SIZE == "small" else [1, 2], kind="fdc", replications=reps, days=days,
           out=base / "sites", **common)
display(si["proposals"])
display(si["table"][si["table"].kpi.isin(["cost_per_order_cny", "perfect_order_rate"])]
        [["proposal", "kpi", "n", "mean", "ci_low", "ci_high"]].round(3))"""

DECIDE_PROMISE = """pr = promise(TOY, [(30.0, None), (60.0, None)], [4.0] if SIZE == "small" else [2.0, 4.0, 6.0],
             replications=reps, days=days, out=base / "promise", **common)
display(pr["won"][["design", "orders_placed_per_day", "orders_won_per_day", "won_diff_to_first"]].round(1))
wide = pr["table"].pivot_table(index="design", columns="kpi", values="mean")
display(wide[["cost_per_order_cny", "perfect_order_rate", "lost_sales_rate"]].round(3))"""


def decisions() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.cells = [
        nbf.v4.new_markdown_cell(
            "# Decide, not only compare: four planner questions on the toy network\n\n"
            "1. **How much stock should I push forward?** `optimize` searches `top_n.n` under a forward-stock "
            "budget and picks the best design on common replications.\n"
            "2. **How many riders and pickers for the peak day?** `staff` per store and hour, verified on fresh "
            "replications, and a staffing profile a scenario reads back.\n"
            "3. **Where should the forward warehouse be?** `sites`: a facility-location model proposes, simulation "
            "ranks.\n"
            "4. **What does promising 60 minutes instead of 30 cost or win?** `promise`, with shoppers who order "
            "less at a longer promise (`demand.conversion`).\n\n"
            "`SIZE`: `small` (CI: a shrunken toy, 1-2 replications: the answers illustrate the verbs, they are "
            "not decisions), `toy` (the full toy, 3 replications; minutes). Every verb is also a CLI command "
            "(`shangou optimize|staff|sites|promise`) writing a folder with tables and `report.html`."
        ),
        nbf.v4.new_code_cell(SETUP + DECIDE_SETUP),
        nbf.v4.new_markdown_cell(
            "## 1. How much stock forward?\n\nThe cheapest `top_n(n)` whose forward stock stays under a budget "
            "(`forward_inventory_value_cny`), searched by Optuna and chosen on more common replications."
        ),
        nbf.v4.new_code_cell(DECIDE_STOCK),
        nbf.v4.new_markdown_cell(
            "## 2. Staffing for a peak day\n\nA promotion doubles the first measured day; `staff` finds the "
            "fewest riders per store and hour (and pickers per store) meeting `near.on_time_stocked` >= 90% at 95% "
            "confidence, then checks the choice on fresh replications. The target is near on time of the near "
            "requests staffing could have served (a store in reach, open, holding every line): stock-outs, reach "
            "and store hours are not the riders' to fix, and near on time of *delivered* orders stays high however "
            "few riders there are (the router offers the near tier only when a store can make the promise)."
        ),
        nbf.v4.new_code_cell(DECIDE_STAFF),
        nbf.v4.new_markdown_cell(
            "## 3. Where to put the forward warehouse?\n\nCandidates on a grid over demand (`auto`); the "
            "location model (CP-SAT) proposes the best K, each proposal is simulated and ranked."
        ),
        nbf.v4.new_code_cell(DECIDE_SITES),
        nbf.v4.new_markdown_cell(
            "## 4. Promise what-if\n\nA 60-minute near promise lets riders go further (radius x 2) but fewer "
            "shoppers order; the same shoppers decide in both designs (common random numbers)."
        ),
        nbf.v4.new_code_cell(DECIDE_PROMISE),
        nbf.v4.new_markdown_cell(
            "Each folder under `base` holds the tables and a `report.html` (`shangou report DIR` rewrites it). "
            "At `small` size the intervals are wide and a single replication gives none: run `SIZE=toy` (or the "
            "CLI on your own scenario) before deciding anything."
        ),
    ]
    return nb


def runs_folder() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook()
    nb.cells = [
        nbf.v4.new_markdown_cell(
            "# A folder of runs: any KPI per policy per day\n\n"
            "Point `SHANGOU_NB_DIR` at a `shangou compare` or `shangou sweep` output folder (or any folder of run "
            "directories); without it this notebook makes a small comparison first (`SIZE`: `small` = toy at 300 "
            "orders/day, 3 days, 2 policies x 2 replications; `toy` = full toy, 3 replications). Each configuration "
            "is a policy (compare) or a grid point (sweep). KPIs are the registry's (`docs/kpis.md`)."
        ),
        nbf.v4.new_code_cell(
            SETUP
            + """
FOLDER = os.environ.get("SHANGOU_NB_DIR", "")
if FOLDER:
    folder_dir = Path(FOLDER)
else:
    SIZES = {"small": (["demand.orders_per_day=300"], 2), "toy": ([], 3), "city": ([], 3)}
    overrides, reps = SIZES[SIZE]
    folder_dir = Path(OUT) if OUT else ROOT / "runs" / f"folder-{SIZE}"
    result = sim.compare(ROOT / "scenarios" / "toy.yaml", ["central_only", "forecast_push(service=0.9)"],
                         replications=reps, days=3, overrides=overrides, out=folder_dir, progress=False,
                         workers=int(os.environ.get("SHANGOU_NB_WORKERS", "2")))
    assert not result.failures, result.failures
print(folder_dir)"""
        ),
        nbf.v4.new_markdown_cell(
            "## Load the folder\n\nOne row per run (every compare KPI) and one per run and measured day."
        ),
        nbf.v4.new_code_cell(
            "%matplotlib inline\n"
            "from sim.metrics import registry as reg\n"
            "from sim.report import folder\n\n"
            "runs, days = folder.runs_and_days(folder_dir)\n"
            'print(f"{len(runs)} runs, {runs.config.nunique()} configurations, {days.day.nunique()} measured days")\n'
            "per_day_keys = [k for k in reg.REGISTRY if k in days.columns and days[k].notna().any()]\n"
            'print("KPIs per day:", ", ".join(per_day_keys))'
        ),
        nbf.v4.new_markdown_cell(
            "## Any KPI per policy per day, with 95% CIs; the peak day marked\n\n"
            "Change `KPI` to any key listed above."
        ),
        nbf.v4.new_code_cell(
            'KPI = "on_time_requested_rate"  # on time of requested orders (lost and downgraded count as late)\n'
            "table = folder.per_day(days, KPI)\n"
            'peak = table.loc[table.peak, ["day", "date", "orders"]].iloc[0]\n'
            'print(f"peak day: {peak.date} (day {peak.day}, {peak.orders:,.0f} orders on average)")\n'
            "display(folder.plot_per_day(table, KPI))\n"
            "display(table.round(4))"
        ),
        nbf.v4.new_code_cell(
            'display(folder.plot_per_day(folder.per_day(days, "cost_per_order_cny"), "cost_per_order_cny"))'
        ),
    ]
    return nb


if __name__ == "__main__":
    import sys

    for name, build in (
        ("02_policy_comparison.ipynb", comparison),
        ("03_peak_and_scale.ipynb", peak),
        ("04_decisions.ipynb", decisions),
        ("05_runs_folder.ipynb", runs_folder),
    ):
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        nb = build()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbf.write(nb, ROOT / "notebooks" / name)
        print("wrote", name)
