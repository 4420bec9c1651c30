"""The machinery compare and sweep share: configurations x replications, run in rounds, aggregated.

An experiment is a list of ``Group``s (a configuration: a resolved scenario with its policy and
router) each run for replications 0..K-1 with common random numbers: the same seed and the same
replication index r for every group, so group A's replication r sees exactly the orders and
customers of group B's replication r. Run directories are ``DIR/runs/<group slug>/r<k>/``; jobs are started replication-major.

Adaptive replications (``ci_width``): after each round, for every group whose jobs all succeeded,
the headline intervals must satisfy
    half-width of the 95% CI of cost_per_order_cny <= ci_width * |its mean|   (relative: ±x %)
    half-width of the 95% CI of perfect_order_rate <= ci_width               (absolute: ±x rate points)
(half-width = t(0.975, n-1)·s/√n). If not, the next round brings n to the smallest m at which the
current standard deviations would meet both targets, but at most 2n and at most ``max_replications``
(s from few replications is noisy, so it grows geometrically rather than jumping to a guess).
Groups with a failed job take no part in later rounds (the failure is almost always deterministic).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.experiments.executors import EXECUTORS, make_executor, run_all
from sim.experiments.headline import KPI_NAMES
from sim.experiments.jobs import Job, JobOutcome, error_line, reuse, run_job
from sim.experiments.stats import paired_difference, summarize, t_quantile
from sim.io.files import write_atomic
from sim.io.outdir import LOCK_NAME
from sim.io.scenario import Scenario, scenario_hash
from sim.spec import parse_spec

MARKER = "experiment.json"
_SLUG = re.compile(r"[^A-Za-z0-9_.=-]+")
CI_KPIS = ("cost_per_order_cny", "perfect_order_rate")  # the headline intervals ci_width controls
LEVEL = 0.95
SUMMARY_COLUMNS = (
    "kpi",
    "n",
    "n_failed",
    "mean",
    "std",
    "ci_low",
    "ci_high",
    "half_width",
    "diff_mean",
    "diff_std",
    "diff_ci_low",
    "diff_ci_high",
    "diff_n",
    "corr",
)


@dataclass(frozen=True)
class Group:
    """One configuration: `label` in tables, `slug` as its run-directory name, `columns` for the tables,
    `alternates`: other run-directory names an identical earlier run may be under (another verb's
    layout, another spelling of the policy), looked in for reuse only."""

    label: str
    slug: str
    scenario: Scenario
    columns: dict[str, Any] = field(default_factory=dict)
    alternates: tuple[str, ...] = ()


@dataclass
class ExperimentResult:
    """What compare / sweep return: the summary table (one row per group x KPI), one row per job,
    the failed jobs, the plots written, and how many replications each group got."""

    path: Path
    table: pd.DataFrame
    replications: pd.DataFrame
    outcomes: list[JobOutcome]
    groups: list[Group]
    rounds: int
    plots: dict[str, Path] = field(default_factory=dict)

    @property
    def failures(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ran(self) -> int:
        return sum(o.status == "ran" for o in self.outcomes)

    @property
    def reused(self) -> int:
        return sum(o.status == "reused" for o in self.outcomes)


# --------------------------------------------------------------------------- files
def write_table(df: pd.DataFrame, out: Path, stem: str) -> None:
    """`stem`.parquet and `stem`.csv in `out`, each atomically."""
    write_atomic(out / f"{stem}.parquet", lambda p: df.to_parquet(p, index=False))
    write_atomic(out / f"{stem}.csv", lambda p: df.to_csv(p, index=False))


def prepare_out(out: Path, kind: str) -> None:
    """Create `out`, or accept it if it is empty, holds only ``runs/`` (run directories copied from
    another experiment, to be reused) or is an earlier experiment (whose runs may be reused)."""
    if out.exists():
        if not out.is_dir():
            raise ScenarioError(f"--out: {out} exists and is not a directory")
        if any(p.name not in (LOCK_NAME, "runs") for p in out.iterdir()) and not (out / MARKER).is_file():
            raise ScenarioError(
                f"--out: {out} is not empty and is not a compare/sweep directory (no {MARKER})"
            )
        if (out / MARKER).is_file():
            try:
                old = json.loads((out / MARKER).read_text(encoding="utf-8")).get("kind")
            except (OSError, ValueError, AttributeError):
                old = None
            if old not in (None, kind):
                raise ScenarioError(f"--out: {out} holds a {old}, not a {kind}")
    try:
        (out / "runs").mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ScenarioError(f"--out: cannot create {out}: {e.strerror or e}") from e


def _slug_part(path: str, value: str) -> str:
    v = parse_spec(value).slug if path == "policy" else value
    return _SLUG.sub("_", f"{path}={v}")


def point_slug(point: Mapping[str, str]) -> str:
    """File-name-safe, stable across grid changes (a point keeps its directory when an axis grows)."""
    slug = "-".join(_slug_part(p, v) for p, v in point.items())
    if len(slug) > 120:
        slug = slug[:100] + "-" + hashlib.sha256(slug.encode()).hexdigest()[:10]
    return slug


def unique_slugs(groups: Sequence[Group], what: str) -> None:
    seen: dict[str, str] = {}
    for g in groups:
        if g.slug in seen:
            raise ScenarioError(
                f"{what}: {g.label!r} and {seen[g.slug]!r} are the same configuration "
                f"(run directory {g.slug})"
            )
        seen[g.slug] = g.label


# --------------------------------------------------------------------------- rounds
def _needed(values: np.ndarray, target: float) -> int:
    """Smallest m with t(m-1)·s/√m <= target for the sample std s of `values` (huge if s unknown)."""
    v = values[np.isfinite(values)]
    if v.size < 2:
        return 10**9
    s = float(v.std(ddof=1))
    if s == 0.0:
        return int(v.size)
    if target <= 0:
        return 10**9
    m = 2
    while m < 10**6 and t_quantile(m) * s / math.sqrt(m) > target:
        m = max(m + 1, int(m * 1.05))
    return m


def next_n(outcomes: Sequence[JobOutcome], groups: Sequence[Group], n: int, ci_width: float) -> int:
    """The replications the next round should bring every group to (n if the intervals are narrow enough)."""
    want = n
    for g in groups:
        mine = [o for o in outcomes if o.group == g.label]
        if not mine or not all(o.ok for o in mine):
            continue
        for kpi in CI_KPIS:
            vals = np.array([o.metrics[kpi] if o.metrics else math.nan for o in mine], dtype=float)
            s = summarize(vals, LEVEL)
            target = ci_width * abs(s.mean) if kpi == "cost_per_order_cny" else ci_width
            if not (s.half_width <= target):  # NaN (n < 2) is not narrow enough
                want = max(want, _needed(vals, target))
    return want


def job_order(groups: Sequence[Group], have: int, n: int) -> list[tuple[Group, int]]:
    """Replication-major: replication `have` of every group, then the next, ... so that an experiment
    stopped early has (nearly) as many replications of every group. Results do not depend on the
    order: each job's random numbers are keyed by its replication (DESIGN.md 5)."""
    return [(g, r) for r in range(have, n) for g in groups]


