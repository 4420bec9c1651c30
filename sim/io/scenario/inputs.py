"""The planner's input tables named by a scenario (products, starting stock): paths, resolution, checks.

``resolve_inputs`` makes the files' paths absolute and sets ``catalog.n_skus`` to the products table's
row count; ``check_inputs`` reads the starting stock against the resolved network and products. Both
report problems as one line each (file, row and column; exit 2). ``prune_additive`` drops fields added
after the golden outputs from a dump while they sit at their default (``models.ADDITIVE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.errors import ScenarioError
from sim.io.scenario.models import Scenario


def _absolute(data: dict[str, Any], keys: tuple[str, ...], value: Any, base: Path) -> None:
    if value is None:
        return
    p = Path(value)
    node = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = str(p if p.is_absolute() else (base / p).resolve())


def resolve_inputs(sc: Scenario, data: dict[str, Any], base: Path, problems: list[str]) -> None:
    """Absolute paths for catalog.file and inventory.initial.file; n_skus from the products table."""
    _absolute(data, ("catalog", "file"), sc.catalog.file, base)
    if sc.inventory.initial is not None:
        _absolute(data, ("inventory", "initial", "file"), sc.inventory.initial.file, base)
    _absolute(data, ("nodes", "stores", "staffing", "profile"), sc.nodes.stores.staffing.profile, base)
    if sc.catalog.file is None:
        return
    from sim.io.products import read_products

    try:
        p = read_products(
            Path(data["catalog"]["file"]), {c.name: tuple(c.tiers) for c in sc.catalog.categories}
        )
    except ScenarioError as exc:
        problems.extend(exc.problems)
        return
    data["catalog"]["n_skus"] = len(p.sku_id)  # the table decides (an inherited n_skus is replaced)


def check_inputs(sc: Scenario) -> list[str]:
    """Problems of the starting-stock file against the resolved scenario's nodes and products, and of a
    history's SKU ids against the products table (the rest of a history is checked when it is read)."""
    out: list[str] = []
    if (
        sc.catalog.file is not None
        and sc.demand.source == "file"
        and sc.demand.file is not None
        and Path(sc.demand.file).exists()
    ):
        out += _history_skus(sc)
    if sc.nodes.stores.staffing.profile is not None:
        from sim.io.scenario.models import node_kinds
        from sim.io.staffing_profile import read_profile

        stores = [n for n, k in node_kinds(sc).items() if k == "store"]
        try:
            read_profile(Path(sc.nodes.stores.staffing.profile), stores)
        except ScenarioError as exc:
            out += list(exc.problems)
    if sc.inventory.initial is None:
        return out
    from sim.io.scenario.models import node_kinds
    from sim.io.stock import scenario_stock

    try:
        scenario_stock(sc, list(node_kinds(sc)))
    except ScenarioError as exc:
        out += list(exc.problems)
    return out


def _history_skus(sc: Scenario) -> list[str]:
    import numpy as np

    from sim.demand.history_columns import MAX_BAD_ROWS, Cells, bad_rows, read_table
    from sim.io.products import scenario_products

    try:
        raw, first = read_table(Path(str(sc.demand.file)))
        if "sku" not in raw.columns:
            return []  # the history loader names the missing column
        index = scenario_products(sc).index
    except ScenarioError as exc:
        return list(exc.problems)
    cells = Cells.of(raw["sku"])
    unknown = np.array([v not in index for v in cells.values])[cells.codes] & ~cells.empty()
    if not unknown.any():
        return []
    rows = np.arange(first, first + len(raw))
    return bad_rows(
        f"demand.file: {Path(str(sc.demand.file)).name}",
        rows[unknown],
        "sku",
        [
            f"SKU {v!r} is not in the products table (catalog.file)"
            for v in cells.text(unknown)[:MAX_BAD_ROWS]
        ],
    ).problems


def stock_covers_forward(sc: Scenario) -> bool:
    """The starting-stock file specifies every FDC and store (then no warm-up is needed to fill them)."""
    if sc.inventory.initial is None:
        return False
    from sim.io.scenario.models import node_kinds
    from sim.io.stock import scenario_stock

    kinds = node_kinds(sc)
    try:
        stock = scenario_stock(sc, list(kinds))
    except ScenarioError:
        return False  # check_inputs reports the file's problems
    given = dict(zip(kinds, stock.nodes_given, strict=True)) if stock is not None else {}
    return all(given[n] for n, k in kinds.items() if k != "ndc")


def prune_additive(model: BaseModel, data: Any) -> Any:
    """`data` (``model``'s JSON dump) without the additive fields that equal their default, recursively."""
    if not isinstance(data, dict):
        return data
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        if key not in data:
            continue
        value = getattr(model, name)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if extra.get("additive") and value == info.default:
            del data[key]
        elif isinstance(value, BaseModel):
            data[key] = prune_additive(value, data[key])
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            data[key] = [prune_additive(v, d) for v, d in zip(value, data[key], strict=True)]
    return data
