"""Pydantic validation errors as one line per problem: ``path: rule, got value``.

Paths use dots for keys and ``[i]`` for list items (``nodes.stores.sites[3].id``); an unknown
key names its closest known sibling.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.cities import suggest


def format_path(loc: tuple[int | str, ...] | list[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<scenario>"


def show(value: Any, limit: int = 60) -> str:
    """A short, readable rendering of an offending value."""
    if isinstance(value, float) and value != value:
        text = "nan"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a mapping" if value else "{}"
    elif isinstance(value, (list, tuple)):
        text = f"a list of {len(value)}"
    elif value is None:
        text = "null"
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unwrap(tp: Any) -> Any:
    """Strip Annotated / Optional."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _model_at(root: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model class found at `loc` under `root`, or None."""
    tp: Any = root
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part)) or next(
                (f for f in tp.model_fields.values() if f.alias == part), None
            )
            if field is None:
                return None
            tp = field.annotation
        elif typing.get_origin(tp) in (tuple, list):
            tp = typing.get_args(tp)[0]
        elif typing.get_origin(tp) is dict:
            tp = typing.get_args(tp)[1]
        else:
            return None
    tp = _unwrap(tp)
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string",
    "dict": "a mapping",
    "model": "a mapping",
    "model_attributes": "a mapping",
    "tuple": "a list",
    "list": "a list",
    "date": "a date YYYY-MM-DD",
    "path": "a file path",
}


def _rule(err: Any, root: type[BaseModel]) -> str:
    kind: str = err["type"]
    ctx = err.get("ctx") or {}
    loc = tuple(err["loc"])
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        hint = suggest(str(loc[-1]), _field_names(parent)) if parent else ""
        return f"unknown key{hint}"
    if kind == "finite_number":
        return "must be a finite number"
    comparisons = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}
    if kind in comparisons:
        bound = next(iter(ctx.values()))
        return f"must be {comparisons[kind]} {bound}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind in ("too_short", "too_long"):
        return err["msg"][0].lower() + err["msg"][1:]
    if kind == "string_pattern_mismatch":
        return f"must match {ctx.get('pattern')} (letters, digits, _ . -)"
    for prefix, word in _TYPE_WORDS.items():
        if kind.startswith(prefix + "_") or kind == prefix:
            return f"expected {word}"
    msg: str = err["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    return msg


def validation_lines(
    exc: ValidationError, root: type[BaseModel], prefix: tuple[int | str, ...] = ()
) -> list[str]:
    """One line per pydantic error; `prefix` is prepended to every path."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(prefix) + tuple(err["loc"])
        rule = _rule(err, root)
        if (
            err["type"] in ("value_error", "assertion_error", "missing", "extra_forbidden")
            or ", got " in rule
        ):
            value = ""
        else:
            value = f", got {show(err.get('input'))}"
        # a message that names a sub-field ("categories: ...") extends the path instead
        head, sep, rest = rule.partition(": ")
        if sep and head.isidentifier() and err["type"] == "value_error":
            loc, rule = loc + (head,), rest
        lines.append(f"{format_path(loc)}: {rule}{value}")
    return list(dict.fromkeys(lines))
