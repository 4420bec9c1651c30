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
  the routers used); warm-up orders' use of it is ignored. With ``timed_stock`` (the default) a unit is
  usable only by orders routed after it arrived: one nested row per arrival, "the orders every run had
  routed before arrival j use at most the units on hand before it" (an order's time is the latest
  routing epoch any run gave it; a receipt's time is its day's start plus the node's lane lead time
  modulo a day, the arrival time of a review's trucks (reviews run at the day's start), or the day's
  start where that is not known: NDCs, review periods over a day, lateral transfers), each the largest
  cumulative stock over the runs.
- **capacity** (``node_hours``): the orders a node serves by the hour they were created, at most the
  largest number any compared run sent it in that hour. The engine's own limits (pickers, riders within
  the quote, van waves, NDC outbound) are decisions' feedback the LP cannot model exactly; the busiest
  hour any router reached is what the compared runs show a node can do (a bound over these runs, not
  over every possible router).
- every row's right-hand side is at least what each compared run's own decision uses of it (an offer
  declined takes no stock but is the run's decision), so each run's decision is a feasible point.

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
from typing import cast

import numpy as np
import pandas as pd

from sim.catalog import build_catalog
from sim.io.scenario import load_scenario
from sim.network.build import build_network
from sim.routing.hindsight import Problem
from sim.units import DAY, HOUR

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
    start: pd.Series  # (node_id, sku) -> units on hand at the start of the first measured day
    received: pd.DataFrame  # node_id, sku, day, received: receipts from the first measured day on (> 0)
    last_epoch: pd.Series  # order_id -> the latest routing epoch of the order (explain.parquet)
    arrival_tod: dict[str, float]  # node_id -> the time of day its receipts arrive (0: the day's start)


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
    inv = pd.read_parquet(
        path / "inventory.parquet", columns=["day", "node_id", "sku", "start", "received", "transferred_out"]
    )
    first = int(sc.horizon.warmup_days)
    start = inv[inv["day"] == first].groupby(["node_id", "sku"])["start"].sum()
    recv = inv[inv["day"] >= first].groupby(["node_id", "sku"])["received"].sum()
    stock = start.add(recv, fill_value=0)
    value = build_catalog(sc).value_cny
    basket = (lines["qty"] * value[lines["sku"].to_numpy()]).groupby(lines["order_id"]).sum()
    ls = sc.costs.lost_sale
    lost = (ls.margin_rate * basket.reindex(ids, fill_value=0.0) + ls.goodwill_cny).astype(float)
    measured = inv[inv["day"] >= first]
    received = measured.loc[measured["received"] > 0, ["node_id", "sku", "day", "received"]]
    last = ex.groupby("order_id")["epoch_s"].max()
    return RunFacts(
        path,
        orders,
        lines,
        ex,
        stock,
        lost,
        start,
        received.reset_index(drop=True),
        last,
        _arrival_tod(sc, bool((measured["transferred_out"] > 0).any())),
    )


def _arrival_tod(sc: object, transfers: bool) -> dict[str, float]:
    """Per node the time of day its replenishment arrives: a review at the day's start plus its lane's lead time
    (``sim.inventory.replenishment``), for nodes supplied by a lane under a daily review with no lateral transfers;
    otherwise 0 (the day's start: the earliest a day's receipt can be, so never tighter than the truth)."""
    net = build_network(sc)
    daily = float(sc.inventory.review_period_days) == 1.0  # type: ignore[attr-defined]
    tod = np.where((net.supplier >= 0) & daily & (not transfers), np.mod(net.lead_time_s, DAY), 0.0)
    return dict(zip(net.node_ids, tod.tolist(), strict=True))


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
    primary: np.ndarray  # (K,) the option serves the whole order at its requested tier or faster


def build(
    paths: list[str | Path], imperfect_cny: float = 0.0, timed_stock: bool = True, node_hours: bool = False
) -> Built:
    """The hindsight problem of the runs (module docstring) and what each run paid. With `imperfect_cny`
    (a service price, ``router.imperfect_order_cny``) every order that ends imperfect by the decision
    itself — a slower-tier offer, a split, a lost order — also costs that much: the bound of the router's
    own objective (lateness and later customers' shortfalls are not in it). `timed_stock`: a unit serves
    only orders routed after it arrived; `node_hours`: a node's orders per creation hour at most the most
    any run sent it (module docstring)."""
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
    ).astype(np.int64)
    opt_cost = np.concatenate([pairs["cost"].to_numpy(float), [c for _, c, _ in split_rows]]).astype(float)
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
    # every option line's (option, node, sku, qty): whole-order options take every line at their node
    lines = runs[0].lines[["order_id", "sku", "qty"]]
    m = (
        pairs[["order_id", "node_id"]]
        .reset_index()
        .rename(columns={"index": "opt"})
        .merge(lines, on="order_id")
    )
    uo, un, us, uq = (
        [m["opt"].to_numpy()],
        [m["node_id"].to_numpy()],
        [m["sku"].to_numpy()],
        [m["qty"].to_numpy()],
    )
    for s, (oid, _, r) in enumerate(split_rows):
        ln = r.lines[r.lines["order_id"] == oid]
        uo.append(np.full(len(ln), n_pair + s))
        un.append(ln["node_id"].to_numpy())
        us.append(ln["sku"].to_numpy())
        uq.append(ln["qty"].to_numpy())
    use = pd.DataFrame(
        {
            "opt": np.concatenate(uo),
            "node_id": np.concatenate(un),
            "sku": np.concatenate(us),
            "qty": np.concatenate(uq),
        }
    )
    last = pd.concat([r.last_epoch for r in runs], axis=1).max(axis=1).reindex(ids).fillna(np.inf).to_numpy()
    use["t"] = last[opt_order[use["opt"].to_numpy()]]
    use_option, use_res, use_qty, cap = _stock_rows(runs, use, timed_stock)
    if node_hours:
        use_option, use_res, use_qty, cap = _node_hour_rows(
            runs[0].orders, pairs, pos, (use_option, use_res, use_qty, cap)
        )
    cap = _fit_runs(cap, use_option, use_res, use_qty, choices)
    problem = Problem(
        ids.size, opt_order, opt_cost, lost.to_numpy(float) + imperfect_cny, use_option, use_res, use_qty, cap
    )
    req = runs[0].orders.set_index("order_id")["requested_tier"].map(TIER_CODE)
    fast = pairs["tier"].map(TIER_CODE).to_numpy() <= req.reindex(pairs["order_id"]).to_numpy()
    primary = np.concatenate([fast, np.zeros(len(split_rows), bool)])
    return Built(problem, ids, paid, choices, fallbacks, primary)


