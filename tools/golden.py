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


def key(case: tuple[str, int | None, str | None, str | None]) -> str:
    name, days, router, policy = case
    return f"{name}|days={days}|router={router}|policy={policy}"


def kpis_digest(path: Path) -> str:
    kpis = json.loads(path.read_text())
    kpis.get("router", {}).pop("solver_ms_mean", None)
    return hashlib.sha256(json.dumps(kpis, sort_keys=True).encode()).hexdigest()


def file_bytes(path: Path) -> bytes:
    """A run file's bytes; in scenario.yaml the checkout's absolute path (a history file's resolved path)
    reads as ``<ROOT>``, so every worktree of the repository records and checks the same digests."""
    data = path.read_bytes()
    return data.replace(str(ROOT).encode(), b"<ROOT>") if path.name == "scenario.yaml" else data


def run_case(case: tuple[str, int | None, str | None, str | None]) -> dict[str, str]:
    from sim.run import simulate

    name, days, router, policy = case
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        simulate(ROOT / "scenarios" / f"{name}.yaml", days=days, router=router, policy=policy, out=out,
                 force=True, report=False)
        digests = {f: hashlib.sha256(file_bytes(out / f)).hexdigest() for f in FILES}
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
