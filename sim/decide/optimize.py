"""``optimize``: simulation optimisation over scenario fields and policy knobs, with a sound final choice.

Search. Optuna's TPE sampler (seeded, so the same scenario and options ask for the same designs)
proposes designs in batches of ``batch`` (one per worker); each design is simulated for
replications 0..K-1 with common random numbers (the same seed and replication index for every
design, so two designs see the same orders and customers and their difference is paired). The
objective is the mean of a headline KPI over those replications; constraints (``KPI>=X``) go to
TPE's constrained mode (``Trial.set_constraint``: a design is feasible when every constraint
holds on its mean). Optuna was chosen over scikit-optimize (unmaintained since 2021) and a
hand-written Bayesian loop: it is well kept, handles integers, logs and categories natively, and
its ask/tell interface lets the simulator run a whole batch in parallel on our executors.

Selection. The search's ranking is noisy (K replications each, and the best of many noisy means is
biased low). The ``select_top`` best feasible designs are therefore simulated again on more common
replications (0..K+M-1, the first K reused) and the design with the best mean that meets every
constraint on its mean is chosen. For every other finalist the paired difference to the chosen
design is reported with a Bonferroni-corrected simultaneous interval (level 1 - 0.05/(m-1) for m
finalists): a finalist whose interval excludes 0 is worse with 95% confidence, the others are
statistically indistinguishable (a multiple comparison with the chosen design). Each constraint of
the chosen design is reported with its 95% interval and "met at 95%" when the whole interval clears
the bound.

Everything evaluated is an ordinary scenario run: ``DIR/runs/<design slug>/r<k>/``, reused on a
re-run (so an interrupted optimisation resumes where it stopped and asks for the same designs).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.decide.space import Design, Param, Value, design_label, design_slug, literal
from sim.errors import ScenarioError
from sim.experiments.headline import BY_NAME, KPI_NAMES
from sim.experiments.stats import paired_difference, pareto_front, summarize

LEVEL = 0.95
_CONSTRAINT = re.compile(
    r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(>=|<=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)

# (designs, replications) -> per design, per replication 0..n-1: the headline KPIs (None if failed)
Evaluator = Callable[[Sequence[Design], int], list[list[dict[str, float] | None]]]


@dataclass(frozen=True)
class Objective:
    kpi: str
    sense: str  # "min" | "max"

    def better(self, a: float, b: float) -> bool:
        return a < b if self.sense == "min" else a > b


@dataclass(frozen=True)
class Constraint:
    kpi: str
    op: str  # ">=" | "<="
    bound: float

    def slack(self, value: float) -> float:
        """<= 0 when met (Optuna's convention for constraints_func)."""
        return self.bound - value if self.op == ">=" else value - self.bound

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.bound:g}"


def _known(kpi: str, what: str) -> None:
    if kpi not in BY_NAME:
        raise ScenarioError(f"{what}: unknown KPI {kpi!r}; one of {', '.join(KPI_NAMES)}")


def parse_objective(text: str) -> Objective:
    """``KPI`` (its natural direction) or ``min:KPI`` / ``max:KPI``."""
    sense, _, kpi = text.strip().rpartition(":")
    kpi = kpi.strip()
    _known(kpi, "--objective")
    natural = BY_NAME[kpi].sense
    sense = sense.strip() or (natural or "")
    if sense not in ("min", "max"):
        raise ScenarioError(f"--objective: {kpi} has no natural direction; write min:{kpi} or max:{kpi}")
    return Objective(kpi, sense)


def parse_constraint(text: str) -> Constraint:
    m = _CONSTRAINT.match(text)
    if m is None:
        raise ScenarioError(f"--constraint {text}: expected KPI>=X or KPI<=X, e.g. perfect_order_rate>=0.75")
    _known(m.group(1), f"--constraint {text}")
    return Constraint(m.group(1), m.group(2), float(m.group(3)))


@dataclass
class Trial:
    """One evaluated design: its per-replication KPIs and their means."""

    number: int
    design: Design
    runs: list[dict[str, float] | None]

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r is not None for r in self.runs)

    def values(self, kpi: str) -> np.ndarray:
        return np.array([r[kpi] if r is not None else math.nan for r in self.runs], dtype=float)

    def mean(self, kpi: str) -> float:
        v = self.values(kpi)
        return float(np.mean(v)) if self.ok and np.all(np.isfinite(v)) else math.nan


