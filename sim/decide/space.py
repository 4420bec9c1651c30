"""The design space of a decision: scenario fields and policy knobs a planner lets the optimiser set.

A parameter is written ``PATH=LO..HI`` (numbers; integers when both bounds are integers, ``:log``
after the range for a log scale, e.g. ``forecast.error=0.05..0.5:log``) or ``PATH=a|b|c``
(categorical: any values the field takes, e.g. ``router.name=flow|nearest``). ``PATH`` is a
``--set`` path of the scenario, or ``policy.KNOB`` for a parameter of the scenario's policy SPEC
(``policy.n=500..2500`` on ``top_n(n=1500)`` varies ``n``; ``policy=top_n(n=100)|base_stock``
chooses among whole SPECs). A design is one value per parameter; it becomes ``--set`` overrides
and a policy SPEC, so every evaluated design is an ordinary, reproducible scenario.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sim.errors import ScenarioError
from sim.spec import Spec, parse_spec

_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"^\s*({_NUM})\s*\.\.\s*({_NUM})\s*(?::\s*(log))?\s*$")
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?(?:\.[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\])?)*$")
POLICY_KNOB = "policy."

Value = int | float | str
Design = dict[str, Value]


@dataclass(frozen=True)
class Param:
    """One decision variable: a numeric range (int or float, optionally log-scaled) or a list of choices."""

    path: str
    kind: str  # "int" | "float" | "categorical"
    low: float = math.nan
    high: float = math.nan
    log: bool = False
    choices: tuple[str, ...] = ()

    def __str__(self) -> str:
        if self.kind == "categorical":
            return f"{self.path}={'|'.join(self.choices)}"
        lo, hi = (int(self.low), int(self.high)) if self.kind == "int" else (self.low, self.high)
        return f"{self.path}={lo}..{hi}" + (":log" if self.log else "")


def parse_param(text: str) -> Param:
    """``PATH=LO..HI[:log]`` or ``PATH=a|b|c`` -> Param; ScenarioError (exit 2) naming the option."""
    path, sep, raw = text.partition("=")
    path = path.strip()
    if not sep or not path or not raw.strip():
        raise ScenarioError(f"--param {text}: expected PATH=LO..HI or PATH=a|b|c")
    if not _PATH.match(path):
        raise ScenarioError(
            f"--param {text}: {path!r} is not a field path (e.g. nodes.stores.capacity.riders)"
        )
    if path in ("seed", "extends"):
        raise ScenarioError(f"--param {path}: not a decision (replications vary the randomness)")
    m = _RANGE.match(raw)
    if m is None:
        if "|" not in raw:
            raise ScenarioError(f"--param {text}: expected LO..HI (e.g. 500..2500) or choices a|b|c")
        choices = tuple(c.strip() for c in raw.split("|"))
        if any(not c for c in choices) or len(set(choices)) != len(choices):
            raise ScenarioError(f"--param {path}: choices must be distinct and non-empty, got {raw!r}")
        if path == "policy":
            try:
                choices = tuple(str(parse_spec(c)) for c in choices)
            except ValueError as exc:
                raise ScenarioError(f"--param policy: {exc}") from None
        return Param(path, "categorical", choices=choices)
    lo_s, hi_s, log = m.group(1), m.group(2), m.group(3) is not None
    lo, hi = float(lo_s), float(hi_s)
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
        raise ScenarioError(f"--param {path}: expected LO < HI, got {lo_s}..{hi_s}")
    if log and lo <= 0:
        raise ScenarioError(f"--param {path}: a log range needs LO > 0, got {lo_s}")
    is_int = all(re.fullmatch(r"[-+]?\d+", s) for s in (lo_s, hi_s))
    return Param(path, "int" if is_int else "float", lo, hi, log)


def parse_space(items: Sequence[str]) -> list[Param]:
    """Every ``--param``; at least one, no path twice."""
    params = [parse_param(i) for i in items]
    if not params:
        raise ScenarioError("--param: expected at least one PATH=LO..HI or PATH=a|b|c")
    seen: set[str] = set()
    for p in params:
        if p.path in seen:
            raise ScenarioError(f"--param {p.path}: given twice")
        seen.add(p.path)
    if "policy" in seen and any(p.startswith(POLICY_KNOB) for p in seen):
        raise ScenarioError(
            "--param: choose the policy SPEC (policy=...) or its knobs (policy.KNOB=...), not both"
        )
    return params


def apply_design(design: Mapping[str, Value], policy: str) -> tuple[str, list[str]]:
    """The policy SPEC and ``--set`` overrides that realise `design` on a scenario whose policy is `policy`."""
    spec = parse_spec(str(design.get("policy", policy)))
    knobs = {k[len(POLICY_KNOB) :]: v for k, v in design.items() if k.startswith(POLICY_KNOB)}
    if knobs:
        spec = Spec(spec.name, {**spec.params, **knobs})
    sets = [
        f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
        for k, v in design.items()
        if k != "policy" and not k.startswith(POLICY_KNOB)
    ]
    return str(spec), sets


def incumbent(space: Sequence[Param], scenario: Mapping[str, Any], policy: str) -> Design | None:
    """The base scenario's own design in `space`: each field's value in `scenario` (a resolved scenario as a
    dict), each ``policy.KNOB`` the SPEC's value or the policy's default, ``policy`` the SPEC itself. None
    when a value is missing or outside its range or choices (the search then starts from samples only)."""
    import inspect

    from sim.registry import POLICIES

    spec = parse_spec(policy)
    out: dict[str, Value] = {}
    for p in space:
        v: Any
        if p.path == "policy":
            v = str(spec)
        elif p.path.startswith(POLICY_KNOB):
            knob = p.path[len(POLICY_KNOB) :]
            params = inspect.signature(POLICIES.get(spec.name)).parameters
            if knob in spec.params:
                v = spec.params[knob]
            elif knob in params and params[knob].default is not inspect.Parameter.empty:
                v = params[knob].default
            else:
                return None
        else:
            v = scenario
            for key in p.path.split("."):
                if not isinstance(v, Mapping) or key not in v:
                    return None
                v = v[key]
        if p.kind == "categorical":
            if str(v) not in p.choices:
                return None
            out[p.path] = literal(str(v))
        elif isinstance(v, bool) or not isinstance(v, int | float) or not p.low <= v <= p.high:
            return None
        elif p.kind == "int":
            if int(v) != v:
                return None
            out[p.path] = int(v)
        else:
            out[p.path] = float(v)
    return out


def literal(text: str) -> Value:
    """A categorical choice as the value it spells: ``120`` -> 120, ``0.5`` -> 0.5, ``flow`` -> "flow"."""
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def design_label(design: Mapping[str, Value]) -> str:
    """``policy.n=1200, nodes.stores.capacity.riders=9``: what the tables call a design."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in design.items())


def design_slug(design: Mapping[str, Value]) -> str:
    """A short, stable directory name for a design (the same design always reuses its runs)."""
    text = json.dumps({k: design[k] for k in sorted(design)}, sort_keys=True)
    return "d-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def _fmt(v: Any) -> str:
    return f"{v:.6g}" if isinstance(v, float) else str(v)
