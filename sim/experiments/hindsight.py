"""The hindsight bound of a set of runs of one scenario (same seed and replication, different routers).

Input: run directories made with ``--explain`` (``explain.parquet`` lists every candidate (order, node)
pair of every routing epoch with its cost parts). The runs see the same orders (common random numbers);
``build`` turns them into one ``sim.routing.hindsight.Problem`` over the measured orders:

- **options** of an order: every (node, tier) pair some run listed as an option or as blocked only by a
  state the routing itself creates (``no_stock``, ``no_capacity``, ``slower_tier``); pairs blocked by
  eligibility, service hours, lateness or an acceptance of 0 in every run are left out. Its cost is the
  routers' cost model: handling + transport estimate, and for a tier slower than requested
  p·(handling + transport) + (1 − p)·L (p the customer's acceptance, L the order's lost-sale cost), at
  the lowest value any run's epoch gave it (transport estimates adapt to a node's realised costs).
  An order a run served split (``n_shipments`` > 1) adds that split as an option at its realised cost.
- **lost**: any order may be lost at L = margin_rate · basket value + goodwill (``costs.lost_sale``).
- **stock**: per node x SKU, the units on hand at the start of the first measured day plus every unit
  received from then to the end of the run, the largest over the runs (replenishment depends on what
  the routers used); warm-up orders' use of it is ignored.

``routing_cost`` is what a run's router paid in the same cost model: the cost of the option its final
decision took (the expected cost of an offer, accepted or not), a split order's realised cost, and L
for an order lost without an option. The bound is ≤ every compared run's routing cost (see
``sim.routing.hindsight`` for why and for the constraints kept and dropped). It is *not* a bound on
``cost_per_order_cny``: fixed, holding, transfer and spoilage costs are the policy's, and realised
transport can fall below its estimate when riders batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.catalog import build_catalog
from sim.io.scenario import load_scenario
from sim.routing.hindsight import Problem

TIER_CODE = {"near": 0, "mid": 1, "far": 2}
OPEN_REASONS = ("option", "no_stock", "no_capacity", "slower_tier")
EXPLAIN_COLUMNS = (
    "epoch_s",
    "order_id",
    "requested_tier",
    "node_id",
    "tier",
    "handling_cny",
    "transport_cny",
    "accept_p",
    "reason",
    "chosen",
    "repaired",
    "outcome",
)


@dataclass(frozen=True)
class RunFacts:
    path: Path
    orders: pd.DataFrame  # measured orders
    lines: pd.DataFrame  # their lines
    explain: pd.DataFrame  # their candidate rows
    stock: pd.Series  # (node_id, sku) -> units available over the measured period and after
    lost_cost: pd.Series  # order_id -> L


def read_run(path: str | Path) -> RunFacts:
    """The measured orders, lines, candidates, period stock and lost-sale costs of one run directory."""
    path = Path(path)
    if not (path / "explain.parquet").exists():
        raise FileNotFoundError(f"{path}: no explain.parquet; re-run with `shangou run ... --explain`")
    sc = load_scenario(path / "scenario.yaml")
    orders = pd.read_parquet(path / "orders.parquet")
    orders = orders[~orders["warmup"]].sort_values("order_id").reset_index(drop=True)
    ids = orders["order_id"].to_numpy()
    lines = pd.read_parquet(path / "lines.parquet")
    lines = lines[lines["order_id"].isin(ids)].reset_index(drop=True)
    if "substitute_sku" in lines.columns and lines["substitute_sku"].notna().any():
        # the bound's stock rows are the candidates' own SKUs: a line shipped as another SKU is outside it
        raise ValueError(
            f"{path}: the run substituted lines; the hindsight bound models no substitution "
            "(re-run with --set tiers.substitution.enabled=false)"
        )
    ex = pd.read_parquet(path / "explain.parquet", columns=list(EXPLAIN_COLUMNS))
    ex = ex[ex["order_id"].isin(ids)].reset_index(drop=True)
    inv = pd.read_parquet(path / "inventory.parquet", columns=["day", "node_id", "sku", "start", "received"])
    first = int(sc.horizon.warmup_days)
    start = inv[inv["day"] == first].groupby(["node_id", "sku"])["start"].sum()
    recv = inv[inv["day"] >= first].groupby(["node_id", "sku"])["received"].sum()
    stock = start.add(recv, fill_value=0)
    value = build_catalog(sc).value_cny
    basket = (lines["qty"] * value[lines["sku"].to_numpy()]).groupby(lines["order_id"]).sum()
    ls = sc.costs.lost_sale
    lost = (ls.margin_rate * basket.reindex(ids, fill_value=0.0) + ls.goodwill_cny).astype(float)
    return RunFacts(path, orders, lines, ex, stock, lost)


def _pair_cost(ex: pd.DataFrame, lost: pd.Series, imperfect: float = 0.0) -> np.ndarray:
    """Options' cost; `lost` is L (without the service price), `imperfect` the price a slower tier pays."""
    base = ex["handling_cny"].to_numpy(float) + ex["transport_cny"].to_numpy(float)
    slower = ex["tier"].map(TIER_CODE).to_numpy() > ex["requested_tier"].map(TIER_CODE).to_numpy()
    p = ex["accept_p"].to_numpy(float)
    L = lost.reindex(ex["order_id"].to_numpy()).to_numpy(float)
    return np.where(slower, p * base + (1 - p) * L + imperfect, base)