def run_rounds(
    groups: Sequence[Group],
    *,
    out: Path,
    replications: int,
    executor: str = "local",
    address: str | None = None,
    workers: int | None = None,
    ci_width: float | None = None,
    max_replications: int = 30,
    progress: bool | None = None,
    name: str = "experiment",
    meta: dict[str, Any] | None = None,
) -> tuple[list[JobOutcome], int]:
    """Run every group for replications 0..K-1 (more with ci_width); reuse finished identical runs.

    `meta` (the experiment's kind, label, overrides) goes into every run's manifest.json with the group's
    label and grid point."""
    check_options(executor, address, replications, ci_width, max_replications)
    hashes = {g.label: scenario_hash(g.scenario) for g in groups}
    outcomes: list[JobOutcome] = []
    ex = None
    have, n, rounds = 0, replications if ci_width is None else max(replications, 2), 0
    try:
        while n > have:
            rounds += 1
            active = [g for g in groups if all(o.ok for o in outcomes if o.group == g.label)]
            jobs = [
                Job(
                    g.label,
                    r,
                    g.scenario,
                    hashes[g.label],
                    str(out / "runs" / g.slug / f"r{r}"),
                    {**(meta or {}), "group": g.label, **({"grid": dict(g.columns)} if g.columns else {})},
                    tuple(str(out / "runs" / a / f"r{r}") for a in g.alternates if a != g.slug),
                )
                for g, r in job_order(active, have, n)
            ]
            todo: list[Job] = []
            for job in jobs:
                done = reuse(job)
                if done is None:
                    todo.append(job)
                else:
                    outcomes.append(done)
            if todo:
                if ex is None:
                    ex = make_executor(executor, address=address, workers=workers)
                label = f"{name}: round {rounds}, replications {have}..{n - 1}" if ci_width else name
                outcomes += run_all(
                    ex,
                    run_job,
                    todo,
                    _failed,
                    description=label,
                    progress=progress,
                    failed=lambda o: not o.ok,
                )
            have = n
            if ci_width is None or n >= max_replications:
                break
            want = next_n(outcomes, groups, n, ci_width)
            n = min(max_replications, max(n + 1, min(want, 2 * n))) if want > n else n
    finally:
        if ex is not None:
            ex.close()
    order = {g.label: i for i, g in enumerate(groups)}
    outcomes.sort(key=lambda o: (order[o.group], o.replication))
    return outcomes, rounds


