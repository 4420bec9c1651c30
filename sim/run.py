"""``simulate``: scenario -> engine -> invariants -> run directory (the whole pipeline of one run).

Overrides (seed, days, policy, router) are applied to the scenario itself before the run, so the
resolved scenario.yaml in the run directory reproduces the run exactly.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sim.errors import ScenarioError
from sim.io.results import RunResult, check_out_dir, load_run, read_once, write_run
from sim.io.scenario import Scenario, apply_overrides, load_scenario, resolve, to_dict
from sim.metrics.invariants import assert_invariants
from sim.registry import POLICIES, ROUTERS
from sim.spec import parse_spec

Progress = Callable[[int, int, int], None]  # (day done, total days, orders so far)


def prepare(scenario: Scenario | str | Path, *, seed: int | None = None, days: int | None = None,
            policy: str | None = None, router: str | None = None, overrides: list[str] | None = None) -> Scenario:
    """The resolved scenario with the run's overrides applied (ScenarioError on bad values)."""
    sets = list(overrides or [])
    if seed is not None:
        sets.append(f"seed={seed}")
    if days is not None:
        sets.append(f"horizon.days={days}")
    if policy is not None:
        sets.append(f"policy={policy!r}" if "'" not in policy else f'policy="{policy}"')
    if router is not None:
        sets.append(f"router.name={router}")
    if isinstance(scenario, (str, Path)):
        sc = load_scenario(scenario, sets)
    else:
        sc = resolve(apply_overrides(to_dict(scenario), sets), Path.cwd()) if sets else scenario
    if sc.demand.source == "file":
        from sim.demand.history import check_history

        check_history(sc)  # the rows as the run reads them, and at least one order inside the horizon
    spec = parse_spec(sc.policy)
    for registry, name, field in ((POLICIES, spec.name, "policy"), (ROUTERS, sc.router.name, "router.name")):
        try:
            registry.get(name)
        except (KeyError, LookupError) as exc:
            raise ScenarioError(f"{field}: {exc.args[0]}") from None
    return sc


def run_tables(sc: Scenario, net: Any, cat: Any, order_id: Any) -> dict[str, Any]:
    """The run directory's tables beside the contract's four: skus (always), order_ids (history replay)."""
    from sim.io.skus import history_sku_map, order_ids_table, skus_table

    out: dict[str, Any] = {"skus": skus_table(cat, history_sku_map(sc, net, cat))}
    ids = order_ids_table(sc, net, cat, order_id)
    if ids is not None:
        out["order_ids"] = ids
    return out


def default_out(sc: Scenario) -> Path:
    return Path("runs") / f"{sc.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def simulate(scenario: Scenario | str | Path, *, seed: int | None = None, replication: int = 0,
             days: int | None = None, policy: str | None = None, router: str | None = None,
             out: str | Path | None = None, force: bool = False, overrides: list[str] | None = None,
             progress: Progress | None = None, report: bool = True, explain: bool = False,
             label: str | None = None, meta: dict[str, Any] | None = None) -> RunResult:
    """Run one scenario and return its results (written to `out`, default runs/<scenario>-<time>).

    With `report`, report.html and plots/ are written into the run directory too (`shangou report`
    rewrites them later if this is skipped). With `explain`, every routing decision's candidates are
    recorded into explain.parquet for ``shangou explain`` (about ``sim.engine.explain.ROW_BYTES`` bytes
    of memory per candidate (order, node) pair per routing epoch; other outputs are unchanged).
    `label` (``--label``), the `overrides` and `meta` (an experiment's: its kind, group, grid point) are
    stored in manifest.json, where ``shangou runs`` finds them.
    """
    from sim.engine.simulation import Simulation  # SimPy is imported only when a run starts

    sc = prepare(scenario, seed=seed, days=days, policy=policy, router=router, overrides=overrides)
    if not 0 <= replication < 2**63:
        raise ScenarioError(f"--replication: must be >= 0 and < 2^63, got {replication}")
    target = Path(out) if out is not None else default_out(sc)
    check_out_dir(target, force)  # refuse before spending the run, not after
    total = sc.horizon.warmup_days + sc.horizon.days
    t0 = time.perf_counter()
    sim = Simulation(sc, seed=sc.seed, replication=replication, days=sc.horizon.days, policy=sc.policy,
                     router=sc.router.name,
                     progress=(lambda day, n: progress(day, total, n)) if progress else None, explain=explain)
    records = sim.run()
    wall = time.perf_counter() - t0
    assert_invariants(records, drained=True, shelf_life_days=sim.cat.shelf_life_s / 86400.0)
    info: dict[str, Any] = {"seed": sc.seed, "replication": replication, "policy": sc.policy,
                            "router": sc.router.name, "wall_s": round(wall, 3),
                            "orders_per_s": round(records.orders.n / wall, 1) if wall > 0 else None}
    info.update({k: v for k, v in (meta or {}).items() if v not in (None, [], {})})
    if label:
        info["label"] = label
    if overrides:
        info["overrides"] = list(overrides)
    extra = run_tables(sc, sim.net, sim.cat, records.orders.order_id)
    if sim.explain is not None:
        from sim.io.explain import explain_table

        extra["explain"] = explain_table(sim.explain.records(), sim.net.node_ids)
    path = write_run(target, records, sim.net, sc, sim.cat.value_cny, info, force=force, extra=extra,
                     catalog=sim.cat)
    with read_once():  # the report, its calibration and the result read the run directory once
        if report:  # matplotlib and DuckDB load only when a report is wanted
            from sim.report.html import write_report

            write_report(path)
        return load_run(path)
