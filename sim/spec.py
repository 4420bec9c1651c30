"""Policy SPECs: ``name`` or ``name(key=value, ...)``, and lists of them split on top-level commas.

``base_stock(service=0.95,review_days=1)`` -> ``Spec("base_stock", {"service": 0.95, "review_days": 1})``.
Values are Python literals (numbers, strings, booleans, lists); anything else is a ValueError.
"""

from __future__ import annotations

import ast
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
