"""Helpers shared by the CLI's verbs: sizes (``--max-memory``), atomic writes, loading a scenario, its
warnings."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.cli.shared import out
from sim.errors import ScenarioError
from sim.io import files

if TYPE_CHECKING:
    from sim.io.scenario import Scenario


def total_ram_bytes() -> int:
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%|[kKmMgGtT]i?[bB]?|[bB])?\s*$")
_MULT = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "b": 1}


def parse_size(text: str | None) -> int:
    """'8GiB' / '500MB' / '60%' (of RAM) / bytes -> bytes; None -> 80 % of RAM."""
    if text is None:
        return int(0.8 * total_ram_bytes())
    m = _SIZE.match(text)
    if not m or float(m.group(1)) <= 0:
        raise ScenarioError(f"--max-memory: expected a size like 8GiB, 500MiB or 60%, got {text!r}")
    num, unit = float(m.group(1)), (m.group(2) or "b")
    if unit == "%":
        return int(num / 100 * total_ram_bytes())
    return int(num * _MULT[unit[0].lower()])


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp_path), then rename tmp_path onto `path` (nothing half-written on failure)."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ScenarioError(f"{path}: is a directory")
    if not path.parent.exists():
        raise ScenarioError(f"{path}: directory {path.parent} does not exist")
    files.write_atomic(path, write)


def _load(path: Path, overrides: list[str] | None, max_memory: str | None = None) -> Scenario:
    from sim.io.scenario import load_scenario

    return load_scenario(path, overrides or [], max_memory=parse_size(max_memory))


def _pct(x: float) -> str:
    return "-" if x != x else f"{x:.1%}"


# --------------------------------------------------------------------------- verbs
def _per_worker(sc: Any) -> str:
    """', N regions (shards), ~X GiB per worker' for a regional scenario (sim.io.scenario.memory)."""
    if sc.nodes.ndcs.capacity.scope != "regional":
        return ""
    from sim.io.scenario.memory import shard_estimates, worker_memory_bytes

    return f" (regional: {len(shard_estimates(sc))} shards, ~{worker_memory_bytes(sc) / 2**30:.1f} GiB per worker)"


def print_warnings(sc: Scenario, varied: list[str], prefix: str = "") -> None:
    """The scenario's ``warning: ...`` lines after its ``ok`` line on stdout (sim/traps.py); stderr keeps only
    errors, and warnings never change the exit code."""
    from sim.traps import scenario_warnings

    for line in scenario_warnings(sc, varied=varied):
        out.print(f"warning: {prefix}{line}", markup=False)
