"""Golden outputs: record or check the hashes of every run file for a matrix of bundled runs.

The engine-core refactor (and every mechanism added later with its switch off) must keep the
outputs byte-identical. ``python tools/golden.py record`` writes ``tests/regression/golden.json``;
``python tools/golden.py check [--set quick|full]`` re-runs and lists every file whose hash moved.
Parquet files and scenario.yaml are compared byte for byte, kpis.json as parsed JSON with the
wall-clock field ``router.solver_ms_mean`` removed (the only timing in it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "regression" / "golden.json"
FILES = ("orders.parquet", "lines.parquet", "inventory.parquet", "nodes.parquet", "scenario.yaml")
PACKAGES = ("numpy", "scipy", "pandas", "pyarrow", "ortools", "pyvrp", "simpy", "networkx")
ROUTERS = ("nearest", "cheapest", "tier_first", "flow", "mip")
POLICIES = ("central_only", "top_n(n=120)", "base_stock(service=0.9)", "cost_optimal", "forecast_push(service=0.9)")
# quick: every router and every policy once (latin pairing), one measured toy day: run by make test
QUICK = [("toy", 1, r, p) for r, p in zip(ROUTERS, ("top_n(n=120)", "base_stock(service=0.9)", "central_only",
                                                    "forecast_push(service=0.9)", "cost_optimal"), strict=True)]
QUICK.append(("toy_history", None, None, None))
FULL = ([("toy", 3, r, p) for r in ROUTERS for p in POLICIES]
        + [("toy_history", None, None, None), ("shanghai_hangzhou", 1, None, None),
           ("shanghai_hangzhou", 1, "nearest", None)])
SETS = {"quick": QUICK, "full": FULL}
# scenario fields added after the recording, with their off value: scenario.yaml is hashed with each of them
# removed when it holds that value, so "every new mechanism off" is checked against the old recording
ADDED_OFF = {
    # issue #13, the near tier's riders (sim/engine/riders.py)
    "nodes.stores.capacity.rider_reach_s": 0.0, "nodes.stores.capacity.rider_pickup_trip_s": 0.0,
    "nodes.stores.capacity.rider_pickup_order_s": 0.0, "nodes.stores.capacity.rider_handover_s": 0.0,
    "nodes.stores.trip": {"return_to": "store", "reach_cv": 0.5, "travel_cv": 0.0, "day_cv": 0.0,
                          "speed_profile": "legacy"},
    "nodes.stores.staffing": {"by_hour": None, "promotion_multiplier": 1.0, "day_multiplier": {}},
    "tiers.near.quote": "promise", "tiers.near.quote_buffer_min": 3.0, "tiers.near.max_quote_min": 50.0,
    "nodes.stores.capacity.service_hours": None, "nodes.stores.kinds": [],
}


# every mechanism added after the recording, switched off: the golden runs pin "all off == the recording"
# even where a bundled scenario turns a mechanism on (issue #13 turns the near tier's on in shanghai_hangzhou)
OFF = [f"{path}={json.dumps(v)}" for path, v in ADDED_OFF.items() if not isinstance(v, dict)] + [
    f"{path}.{k}={json.dumps(v)}" for path, d in ADDED_OFF.items() if isinstance(d, dict) for k, v in d.items()]


def key(case: tuple[str, int | None, str | None, str | None]) -> str:
    name, days, router, policy = case
    return f"{name}|days={days}|router={router}|policy={policy}"


def kpis_digest(path: Path) -> str:
    kpis = json.loads(path.read_text())
    kpis.get("router", {}).pop("solver_ms_mean", None)
    for t in kpis.get("tiers", {}).values():  # issue #13's keys, added after the recording
        for k in ADDED_TIER_KPIS:
            t.pop(k, None)
    for k in ADDED_KPIS:
        kpis.pop(k, None)
    return hashlib.sha256(json.dumps(kpis, sort_keys=True).encode()).hexdigest()


ADDED_TIER_KPIS = ("mean_min", "within_promise_rate")  # issue #13
ADDED_KPIS = ("riders",)  # issue #13


def scenario_digest(path: Path) -> str:
    """Hash of scenario.yaml with the fields of ADDED_OFF removed where they are off (see ADDED_OFF)."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, off in ADDED_OFF.items():
        *parents, leaf = dotted.split(".")
        node = data
        for p in parents:
            node = node.get(p) if isinstance(node, dict) else None
        if isinstance(node, dict) and leaf in node and node[leaf] == off:
            del node[leaf]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_case(case: tuple[str, int | None, str | None, str | None]) -> dict[str, str]:
    from sim.run import simulate

    name, days, router, policy = case
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        simulate(ROOT / "scenarios" / f"{name}.yaml", days=days, router=router, policy=policy, out=out,
                 force=True, report=False, overrides=OFF)
        digests = {f: hashlib.sha256((out / f).read_bytes()).hexdigest() for f in FILES if f != "scenario.yaml"}
        digests["scenario.yaml"] = scenario_digest(out / "scenario.yaml")
        digests["kpis.json"] = kpis_digest(out / "kpis.json")
    return digests


def versions() -> dict[str, str]:
    return {p: metadata.version(p) for p in PACKAGES}


def compute(cases: list[tuple[str, int | None, str | None, str | None]], workers: int) -> dict[str, dict[str, str]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return {key(c): d for c, d in zip(cases, pool.map(run_case, cases), strict=True)}


def check(cases: list[tuple[str, int | None, str | None, str | None]], workers: int) -> list[str]:
    """The files whose digest differs from the recorded one ("case: file"), empty when all equal."""
    golden = json.loads(GOLDEN.read_text())
    got = compute(cases, workers)
    return [f"{k}: {f}" for k, d in got.items() for f, h in d.items() if golden["runs"][k][f] != h]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("record", "check"))
    ap.add_argument("--set", dest="which", choices=tuple(SETS), default="full")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.action == "record":
        runs = compute(FULL + [c for c in QUICK if c not in FULL], args.workers)
        GOLDEN.write_text(json.dumps({"packages": versions(), "runs": runs}, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(runs)} runs into {GOLDEN.relative_to(ROOT)}")
        return 0
    golden = json.loads(GOLDEN.read_text())
    if golden["packages"] != versions():
        print(f"warning: package versions differ from the recording: {golden['packages']} vs {versions()}")
    moved = check(SETS[args.which], args.workers)
    print("\n".join(moved) if moved else f"all {len(SETS[args.which])} runs byte-identical")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
