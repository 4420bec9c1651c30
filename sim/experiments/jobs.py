"""One experiment job = one (configuration, replication) run, and whether an earlier run can stand in.

The job function ``run_job`` is module-level and takes one picklable ``Job`` (the resolved
scenario travels with it), so the same function runs in a local process pool and on Dask workers.
It never raises: a failure comes back as a ``JobOutcome`` with the error, so one bad job cannot
stop the others.

Re-use: a job is skipped when its run directory is complete and its manifest matches the job's
fingerprint — scenario hash (which covers seed, days, overrides, policy and router), policy spec,
router, replication and Shangou version. Policies are compared in canonical form
(``sim.spec.canonical_spec``: ``holding_weight=51.0`` is ``holding_weight=51``); as the scenario hash
covers the policy's text, a run stored under another spelling of the same policy is checked by
re-hashing the job's scenario with that spelling. A job also looks in its ``alternates`` (the same
run under another directory layout, e.g. a sweep's ``runs/policy=<slug>/`` for a compare's
``runs/<slug>/``) and reports the directory it found. Anything else (no manifest, another scenario, an older
version) runs again and replaces the directory (write_run swaps it in atomically). Jobs write no
per-run report (report.html, plots/): the comparison has its own plots, and ``shangou report`` on
a run directory writes one later.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim import __version__

if TYPE_CHECKING:
    from sim.io.scenario import Scenario

THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
FINGERPRINT_KEYS = ("scenario_hash", "policy", "router", "replication", "shangou_version")


@dataclass(frozen=True)
class Job:
    """Run `scenario` (already resolved, with its policy and router) as `replication` into `out`."""

    group: str  # the configuration's label (a policy SPEC, a grid point)
    replication: int
    scenario: Scenario
    scenario_hash: str
    out: str  # run directory
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # into manifest.json
    alternates: tuple[str, ...] = ()  # other run directories an identical earlier run may be in

    @property
    def fingerprint(self) -> dict[str, Any]:
        return {
            "scenario_hash": self.scenario_hash,
            "policy": self.scenario.policy,
            "router": self.scenario.router.name,
            "replication": self.replication,
            "shangou_version": __version__,
        }


@dataclass
class JobOutcome:
    """What became of a job: status "ran", "reused" or "failed"; headline KPIs unless failed."""

    group: str
    replication: int
    out: str
    status: str
    metrics: dict[str, float] | None = None
    error: str | None = None  # one line: "ValueError: policy top_n: n must be >= 0, got -5"
    detail: str | None = field(default=None, repr=False)  # the traceback, for logs
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "failed"


def manifest_fingerprint(run_dir: str | Path) -> dict[str, Any] | None:
    """The fingerprint stored in a complete run directory, or None (missing, partial, unreadable)."""
    from sim.io.results import RUN_FILES

    p = Path(run_dir)
    if not all((p / f).is_file() for f in RUN_FILES):
        return None
    try:
        man = json.loads((p / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(man, dict):
        return None
    return {k: man.get(k) for k in FINGERPRINT_KEYS}


def same_run(found: dict[str, Any] | None, job: Job) -> bool:
    """True if the stored fingerprint `found` is one of `job` (policies compared canonically)."""
    from sim.io.scenario import scenario_hash
    from sim.spec import same_policy

    want = job.fingerprint
    if found is None or any(found[k] != want[k] for k in ("router", "replication", "shangou_version")):
        return False
    stored = found["policy"]
    if not same_policy(stored, want["policy"]):
        return False
    if found["scenario_hash"] == want["scenario_hash"]:
        return True
    if not isinstance(stored, str) or stored == job.scenario.policy:
        return False
    # the hash covers the policy's text: hash the job's scenario with the stored spelling
    return bool(scenario_hash(job.scenario.model_copy(update={"policy": stored})) == found["scenario_hash"])


def is_done(job: Job, run_dir: str | None = None) -> bool:
    """True if `run_dir` (default `job.out`) holds a finished run of exactly this job."""
    return same_run(manifest_fingerprint(job.out if run_dir is None else run_dir), job)


def pin_threads() -> None:
    """One thread per numerical library in this process: parallelism comes from processes, and
    oversubscribed BLAS/OpenMP pools only slow a pool of simulations down. Environment variables
    reach libraries loaded later; threadpoolctl (if installed) limits those already loaded."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    threadpool_limits(1)


def error_line(exc: BaseException) -> str:
    """`Type: first line of the message`, the one line a failed job is reported with."""
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0]}" if msg else type(exc).__name__


def run_job(job: Job) -> JobOutcome:
    """The job function (module-level, picklable): simulate one replication, never raise."""
    from sim.experiments.headline import headline
    from sim.run import simulate

    pin_threads()  # also on Dask workers we did not start
    t0 = time.perf_counter()
    try:
        # no per-run report.html / plots: matplotlib would cost more than a toy run
        # (``shangou report DIR/runs/<slug>/r<k>`` writes one when wanted)
        res = simulate(
            job.scenario, replication=job.replication, out=job.out, force=True, report=False, meta=job.meta
        )
        metrics = headline(res.kpis, res.path)
    except Exception as exc:  # reported with the job, the others go on
        return JobOutcome(
            job.group,
            job.replication,
            job.out,
            "failed",
            error=error_line(exc),
            detail=traceback.format_exc(),
            wall_s=time.perf_counter() - t0,
        )
    return JobOutcome(
        job.group, job.replication, job.out, "ran", metrics=metrics, wall_s=time.perf_counter() - t0
    )


def reuse(job: Job) -> JobOutcome | None:
    """The outcome of an earlier identical run of `job` (in `job.out`, else in an alternate), or None
    if it has to run."""
    from sim.experiments.headline import read_headline

    for run_dir in (job.out, *job.alternates):
        if not is_done(job, run_dir):
            continue
        try:
            metrics = read_headline(run_dir)
        except Exception:  # unreadable despite a matching manifest: try the next, or run it again
            continue
        return JobOutcome(job.group, job.replication, run_dir, "reused", metrics=metrics)
    return None
