"""Tune one policy parameter until the policy holds a target average forward inventory (issue 7).

Comparing policies "at equal forward inventory" needs each policy's knob set so that its average
stock value at FDCs plus stores (the ``forward_inventory_value_cny`` headline KPI) hits the same
target: ``top_n`` has ``n``, ``base_stock`` and ``forecast_push`` have ``service``, ``cost_optimal``
has ``holding_weight`` (the price of capital; forward value falls as it rises).

``match_inventory`` measures the KPI with short ``compare`` runs (the same seed and replications
at every step: common random numbers keep the measured curve smooth in the parameter) and
searches the bracket [lo, hi] by regula falsi with the Illinois modification (superlinear on a
smooth monotone curve), safeguarded by bisection whenever the secant lands in the outer 1 % of
the bracket; on a log scale when the bracket spans >= 20x (``holding_weight``), on integers for an
integer parameter (``n``). It stops when the measured value is within ``tol`` (relative) of the
target, when an integer bracket closes, or after ``max_iter`` measurements, and returns every step
(a miss is reported, never hidden). The direction (rising or falling) is read from the two ends; a
target outside their values is reported as not bracketed without further runs.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.spec import Spec, canonical_spec, parse_spec

if TYPE_CHECKING:
    from sim.io.scenario import Scenario

KPI = "forward_inventory_value_cny"


@dataclass(frozen=True)
class Step:
    value: float  # the parameter
    inventory_cny: float  # measured mean forward inventory value
    half_width: float = math.nan  # its 95% CI half-width over the replications


@dataclass
class MatchResult:
    policy: str  # the SPEC at the chosen value
    param: str
    value: float
    inventory_cny: float
    target_cny: float
    converged: bool  # within tol of the target
    bracketed: bool  # the target lies between the values at lo and hi
    steps: list[Step] = field(default_factory=list)

    @property
    def relative_error(self) -> float:
        return (self.inventory_cny - self.target_cny) / self.target_cny if self.target_cny else math.nan


def _to(u: float, log: bool) -> float:
    return math.exp(u) if log else u


def search(
    measure: Callable[[float], float],
    lo: float,
    hi: float,
    target: float,
    *,
    tol: float = 0.02,
    max_iter: int = 10,
    log: bool = False,
    integer: bool = False,
) -> tuple[float, float, bool, bool]:
    """(x, measure(x), converged, bracketed) for the x in [lo, hi] whose measure is closest to `target`.

    `measure` must be monotone (either way) in x; see the module docstring for the method.
    """
    if not lo < hi:
        raise ValueError(f"need lo < hi, got {lo} and {hi}")
    if log and lo <= 0:
        raise ValueError(f"a log-scale search needs lo > 0, got {lo}")
    if integer:
        lo, hi = float(math.ceil(lo)), float(math.floor(hi))
    seen: dict[float, float] = {}

    def f(x: float) -> float:
        if x not in seen:
            seen[x] = float(measure(int(x) if integer else x))
        return seen[x] - target

    def close(x: float) -> bool:
        return abs(seen[x] - target) <= tol * abs(target)

    def best() -> float:
        return min(seen, key=lambda x: (abs(seen[x] - target), x))

    def done(converged: bool, bracketed: bool) -> tuple[float, float, bool, bool]:
        x = best()
        return (int(x) if integer else x), seen[x], converged, bracketed

    fa, fb = f(lo), f(hi)
    for x in (lo, hi):
        if close(x):
            return done(True, True)
    if fa * fb > 0:
        return done(False, False)
    a, b = (math.log(lo), math.log(hi)) if log else (lo, hi)
    ga, gb = fa, fb  # residuals at a (the retained end) and b (the newest point); signs differ
    for _ in range(max(max_iter - 2, 0)):
        left, right = min(a, b), max(a, b)
        u = b - gb * (b - a) / (gb - ga)
        if not (left + 0.01 * (right - left) <= u <= right - 0.01 * (right - left)):
            u = 0.5 * (left + right)  # the secant hugs an end: bisect instead
        x = _to(u, log)
        if integer:
            xl, xr = round(_to(left, log)), round(_to(right, log))
            if xr - xl <= 1:
                return done(False, True)
            x = float(min(max(round(x), xl + 1), xr - 1))
            u = math.log(x) if log else x
        fx = f(x)
        if close(x):
            return done(True, True)
        if fx * gb < 0:  # the root lies between b and the new point: b becomes the retained end
            a, ga = b, gb
        else:  # Illinois: the retained end survives again, halve its residual
            ga /= 2.0
        b, gb = u, fx
    return done(False, True)


def match_inventory(
    scenario: Scenario | str | Path,
    policy: str,
    param: str,
    lo: float,
    hi: float,
    target_value_cny: float,
    *,
    days: int = 1,
    replications: int = 3,
    tol: float = 0.02,
    max_iter: int = 10,
    scale: str = "auto",
    integer: bool | None = None,
    out: str | Path | None = None,
    workers: int | None = None,
    router: str | None = None,
    seed: int | None = None,
    overrides: Sequence[str] | None = None,
) -> MatchResult:
    """Set `param` of `policy` (a SPEC; its other parameters are kept) in [lo, hi] so the mean forward
    inventory value over `replications` runs of `days` measured days is within `tol` of the target.

    Each step is a ``compare`` of the one policy into ``out/<param>=<value>`` (re-used if run
    before); ``out/match.json`` records every step. `scale`: "log", "linear" or "auto" (log when
    lo > 0 and hi >= 20 lo); `integer` (default: lo and hi are both ints) rounds the parameter.
    """
    from sim.experiments.compare import compare, default_out

    if scale not in ("auto", "log", "linear"):
        raise ValueError(f"scale must be auto, log or linear, got {scale!r}")
    if not target_value_cny > 0:
        raise ValueError(f"target_value_cny must be > 0, got {target_value_cny}")
    spec = parse_spec(policy)
    log = scale == "log" or (scale == "auto" and lo > 0 and hi >= 20 * lo)
    if integer is None:
        integer = isinstance(lo, int) and isinstance(hi, int)
    name = scenario.name if not isinstance(scenario, (str, Path)) else Path(scenario).stem
    target = Path(out) if out is not None else default_out("match", f"{name}-{spec.name}")
    steps: list[Step] = []

    def at(x: float) -> str:
        return str(canonical_spec(Spec(spec.name, {**spec.params, param: x})))

    def measure(x: float) -> float:
        res = compare(
            scenario,
            [at(x)],
            replications=replications,
            out=target / f"{param}={x:.6g}",
            workers=workers,
            router=router,
            days=days,
            seed=seed,
            overrides=overrides,
            progress=False,
            plots=False,
        )
        if res.failures:
            raise RuntimeError(f"{at(x)}: {res.failures[0].error}")
        row = res.table[res.table["kpi"] == KPI].iloc[0]
        steps.append(Step(float(x), float(row["mean"]), float(row["half_width"])))
        return float(row["mean"])

    x, inv, converged, bracketed = search(
        measure, lo, hi, target_value_cny, tol=tol, max_iter=max_iter, log=log, integer=bool(integer)
    )
    result = MatchResult(at(x), param, float(x), inv, float(target_value_cny), converged, bracketed, steps)
    target.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {
        **asdict(result),
        "relative_error": result.relative_error,
        "days": days,
        "replications": replications,
        "tol": tol,
        "scale": "log" if log else "linear",
        "written": dt.datetime.now().isoformat(timespec="seconds"),
    }
    (target / "match.json").write_text(json.dumps(info, indent=2, default=str), encoding="utf-8")
    return result