@dataclass
class OptimizeResult:
    """The chosen design and how sure it is, every design evaluated, and the finalists' comparison."""

    chosen: Design | None
    objective: Objective
    constraints: list[Constraint]
    trials: pd.DataFrame  # one row per distinct design evaluated in the search
    finalists: pd.DataFrame  # the selection stage: per finalist, objective and constraint statistics
    chosen_kpis: pd.DataFrame  # headline KPIs of the chosen design: mean and 95% CI
    simulations: int  # runs simulated or reused, search + selection
    path: Path | None = None
    plots: dict[str, Path] = field(default_factory=dict)


def _suggest(trial: Any, p: Param) -> Value:
    if p.kind == "int":
        return int(trial.suggest_int(p.path, int(p.low), int(p.high), log=p.log))
    if p.kind == "float":
        return float(trial.suggest_float(p.path, p.low, p.high, log=p.log))
    return literal(str(trial.suggest_categorical(p.path, list(p.choices))))


def _feasible(t: Trial, constraints: Sequence[Constraint]) -> bool:
    return t.ok and all(c.slack(t.mean(c.kpi)) <= 0 for c in constraints)


def search(
    space: Sequence[Param],
    evaluate: Evaluator,
    objective: Objective,
    constraints: Sequence[Constraint],
    *,
    budget: int,
    replications: int,
    seed: int,
    batch: int = 1,
    start: Design | None = None,
) -> list[Trial]:
    """Up to `budget` distinct designs proposed by seeded TPE, each run for `replications` replications;
    `start` (the planner's current design) is evaluated first, so the search and the final choice can only
    keep it or find better."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(2, min(10, budget // 3)))
    study = optuna.create_study(
        direction="minimize" if objective.sense == "min" else "maximize", sampler=sampler
    )
    if start is not None:
        study.enqueue_trial(
            {p.path: str(start[p.path]) if p.kind == "categorical" else start[p.path] for p in space}
        )
    seen: dict[str, Trial] = {}
    trials: list[Trial] = []
    asks = 0
    while len(trials) < budget and asks < 4 * budget + 8:  # a small discrete space may run out of new designs
        k = min(max(1, batch), budget - len(trials))
        asked = [study.ask() for _ in range(k)]
        asks += k
        designs = [{p.path: _suggest(t, p) for p in space} for t in asked]
        fresh = list({design_slug(d): d for d in designs if design_slug(d) not in seen}.values())
        for d, runs in zip(fresh, evaluate(fresh, replications) if fresh else [], strict=True):
            tr = Trial(len(trials), d, runs)
            seen[design_slug(d)] = tr
            trials.append(tr)
        for t, d in zip(asked, designs, strict=True):
            tr = seen[design_slug(d)]
            value = tr.mean(objective.kpi)
            if not math.isfinite(value):
                study.tell(t, state=optuna.trial.TrialState.FAIL)
                continue
            for i, c in enumerate(constraints):  # TPE's constrained mode (Optuna >= 5)
                t.set_constraint(f"c{i}:{c}", c.slack(tr.mean(c.kpi)))
            study.tell(t, value)
    return trials


def _rank_key(objective: Objective) -> Callable[[Trial], float]:
    sign = 1.0 if objective.sense == "min" else -1.0
    return lambda t: sign * t.mean(objective.kpi)


def select(
    trials: Sequence[Trial],
    evaluate: Evaluator,
    objective: Objective,
    constraints: Sequence[Constraint],
    *,
    top: int,
    replications: int,
) -> tuple[Trial | None, list[Trial], pd.DataFrame]:
    """Re-run the `top` best feasible designs on `replications` common replications and choose (see module)."""
    feasible = sorted((t for t in trials if _feasible(t, constraints)), key=_rank_key(objective))
    finalists_in = feasible[: max(1, top)]
    if not finalists_in:
        return None, [], pd.DataFrame()
    runs = evaluate([t.design for t in finalists_in], replications)
    finalists = [Trial(t.number, t.design, r) for t, r in zip(finalists_in, runs, strict=True)]
    ok = sorted((t for t in finalists if _feasible(t, constraints)), key=_rank_key(objective))
    chosen = ok[0] if ok else None
    m = len(finalists)
    simultaneous = 1 - (1 - LEVEL) / max(1, m - 1)
    rows = []
    for t in finalists:
        s = summarize(t.values(objective.kpi), LEVEL)
        row: dict[str, Any] = {
            "trial": t.number,
            "design": design_label(t.design),
            **t.design,
            "n": s.n,
            f"{objective.kpi}_mean": s.mean,
            f"{objective.kpi}_ci_low": s.ci_low,
            f"{objective.kpi}_ci_high": s.ci_high,
            "chosen": chosen is not None and t is chosen,
        }
        for c in constraints:
            cs = summarize(t.values(c.kpi), LEVEL)
            row[f"{c}_mean"] = cs.mean
            met = cs.ci_low >= c.bound if c.op == ">=" else cs.ci_high <= c.bound
            row[f"{c}_met_at_95"] = bool(met)
        if chosen is not None and t is not chosen:
            d = paired_difference(t.values(objective.kpi), chosen.values(objective.kpi), simultaneous)
            worse = d.ci_low > 0 if objective.sense == "min" else d.ci_high < 0
            row.update(
                diff_to_chosen=d.mean,
                diff_ci_low=d.ci_low,
                diff_ci_high=d.ci_high,
                verdict="worse (simultaneous 95%)" if worse else "indistinguishable",
            )
        else:
            row.update(
                diff_to_chosen=math.nan,
                diff_ci_low=math.nan,
                diff_ci_high=math.nan,
                verdict="chosen" if t is chosen else "infeasible on more replications",
            )
        rows.append(row)
    return chosen, finalists, pd.DataFrame(rows)


def trials_table(
    trials: Sequence[Trial], objective: Objective, constraints: Sequence[Constraint]
) -> pd.DataFrame:
    """One row per evaluated design: its values, the headline KPI means, feasibility, the Pareto front
    of cost per order against perfect-order rate."""
    rows = [
        {
            "trial": t.number,
            "design": design_label(t.design),
            **t.design,
            "n": len(t.runs),
            "ok": t.ok,
            "feasible": _feasible(t, constraints),
            **{k: t.mean(k) for k in KPI_NAMES},
        }
        for t in trials
    ]
    df = pd.DataFrame(rows)
    if len(df):
        pts = df[["cost_per_order_cny", "perfect_order_rate"]].to_numpy(dtype=float)
        df["pareto_cost_perfect"] = pareto_front(pts, ("min", "max"))
        df["objective"] = df[objective.kpi]
    return df


def chosen_table(chosen: Trial | None) -> pd.DataFrame:
    """Every headline KPI of the chosen design on the selection replications: mean and 95% CI."""
    if chosen is None:
        return pd.DataFrame(columns=["kpi", "label", "n", "mean", "ci_low", "ci_high"])
    rows = []
    for k in KPI_NAMES:
        s = summarize(chosen.values(k), LEVEL)
        rows.append(
            {
                "kpi": k,
                "label": BY_NAME[k].label,
                "n": s.n,
                "mean": s.mean,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
            }
        )
    return pd.DataFrame(rows)


def optimize_designs(
    space: Sequence[Param],
    evaluate: Evaluator,
    objective: Objective,
    constraints: Sequence[Constraint],
    *,
    budget: int,
    replications: int,
    seed: int,
    batch: int = 1,
    select_top: int = 3,
    select_replications: int | None = None,
    start: Design | None = None,
) -> OptimizeResult:
    """Search then select (the simulator is `evaluate`, so tests can pass a known function)."""
    if budget < 1:
        raise ScenarioError(f"--budget: must be >= 1, got {budget}")
    if replications < 1:
        raise ScenarioError(f"--replications: must be >= 1, got {replications}")
    final_n = select_replications if select_replications is not None else max(2 * replications, 5)
    if final_n < replications:
        raise ScenarioError(
            f"--select-replications: must be >= --replications ({replications}), got {final_n}"
        )
    trials = search(
        space,
        evaluate,
        objective,
        constraints,
        budget=budget,
        replications=replications,
        seed=seed,
        batch=batch,
        start=start,
    )
    chosen, finalists, fin_table = select(
        trials, evaluate, objective, constraints, top=select_top, replications=final_n
    )
    sims = len(trials) * replications + len(finalists) * (final_n - replications)
    return OptimizeResult(
        chosen.design if chosen else None,
        objective,
        list(constraints),
        trials_table(trials, objective, constraints),
        fin_table,
        chosen_table(chosen),
        sims,
    )