def _stock_rows(
    runs: list[RunFacts], use: pd.DataFrame, timed: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stock rows (module docstring): per node x SKU one row per arrival j = 0..K, "orders routed (in every run)
    before arrival j + 1 use at most the start stock + receipts 1..j", the largest over the runs; untimed, one row
    (every receipt counted from the start). Returns the use entries (option, row, qty) and the rows' units."""
    keys = pd.concat([r.start.rename("s") for r in runs], axis=1).index.union(
        pd.MultiIndex.from_frame(pd.concat([r.received[["node_id", "sku"]] for r in runs]).drop_duplicates())
    )
    res = pd.Series(np.arange(keys.size), index=keys)
    R = keys.size
    start = np.stack([r.start.reindex(keys, fill_value=0).to_numpy(float) for r in runs], axis=1)  # (R, runs)
    arr = pd.concat([r.received.assign(run=i) for i, r in enumerate(runs)], ignore_index=True)
    arr["tod"] = arr["node_id"].map(runs[0].arrival_tod).fillna(0.0)
    arr["tau"] = arr["day"] * DAY + arr["tod"] if timed else -np.inf
    arr["r"] = res.reindex(pd.MultiIndex.from_frame(arr[["node_id", "sku"]])).to_numpy()
    # one arrival per (resource, time), its units per run
    table = arr.pivot_table(index=["r", "tau"], columns="run", values="received", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=range(len(runs)), fill_value=0)
    a_r = table.index.get_level_values("r").to_numpy(np.int64)
    a_tau = table.index.get_level_values("tau").to_numpy(float)
    k = np.bincount(a_r, minlength=R)  # arrivals per resource
    first_arr = np.cumsum(k) - k
    base = np.cumsum(k + 1) - (k + 1)  # row of (resource, j = 0)
    cap = np.zeros(int((k + 1).sum()) + 1)  # + one empty row: a (node, SKU) never stocked
    cap[base] = start.max(axis=1)
    cum = start[a_r] + (
        table.to_numpy(float).cumsum(axis=0) - _group_cumsum_before(table.to_numpy(float), a_r)
    )
    cap[base[a_r] + (np.arange(a_r.size) - first_arr[a_r]) + 1] = cum.max(axis=1)
    # each use entry sits in rows J..K of its resource, J = the arrivals at or before its order's routing time
    u_r = res.reindex(pd.MultiIndex.from_frame(use[["node_id", "sku"]])).to_numpy()
    known = ~np.isnan(u_r)
    u_r = np.where(known, u_r, 0).astype(np.int64)
    t = use["t"].to_numpy(float)
    J = np.zeros(u_r.size, np.int64)
    if a_r.size:
        order = np.lexsort((a_tau, a_r))
        J = _count_le(a_r[order], a_tau[order], u_r, t, first_arr)
    reps = np.where(known, k[u_r] - J + 1, 1)
    row = np.repeat(np.where(known, base[u_r] + J, cap.size - 1), reps) + _ramp(reps)
    opt = np.repeat(use["opt"].to_numpy(np.int64), reps)
    qty = np.repeat(use["qty"].to_numpy(np.int64), reps)
    return opt, row.astype(np.int64), qty, cap


def _group_cumsum_before(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per row, the running total (over rows, per column) of the rows before its group's first row."""
    cs = values.cumsum(axis=0)
    first = np.searchsorted(group, group, side="left")  # group is sorted (pivot_table's index)
    return np.where((first > 0)[:, None], cs[np.maximum(first - 1, 0)], 0.0)


def _count_le(
    key_r: np.ndarray, key_t: np.ndarray, u_r: np.ndarray, t: np.ndarray, first: np.ndarray
) -> np.ndarray:
    """Per use entry, the arrivals of its resource u_r at or before t (arrivals sorted by resource, then time;
    `first`: each resource's first arrival)."""
    fin = np.abs(key_t[np.isfinite(key_t)])
    half = (float(fin.max()) if fin.size else 0.0) + 10 * DAY
    flat = key_r * (4 * half) + np.clip(key_t, -half, half)
    q = u_r * (4 * half) + np.clip(t, -half, half)
    return cast("np.ndarray", np.searchsorted(flat, q, side="right") - first[u_r])


def _ramp(reps: np.ndarray) -> np.ndarray:
    """0, 1, ..., reps[i] - 1 for each i, concatenated."""
    return np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)


def _node_hour_rows(
    orders: pd.DataFrame,
    pairs: pd.DataFrame,
    pos: pd.Series,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add a row per (node, creation hour) that every whole-order option at the node takes one place of (its
    units: set by ``_fit_runs``, the most any run used)."""
    use_option, use_res, use_qty, cap = rows
    hour = np.floor(orders["created_s"].to_numpy(float) / HOUR).astype(np.int64)
    o_hour = hour[pos.reindex(pairs["order_id"]).to_numpy()]
    key = pd.MultiIndex.from_arrays([pairs["node_id"].to_numpy(), o_hour])
    codes, uniq = pd.factorize(key)
    return (
        np.concatenate([use_option, np.arange(len(pairs))]),
        np.concatenate([use_res, cap.size + codes]),
        np.concatenate([use_qty, np.ones(len(pairs), np.int64)]),
        np.concatenate([cap, np.zeros(len(uniq))]),
    )


def _fit_runs(
    cap: np.ndarray,
    use_option: np.ndarray,
    use_res: np.ndarray,
    use_qty: np.ndarray,
    choices: list[np.ndarray],
) -> np.ndarray:
    """Every row's units at least what each run's own decision takes of it, so each decision is a feasible point
    (a declined offer takes no stock in the run but is its decision; a node-hour row's units are set here)."""
    out = cap.copy()
    n_opt = int(use_option.max(initial=-1)) + 1
    for choice in choices:
        taken = np.zeros(max(n_opt, 1), bool)
        c = choice[choice >= 0]
        taken[c[c < n_opt]] = True
        m = taken[use_option]
        out = np.maximum(out, np.bincount(use_res[m], weights=use_qty[m], minlength=cap.size))
    return out


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