@dataclass(frozen=True)
class Built:
    problem: Problem
    order_ids: np.ndarray
    paid: list[float]  # each run's routing cost
    choices: list[np.ndarray]  # each run's decision as option rows of the problem (-1: lost)
    fallback_orders: list[
        int
    ]  # per run: served orders whose final decision could not be read (priced at their option)


def build(paths: list[str | Path], imperfect_cny: float = 0.0) -> Built:
    """The hindsight problem of the runs (module docstring) and what each run paid. With `imperfect_cny`
    (a service price, ``router.imperfect_order_cny``) every order that ends imperfect by the decision
    itself — a slower-tier offer, a split, a lost order — also costs that much: the bound of the router's
    own objective (lateness and later customers' shortfalls are not in it)."""
    runs = [read_run(p) for p in paths]
    ids = runs[0].orders["order_id"].to_numpy()
    for r in runs[1:]:
        if not np.array_equal(r.orders["order_id"].to_numpy(), ids):
            raise ValueError(
                f"{r.path}: measured orders differ from {runs[0].path} (not common random numbers)"
            )
    pos = pd.Series(np.arange(ids.size), index=ids)
    lost = runs[0].lost_cost
    # options: (order, node, tier) pairs with the lowest cost any run saw
    frames = []
    for r in runs:
        ex = r.explain
        ok = ex["reason"].isin(OPEN_REASONS) & (ex["accept_p"] > 0)
        e = ex.loc[ok, ["order_id", "node_id", "tier"]].copy()
        e["cost"] = _pair_cost(ex[ok], lost, imperfect_cny)
        frames.append(e)
    pairs = (
        pd.concat(frames).groupby(["order_id", "node_id", "tier"], observed=True)["cost"].min().reset_index()
    )
    # split decisions as extra options
    split_rows = []
    for r in runs:
        sp = r.orders[r.orders["n_shipments"] > 1]
        for oid, cost in zip(sp["order_id"].tolist(), sp["cost_cny"].tolist(), strict=True):
            split_rows.append((int(oid), float(cost) + imperfect_cny, r))
    n_pair = len(pairs)
    opt_order = np.concatenate(
        [pos.reindex(pairs["order_id"]).to_numpy(), [pos[o] for o, _, _ in split_rows]]
    )
    opt_cost = np.concatenate([pairs["cost"].to_numpy(float), [c for _, c, _ in split_rows]]).astype(float)
    # stock: resources (node, sku) with the largest period stock over the runs
    stock = runs[0].stock
    for r in runs[1:]:
        stock = stock.combine(r.stock, max, fill_value=0)
    res_index = pd.Series(np.arange(stock.size), index=stock.index)
    lines = runs[0].lines[["order_id", "sku", "qty"]]
    # whole-order options take every line at their node
    m = (
        pairs[["order_id", "node_id"]]
        .reset_index()
        .rename(columns={"index": "opt"})
        .merge(lines, on="order_id")
    )
    key = pd.MultiIndex.from_arrays([m["node_id"].to_numpy(), m["sku"].to_numpy()])
    res = res_index.reindex(key).to_numpy()
    uo, ur, uq = [m["opt"].to_numpy()], [res], [m["qty"].to_numpy()]
    for s, (oid, _, r) in enumerate(split_rows):
        ln = r.lines[r.lines["order_id"] == oid]
        k = pd.MultiIndex.from_arrays([ln["node_id"].to_numpy(), ln["sku"].to_numpy()])
        uo.append(np.full(len(ln), n_pair + s))
        ur.append(res_index.reindex(k).to_numpy())
        uq.append(ln["qty"].to_numpy())
    use_res = np.concatenate(ur)
    cap = np.concatenate([stock.to_numpy(float), [0.0]])  # a (node, SKU) never stocked: one empty resource
    use_res = np.where(np.isnan(use_res), cap.size - 1, use_res).astype(np.int64)
    problem = Problem(
        ids.size,
        opt_order.astype(np.int64),
        opt_cost,
        lost.to_numpy(float) + imperfect_cny,
        np.concatenate(uo).astype(np.int64),
        use_res,
        np.concatenate(uq).astype(np.int64),
        cap,
    )
    # what each run paid, and its decision as problem rows
    pair_row = pd.Series(
        range(n_pair), index=pd.MultiIndex.from_frame(pairs[["order_id", "node_id", "tier"]])
    )
    paid, choices, fallbacks = [], [], []
    for r in runs:
        pay, choice, fb = _paid(r, lost, pair_row, pos, split_rows, n_pair, imperfect_cny)
        paid.append(pay)
        choices.append(choice)
        fallbacks.append(fb)
    return Built(problem, ids, paid, choices, fallbacks)


