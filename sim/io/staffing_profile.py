"""A staffing profile: riders on shift per store and hour of day (``nodes.stores.staffing.profile``, issue #18).

The table (CSV or Parquet, read through the project's bounded reader) has the columns ``store`` (a store
id of the scenario), ``hour`` (0-23) and ``riders`` (a whole number >= 0); extra columns are ignored
(``shangou staff`` writes its demand and queueing start beside them). A store it lists must list all 24
hours, once each; stores it leaves out keep the group's rule. Bad rows exit 2 naming the file, row and
column.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import ScenarioError

COLUMNS = ("store", "hour", "riders")


def read_profile(path: Path, stores: Sequence[str]) -> np.ndarray:
    """(len(stores), 24) riders per store and hour; NaN rows for the stores the table leaves out."""
    from sim.demand.history_columns import read_table

    where = f"nodes.stores.staffing.profile: {path.name}"
    raw, first = read_table(path, where, text_columns=("store",))
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ScenarioError(f"{where}: missing column(s) {', '.join(missing)} (needs store, hour, riders)")
    problems: list[str] = []
    index = {s: i for i, s in enumerate(stores)}
    out = np.full((len(stores), 24), np.nan)
    store = raw["store"].astype(str).str.strip()
    hour = pd.to_numeric(raw["hour"], errors="coerce")
    riders = pd.to_numeric(raw["riders"], errors="coerce")
    for r, (s, h, n) in enumerate(zip(store, hour, riders, strict=True)):
        row = first + r
        if s not in index:
            problems.append(f"{where} row {row}, column store: {s!r} is not a store of the scenario")
        elif not (np.isfinite(h) and h == int(h) and 0 <= h < 24):
            problems.append(
                f"{where} row {row}, column hour: expected a whole hour 0-23, got {raw['hour'].iloc[r]!r}"
            )
        elif not (np.isfinite(n) and n == int(n) and 0 <= n <= 10_000):
            problems.append(
                f"{where} row {row}, column riders: expected a whole number 0-10000, got "
                f"{raw['riders'].iloc[r]!r}"
            )
        elif np.isfinite(out[index[s], int(h)]):
            problems.append(f"{where} row {row}: store {s} hour {int(h)} is listed twice")
        else:
            out[index[s], int(h)] = float(n)
        if len(problems) >= 10:
            break
    listed = np.isfinite(out).any(axis=1)
    for i in np.flatnonzero(listed & ~np.isfinite(out).all(axis=1))[: max(0, 10 - len(problems))]:
        problems.append(f"{where}: store {stores[i]} lists {int(np.isfinite(out[i]).sum())} of the 24 hours")
    if problems:
        raise ScenarioError(problems)
    return out
