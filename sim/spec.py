"""Policy SPECs: ``name`` or ``name(key=value, ...)``, and lists of them split on top-level commas.

``base_stock(service=0.95,review_days=1)`` -> ``Spec("base_stock", {"service": 0.95, "review_days": 1})``.
Values are Python literals (numbers, strings, booleans, lists); anything else is a ValueError.
"""

from __future__ import annotations

import ast
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Spec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        if not self.params:
            return self.name
        return f"{self.name}(" + ",".join(f"{k}={v!r}" for k, v in sorted(self.params.items())) + ")"

    @property
    def slug(self) -> str:
        """A file-name-safe form: top_n-n=200."""
        parts = [self.name] + [f"{k}={v}" for k, v in sorted(self.params.items())]
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", "-".join(parts))


def parse_spec(text: str) -> Spec:
    """Parse one SPEC; ValueError with a readable message if malformed."""
    text = text.strip()
    m = re.match(r"^([^()]*)(?:\((.*)\))?$", text, flags=re.S)
    if not m or not _NAME.match(m.group(1).strip()):
        raise ValueError(f"expected name or name(key=value,...), got {text!r}")
    name, args = m.group(1).strip(), m.group(2)
    if not args or not args.strip():
        return Spec(name)
    try:
        call = ast.parse(f"f({args})", mode="eval").body
    except SyntaxError:
        raise ValueError(f"malformed parameters in {text!r}") from None
    assert isinstance(call, ast.Call)
    if call.args:
        raise ValueError(f"parameters must be key=value, got {text!r}")
    params: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg is None:
            raise ValueError(f"parameters must be key=value, got {text!r}")
        try:
            params[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            params[kw.arg] = ast.unparse(kw.value)  # bare words are strings: method=poisson
    return Spec(name, params)


def _normal(value: Any) -> Any:
    """Numbers in one form: an integral float is an int (51.0 -> 51), recursively in lists/tuples."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list | tuple):
        return type(value)(_normal(v) for v in value)
    return value


def canonical_spec(spec: Spec | str) -> Spec:
    """The canonical form of a SPEC (parameters sorted by ``str``, numbers normalised), so that
    ``cost_optimal(holding_weight=51.0)`` and ``cost_optimal(holding_weight=51)`` are one policy;
    experiment reuse compares policies in this form. ValueError if malformed."""
    sp = parse_spec(spec) if isinstance(spec, str) else spec
    return Spec(sp.name, {k: _normal(v) for k, v in sp.params.items()})


def spellings(spec: Spec | str, limit: int = 4) -> list[Spec]:
    """The canonical SPEC first, then the same policy with its integral numbers written as floats
    (every combination over at most `limit` such parameters, else all at once): the spellings an
    earlier run's directory may carry (``holding_weight=51.0`` from a command line's float)."""
    canon = canonical_spec(spec)
    keys = [k for k, v in sorted(canon.params.items()) if isinstance(v, int) and not isinstance(v, bool)]
    combos = (
        itertools.product((False, True), repeat=len(keys)) if len(keys) <= limit else [(True,) * len(keys)]
    )
    out = [canon]
    for floats in combos:
        if any(floats):
            params = dict(canon.params)
            params.update({k: float(params[k]) for k, f in zip(keys, floats, strict=True) if f})
            out.append(Spec(canon.name, params))
    return out


def same_policy(a: str | None, b: str | None) -> bool:
    """True if two SPEC texts name the same policy with the same parameters (see ``canonical_spec``)."""
    if a is None or b is None:
        return a == b
    try:
        return canonical_spec(a) == canonical_spec(b)
    except ValueError:
        return a == b


def split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses/brackets: 'a(x=1,y=2),b' -> ['a(x=1,y=2)', 'b']."""
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    if depth != 0:
        raise ValueError(f"unbalanced parentheses in {text!r}")
    return [p for p in parts if p]


def parse_spec_list(text: str) -> list[Spec]:
    return [parse_spec(p) for p in split_top_level(text)]