def check_options(
    executor: str, address: str | None, replications: int, ci_width: float | None, max_replications: int
) -> None:
    """Refuse bad run options (exit 2) before anything is written or run, even if every job is reused."""
    if executor not in EXECUTORS:
        raise ScenarioError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {executor!r}")
    if address is not None and executor != "dask":
        raise ScenarioError("--address: only with --executor dask")
    if replications < 1:
        raise ScenarioError(f"--replications: must be >= 1, got {replications}")
    if ci_width is not None:
        if not ci_width > 0:
            raise ScenarioError(f"--ci-width: must be > 0, got {ci_width}")
        if max_replications < max(replications, 2):
            raise ScenarioError(
                f"--max-replications: must be >= max(--replications, 2), got {max_replications}"
            )


def _failed(job: Job, exc: BaseException) -> JobOutcome:
    """A job the executor itself lost (worker killed, pool broken)."""
    return JobOutcome(job.group, job.replication, job.out, "failed", error=error_line(exc))


# --------------------------------------------------------------------------- tables
def replications_table(
    outcomes: Sequence[JobOutcome], groups: Sequence[Group], key: str, out: Path
) -> pd.DataFrame:
    """One row per job: the group's columns, replication, status, error, run directory (relative to
    `out`), wall seconds of this run (0 if reused) and the headline KPIs (NaN if failed)."""
    cols = {g.label: g.columns for g in groups}
    rows = []
    for o in outcomes:
        row: dict[str, Any] = {
            key: o.group,
            **cols[o.group],
            "replication": o.replication,
            "status": o.status,
            "error": o.error or "",
            "run_dir": os.path.relpath(o.out, out),
            "wall_s": round(o.wall_s, 3),
        }
        row.update({k: (o.metrics or {}).get(k, math.nan) for k in KPI_NAMES})
        rows.append(row)
    return pd.DataFrame(
        rows,
        columns=[
            key,
            *next(iter(cols.values()), {}).keys(),
            "replication",
            "status",
            "error",
            "run_dir",
            "wall_s",
            *KPI_NAMES,
        ],
    )


def summary_table(outcomes: Sequence[JobOutcome], groups: Sequence[Group], key: str) -> pd.DataFrame:
    """Per group and headline KPI: n, mean, std, 95% t interval, and the paired difference to the
    first group (pairs = same replication, both successful) with its interval and correlation."""

    def values(label: str) -> dict[int, dict[str, float]]:
        return {o.replication: o.metrics for o in outcomes if o.group == label and o.metrics is not None}

    base = values(groups[0].label) if groups else {}
    rows = []
    for g in groups:
        mine = values(g.label)
        n_failed = sum(1 for o in outcomes if o.group == g.label and not o.ok)
        common = sorted(set(mine) & set(base))
        for kpi in KPI_NAMES:
            s = summarize([mine[r][kpi] for r in sorted(mine)], LEVEL)
            row: dict[str, Any] = {
                key: g.label,
                **g.columns,
                "kpi": kpi,
                "n": s.n,
                "n_failed": n_failed,
                "mean": s.mean,
                "std": s.std,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
                "half_width": s.half_width,
            }
            if g is groups[0]:
                row.update(
                    diff_mean=math.nan,
                    diff_std=math.nan,
                    diff_ci_low=math.nan,
                    diff_ci_high=math.nan,
                    diff_n=0,
                    corr=math.nan,
                )
            else:
                d = paired_difference([mine[r][kpi] for r in common], [base[r][kpi] for r in common], LEVEL)
                row.update(
                    diff_mean=d.mean,
                    diff_std=d.std,
                    diff_ci_low=d.ci_low,
                    diff_ci_high=d.ci_high,
                    diff_n=d.n,
                    corr=d.corr,
                )
            rows.append(row)
    columns = [key, *(groups[0].columns if groups else {}).keys(), *SUMMARY_COLUMNS]
    df = pd.DataFrame(rows, columns=columns)
    df["baseline"] = groups[0].label if groups else ""
    return df


def write_marker(out: Path, kind: str, info: dict[str, Any]) -> None:
    from sim.io.results import dumps

    write_atomic(out / MARKER, lambda p: p.write_text(dumps({"kind": kind, **info}), encoding="utf-8"))
