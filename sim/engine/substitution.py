"""Substitution (issue #14): a customer whose line is short at a node may take a substitute SKU there.

Rule. For an order with no primary option (no node at its requested tier or faster holds every line,
or none can take it now) that is not waiting out a store queue, every candidate pair at the requested
tier or faster that is feasible, has capacity and whose lines are all eligible at its tier is tried
with substitutes: each short line (on hand - reserved < qty) is replaced by the **most popular SKU of
the same category whose unit value lies within ``value_band`` of the line's** (|v'/v - 1| <= band;
among the ``candidates`` most popular such SKUs, the list of similar items a customer looks at)
that the node holds in the line's quantity, that is eligible at the node's tier and that is not
already in the order. The customer takes it iff the line's substitution uniform is below the
category's acceptance (``tiers.substitution.accept`` / ``accept_by_category``, default 0.45 from the
GMA/FMI/CIES stock-out study in parameters.md). A pair whose every short line finds an accepted
substitute (two lines never take the same substitute) becomes a primary option of its order; the
order's slower-tier offers are withdrawn (a substitute comes before an offer: substitute, else offer,
else lost). The router then chooses among the order's primary options as usual.

Common random numbers: one uniform per order line, drawn with the day's demand from the stream
``demand.substitution/<date>/<city>`` (a stream of its own, so the other demand streams do not move).

What the substitution records: the order book keeps the ordered SKU (``line_ordered``) and ships the
substitute (``line_sku``, so stock, picking and volume follow the substitute); ``lines.parquet`` gains
``substitute_sku`` (null when none) while the mechanism is on; a substituted order is never perfect. It also
records the routing reason of short lines: ``stockout`` (lines.parquet) marks a line that met a stock-out (see
``mark_stockouts``), as opposed to a line of an order lost or slowed by capacity, hours or reach; the
calibration's stock-out rows measure the customers' responses (substitute / slower tier / lost) over those.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sim.engine.options import EpochOptions
from sim.units import DAY

__all__ = [
    "SubstituteRule",
    "commit_substitutes",
    "drop_lines",
    "entries_of",
    "line_uniforms",
    "mark_stockouts",
    "substitute",
]


@dataclass(frozen=True)
class SubstituteRule:
    """Per SKU its substitute candidates, most popular first (CSR), and the acceptance probability."""

    offsets: np.ndarray  # (S + 1,) int64
    cands: np.ndarray  # candidate SKUs, each SKU's row sorted by popularity rank
    accept: np.ndarray  # (S,) probability a customer takes a substitute for this SKU
    # partial fulfilment: probability a customer who takes no substitute drops the line (keeps the rest); 0: off
    drop: float = 0.0
    margin_rate: float = 0.0  # a dropped line's lost sale: its margin (costs.lost_sale.margin_rate x value)

    @classmethod
    def from_scenario(cls, sc: Any, cat: Any) -> SubstituteRule | None:
        """The scenario's rule, or None when ``tiers.substitution`` is off."""
        s = sc.tiers.substitution
        if not s.enabled:
            return None
        by_cat = np.array([s.accept_by_category.get(name, s.accept) for name in cat.category_names], float)
        rule = cls.build(
            cat.category,
            cat.value_cny,
            cat.rank,
            by_cat[cat.category],
            float(s.value_band),
            int(s.candidates),
        )
        if s.drop > 0:
            rule = replace(rule, drop=float(s.drop), margin_rate=float(sc.costs.lost_sale.margin_rate))
        return rule

    @classmethod
    def build(
        cls,
        category: np.ndarray,
        value: np.ndarray,
        rank: np.ndarray,
        accept: np.ndarray,
        band: float,
        k: int = 1 << 30,
        max_cells: int = 1 << 22,
    ) -> SubstituteRule:
        """Candidates of SKU i: the `k` most popular SKUs j != i of i's category with |v_j / v_i - 1| <= band.

        A category's rows are compared in blocks of at most `max_cells` SKU pairs, so memory stays bounded
        at any catalogue size (a dense table per category asked for 74.5 GiB at 200k SKUs)."""
        S = category.size
        by_rank = np.argsort(rank, kind="stable")
        cands_of: list[np.ndarray] = [np.zeros(0, np.int64)] * S
        for c in np.unique(category):  # a loop over categories (a handful), vectorised within one
            members = by_rank[category[by_rank] == c].astype(np.int64)  # most popular first
            v = value[members]
            step = max(1, max_cells // max(1, members.size))
            for lo in range(0, members.size, step):
                rows = members[lo : lo + step]
                ok = (np.abs(v[None, :] / v[lo : lo + step, None] - 1.0) <= band + 1e-12) & (
                    members[None, :] != rows[:, None]
                )
                for i, m in enumerate(rows):
                    cands_of[int(m)] = members[ok[i]][:k]
        counts = np.array([r.size for r in cands_of], np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        cands = np.concatenate(cands_of) if S else np.zeros(0, np.int64)
        return cls(offsets=offsets, cands=cands.astype(np.int64), accept=np.asarray(accept, float))


def line_uniforms(streams: Any, date: dt.date, line_city: np.ndarray, city_names: list[str]) -> np.ndarray:
    """(L,) substitution uniforms of a day's order lines (given each line's city), a stream per (date, city)."""
    out = np.empty(line_city.size)
    for c, name in enumerate(city_names):
        m = line_city == c
        if m.any():
            out[m] = streams.get(f"demand.substitution/{date.isoformat()}/{name}").random(int(m.sum()))
    return out


def entries_of(ep: EpochOptions, pairs: np.ndarray) -> np.ndarray:
    """Expansion entries (pair x line) of `pairs`, grouped by pair, each pair's lines in order."""
    start = np.searchsorted(ep.pair, pairs)
    n = ep.n_lines[ep.p_row[pairs]]
    return np.repeat(start - np.cumsum(n) + n, n) + np.arange(int(n.sum()))


def substitute(sim: Any, ep: EpochOptions) -> None:
    """The substitution step of a routing epoch (after ``classify``): see the module docstring."""
    rule: SubstituteRule = sim.subst
    ep.sub_sku = np.full(ep.pair.size, -1, np.int64)
    need = ~ep.has_primary & ~ep.wait
    if not need.any():
        return
    mark_stockouts(sim.book.line_stockout, ep, need)
    P = ep.n_pairs
    cand = need[ep.p_row] & ep.feasible & ep.at_or_faster & (ep.capacity[ep.p_node] > 0) & ~ep.stock_ok
    cand &= (
        np.bincount(ep.pair[~ep.elig_line], minlength=P) == 0
    )  # a line not sold at the tier: no substitute
    u = sim.book.line_sub_u[ep.line]
    short = cand[ep.pair] & ~ep.ok_line
    if rule.drop <= 0:  # every short line must be substituted: only pairs whose every short line accepts
        cand &= np.bincount(ep.pair[short & (u >= rule.accept[ep.sku])], minlength=P) == 0
    E = np.flatnonzero(cand[ep.pair] & ~ep.ok_line)
    if not E.size:
        return
    acc = rule.accept[ep.sku[E]]
    want = u[E] < acc
    sub = np.full(E.size, -1, np.int64)
    if want.any():
        sub[want] = _substitutes(sim, ep, rule, E[want])
    found = sub >= 0
    pe = ep.pair[E]
    drop = ~found & _drops(u[E], acc, want, rule.drop)
    # rescued: every short line substituted or dropped
    rescued = cand & (np.bincount(pe[~found & ~drop], minlength=P) == 0)
    if rule.drop > 0:  # partial fulfilment keeps at least one line
        rescued &= np.bincount(pe[drop], minlength=P) < ep.n_lines[ep.p_row]
    take = rescued[pe] & found
    e, s = E[take], sub[take]
    ep.sub_sku[e] = s
    ep.sku = ep.sku.copy()
    ep.sku[e] = s
    ep.avail_line[e] = sim.inv.on_hand[ep.p_node[ep.pair[e]], s] - sim.inv.reserved[ep.p_node[ep.pair[e]], s]
    ep.ok_line[e] = True
    if rule.drop > 0:
        _mark_drops(sim, ep, rule, E[rescued[pe] & drop])
    ep.stock_ok[rescued] = True
    ep.primary[rescued] = True
    got = np.zeros(ep.n, bool)
    got[ep.p_row[rescued]] = True
    ep.has_primary = ep.has_primary | got
    ep.offer = ep.offer & ~got[ep.p_row]


def _drops(u: np.ndarray, acc: np.ndarray, want: np.ndarray, drop: float) -> np.ndarray:
    """Short lines the customer drops if no substitute ships: of the customers who do not take a substitute (u >=
    accept) or who would but find none (u < accept), the share `drop`. The line's one uniform serves both
    decisions: given u >= a it is uniform on [a, 1), given u < a on [0, a), so (u - a) / (1 - a) and u / a are
    fresh uniforms (common random numbers: no new draw)."""
    if drop <= 0:
        return np.zeros(u.size, bool)
    v = np.where(
        want, u / np.where(want, acc, 1.0), (u - acc) / np.where(want, 1.0, np.maximum(1.0 - acc, 1e-300))
    )
    out: np.ndarray = v < drop
    return out


def _mark_drops(sim: Any, ep: EpochOptions, rule: SubstituteRule, e: np.ndarray) -> None:
    """Entries `e` (short lines of rescued pairs) are dropped if their pair is chosen: no units, counted servable;
    a pair's dropped lines' lost margin is added to its cost (``ep.drop_cost``), so the router prefers a pair that
    ships the whole order."""
    ep.drop = np.zeros(ep.pair.size, bool)
    ep.drop[e] = True
    ep.qty = ep.qty.copy()
    value = ep.qty[e] * sim.cat.value_cny[ep.sku[e]]
    ep.qty[e] = 0
    ep.ok_line[e] = True
    ep.drop_cost = np.bincount(ep.pair[e], weights=rule.margin_rate * value, minlength=ep.n_pairs)


def mark_stockouts(flag: np.ndarray, ep: EpochOptions, need: np.ndarray) -> None:
    """Set `flag` (per global line) for the lines of orders `need` (no primary option, not waiting) that meet a
    stock-out: the order has a pair at its tier or faster that is open, in reach and has capacity, and at every such
    pair the line is not servable, at one at least for want of stock (an eligible SKU short on hand - reserved).
    The other lines of those orders (in stock somewhere the order could go) and orders with no such pair (lost or
    slowed by capacity, hours or reach) meet no stock-out: the routing reason of each short line."""
    base = need[ep.p_row] & ep.feasible & ep.at_or_faster & (ep.capacity[ep.p_node] > 0)
    e = np.flatnonzero(base[ep.pair])
    if not e.size:
        return
    lines, inv = np.unique(ep.line[e], return_inverse=True)
    total = np.bincount(inv, minlength=lines.size)
    short = np.bincount(inv, weights=~ep.ok_line[e], minlength=lines.size)
    stock = np.bincount(inv, weights=ep.elig_line[e] & ~ep.ok_line[e], minlength=lines.size)
    flag[lines[(short == total) & (stock > 0)]] = True


def _substitutes(sim: Any, ep: EpochOptions, rule: SubstituteRule, E: np.ndarray) -> np.ndarray:
    """(E,) each short entry's substitute (-1 none); two lines of a pair never share one: when the first choices
    clash, the earlier line keeps it and the later one takes its next candidate (a round per clash)."""
    S = np.int64(sim.cat.n_skus)
    pe = ep.pair[E]
    # the SKUs of each entry's order (its own pair's lines: every pair of an order lists the same SKUs), padded
    # by repeating the last
    n = ep.n_lines[ep.p_row[pe]]
    own = ep.sku[np.searchsorted(ep.pair, pe)[:, None] + np.minimum(np.arange(int(n.max())), n[:, None] - 1)]
    sub = np.full(E.size, -1, np.int64)
    todo, taken = np.arange(E.size), np.zeros(0, np.int64)
    while todo.size:
        s = _first_in_stock(sim, ep, rule, E[todo], taken, own[todo])
        key = np.where(s >= 0, pe[todo] * S + s, -1 - np.arange(todo.size))  # not found: unique negative keys
        keep = np.zeros(todo.size, bool)
        keep[np.unique(key, return_index=True)[1]] = True
        keep &= s >= 0
        sub[todo[keep]] = s[keep]
        taken = np.concatenate([taken, key[keep]])
        todo = todo[(s >= 0) & ~keep]
    return sub


def _first_in_stock(
    sim: Any, ep: EpochOptions, rule: SubstituteRule, E: np.ndarray, taken: np.ndarray, own: np.ndarray
) -> np.ndarray:
    """(E,) the first candidate (most popular) of each short entry that the pair's node holds in the line's
    quantity, eligible at the pair's tier, not in the order (`own`: (E, k) its order's SKUs) and not `taken`
    (pair x S + SKU); -1 when none."""
    sku = ep.sku[E]
    lo, hi = rule.offsets[sku], rule.offsets[sku + 1]
    n = hi - lo
    row = np.repeat(np.arange(E.size), n)
    c = rule.cands[np.repeat(lo - np.cumsum(n) + n, n) + np.arange(int(n.sum()))]
    pair = ep.pair[E][row]
    node, tier = ep.p_node[pair], ep.p_tier[pair]
    inv = sim.inv
    ok = (inv.on_hand[node, c] - inv.reserved[node, c] >= ep.qty[E][row]) & sim.cat.tier_eligible[c, tier]
    ok &= ~(own[row] == c[:, None]).any(axis=1)
    if taken.size:
        ok &= ~np.isin(pair * np.int64(sim.cat.n_skus) + c, taken)
    out = np.full(E.size, -1, np.int64)
    hit = np.flatnonzero(ok)
    rh = row[hit]  # rows in order: the first hit of each row is its most popular candidate
    first = np.flatnonzero(np.concatenate([[True], rh[1:] != rh[:-1]])) if rh.size else rh
    out[rh[first]] = c[hit[first]]
    return out


def drop_lines(sim: Any, ep: EpochOptions, ai: np.ndarray, c: np.ndarray, lines: np.ndarray) -> None:
    """Orders `ai` assigned at pairs `c` (their global lines `lines`, grouped by order): mark the lines the
    customer dropped (``book.line_dropped``: no units picked or reserved), book their lost margin on the order's
    day (``lost_sales``, no goodwill: the customer still gets an order) and count their units as lost demand at
    the node the requested tier would have used (the policies see it)."""
    if ep.drop is None:
        return
    m = ep.drop[entries_of(ep, c)]
    if not m.any():
        return
    b = sim.book
    dl = lines[m]
    b.line_dropped[dl] = True
    order = np.repeat(ai, b.n_lines(ai))[m]
    value = b.line_qty[dl] * sim.cat.value_cny[b.line_sku[dl]]
    day = (b.created_s[order] // DAY).astype(np.int64)
    np.add.at(sim.day_costs["lost_sales"], day, sim.subst.margin_rate * value)
    pref = sim.preferred[b.requested_tier[order], b.zone[order]]
    ok = pref >= 0
    np.add.at(sim.inv.lost_demand, (pref[ok], b.line_sku[dl][ok]), b.line_qty[dl][ok])


def commit_substitutes(sim: Any, ep: EpochOptions, ai: np.ndarray, c: np.ndarray, lines: np.ndarray) -> None:
    """Orders `ai` assigned at pairs `c` (their global lines `lines`, grouped by order): ship the substitutes."""
    if ep.sub_sku is None:
        return
    sub = ep.sub_sku[entries_of(ep, c)]
    m = sub >= 0
    if m.any():
        sim.book.line_sku[lines[m]] = sub[m]
