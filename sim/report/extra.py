"""The hook for extra run-report sections, each its own module (e.g. a calibration section).

A module registers ``register("calibration", "Calibration", fn)`` at import, where
``fn(run_dir, run) -> str | None`` returns the section's inner HTML (None: leave the section out
for this run). The run report imports every module named in ``PLUGINS`` (add yours there: one
line), then places the sections after the stock-outs, in registration order, with a nav link.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLUGINS: tuple[str, ...] = ()  # modules that register sections, e.g. "sim.report.calibration"
Section = Callable[[Path, Any], "str | None"]
_SECTIONS: dict[str, tuple[str, Section]] = {}


def register(sid: str, title: str, fn: Section) -> None:
    """Add a run-report section `sid` (its HTML id) titled `title`, built by `fn(run_dir, run)`."""
    if sid in _SECTIONS:
        raise ValueError(f"report section {sid!r} registered twice")
    _SECTIONS[sid] = (title, fn)


def _load() -> None:
    for name in PLUGINS:
        importlib.import_module(name)


def run_sections(run_dir: Path, run: Any) -> list[tuple[str, str, str]]:
    """(id, title, inner HTML) of every registered section that has something for this run."""
    _load()
    out = []
    for sid, (title, fn) in _SECTIONS.items():
        body = fn(run_dir, run)
        if body is not None:
            out.append((sid, title, body))
    return out