def _paid(
    r: RunFacts,
    lost: pd.Series,
    pair_row: pd.Series,
    pos: pd.Series,
    split_rows: list[tuple[int, float, RunFacts]],
    n_pair: int,
    imperfect: float = 0.0,
) -> tuple[float, np.ndarray, int]:
    ex = r.explain
    fin = ex[ex["chosen"] & ~ex["repaired"] & ex["outcome"].isin(["assigned", "accepted", "declined"])]
    fin = fin.sort_values("epoch_s").groupby("order_id").tail(1)
    cost = _pair_cost(fin, lost, imperfect)
    choice = np.full(pos.size, -1, np.int64)
    paid = lost.to_numpy(float) + imperfect
    idx = pos.reindex(fin["order_id"]).to_numpy()
    paid[idx] = cost
    rows = pair_row.reindex(pd.MultiIndex.from_frame(fin[["order_id", "node_id", "tier"]])).to_numpy(float)
    if np.isnan(rows).any():
        raise ValueError(
            f"{r.path}: a chosen candidate is not among the options (explain.parquet inconsistent)"
        )
    choice[idx] = rows.astype(np.int64)
    for s, (oid, c, rr) in enumerate(split_rows):
        if rr is r:
            paid[pos[oid]] = c
            choice[pos[oid]] = n_pair + s
    # a served order without a readable final decision: priced at its served pair's option
    served = r.orders[(r.orders["status"] == "delivered") & (r.orders["n_shipments"] <= 1)]
    missing = served[choice[pos.reindex(served["order_id"]).to_numpy()] < 0]
    fb = 0
    for oid, node, tier in zip(missing["order_id"], missing["node_id"], missing["served_tier"], strict=True):
        row = pair_row.get((oid, node, tier))
        if row is not None:
            choice[pos[oid]] = int(row)
            ex_o = ex[(ex["order_id"] == oid) & (ex["node_id"] == node) & (ex["tier"] == tier)]
            paid[pos[oid]] = (
                float(_pair_cost(ex_o, lost, imperfect).min()) if len(ex_o) else float(lost[oid]) + imperfect
            )
            fb += 1
    return float(paid.sum()), choice, fb
