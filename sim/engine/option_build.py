"""Step 1 of a routing epoch: build its ``EpochOptions`` (candidates, stock, estimates, capacity) and
classify them (primary options, waits, downgrade offers). See ``sim.engine.options`` for the struct.

Each sub-step reads and fills the one struct, so it can be tested on its own: ``candidates`` (pairs
and their stock), ``estimate_near`` / ``estimate_mid`` / ``estimate_far`` (ETA, promise, handling and
transport of each tier's pairs), ``calibrate`` (realised / estimated transport), ``node_capacity``,
and, after the shipment rows of a splitting router, ``classify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from sim.assumptions import FAR_ETA_BEFORE_PROMISE_S
from sim.engine.options import EpochOptions, all_per_pair, lines_of, pairs_lines
from sim.engine.riders import quoted_eta
from sim.routing.base import router_capabilities
from sim.routing.lookahead import day_share
from sim.units import DAY, HOUR
from sim.vocab import TIER_OF_KIND, Tier

if TYPE_CHECKING:
    from sim.engine.protocols import SimState
    from sim.io.scenario.models import Scenario


def acceptance_matrix(sc: Scenario) -> np.ndarray:
    """p[requested, served]: 1 at or above the requested speed, the scenario's offer acceptance below it."""
    a = sc.tiers.downgrade_acceptance
    p = np.ones((3, 3))
    p[Tier.NEAR, Tier.MID], p[Tier.NEAR, Tier.FAR], p[Tier.MID, Tier.FAR] = a.near_mid, a.near_far, a.mid_far
    return p


def build_options(sim: SimState, t: float, idx: np.ndarray) -> EpochOptions:
    """The epoch's candidate pairs with stock, estimates, calibrated transport and node capacity."""
    ep = candidates(sim, t, idx)
    estimate_near(sim, ep)
    estimate_mid(sim, ep)
    estimate_far(sim, ep)
    calibrate(sim, ep)
    node_capacity(sim, ep)
    return ep


def candidates(sim: SimState, t: float, idx: np.ndarray) -> EpochOptions:
    """Candidate (order, node) pairs grouped by order: covering stores, covering FDCs, every NDC; the
    stock of every pair line; estimate arrays allocated (NaN times, zero costs, feasible)."""
    b, net, inv, cat = sim.book, sim.net, sim.inv, sim.cat
    n = idx.size
    zone, req, created = b.zone[idx], b.requested_tier[idx].astype(np.int64), b.created_s[idx]
    n_lines = b.n_lines(idx)
    p_row, p_node = _grouped_pairs(sim, zone)
    p_tier = TIER_OF_KIND[net.node_kind[p_node]].astype(np.int64)  # store -> near, FDC -> mid, NDC -> far
    wave, ship_day = int(sim.waves.wave_at(t)), int(sim.parcels.ship_day(t))
    capacity, parked = np.zeros(net.n_nodes, np.int64), None
    if may_park(sim):
        capacity = epoch_capacity(sim, t, n_lines, wave, ship_day)
        parked = park(sim, t, idx, req, p_row, p_node, p_tier, capacity)
        keep = ~parked[p_row]
        p_row, p_node, p_tier = p_row[keep], p_node[keep], p_tier[keep]
    P = p_row.size

    pair, line = pairs_lines(idx[p_row], b.line_offsets)
    sku, qty = b.line_sku[line], b.line_qty[line]
    pn = p_node[pair]
    avail_line, elig_line = _free_stock(inv, pn, sku), cat.tier_eligible[sku, p_tier[pair]]
    ok_line = (avail_line >= qty) & elig_line
    transport = np.zeros(P)
    e_n, e_b = np.zeros(n, bool), np.zeros(0, bool)
    return EpochOptions(
        t=t,
        idx=idx,
        zone=zone,
        req=req,
        created=created,
        n_lines=n_lines,
        p_row=p_row,
        p_node=p_node,
        p_tier=p_tier,
        pair=pair,
        line=line,
        sku=sku,
        qty=qty,
        avail_line=avail_line,
        elig_line=elig_line,
        ok_line=ok_line,
        stock_ok=all_per_pair(ok_line, pair, P),
        km=gather2(net.road_km, zone[p_row], p_node).astype(float),
        eta=np.full(P, np.nan),
        promise=np.full(P, np.nan),
        handling=np.zeros(P),
        transport_est=transport,
        transport=transport,
        feasible=np.ones(P, bool),
        is_open=np.ones(P, bool),
        wave=wave,
        ship_day=ship_day,
        capacity=capacity,
        at_or_faster=p_tier <= req[p_row],
        primary=e_b,
        has_primary=e_n,
        can_wait=e_n,
        wait=e_n,
        accept=np.zeros(0),
        offer=e_b,
        lost_cost=np.zeros(0),
        parked=parked,
        capacity_done=parked is not None,
    )


def _grouped_pairs(sim: SimState, zone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order row, node) of every candidate pair, grouped by order: its covering stores, its covering FDCs, every
    NDC (each in ``Candidates`` order); what a stable sort by row of the three lists one after another gives."""
    n, K = zone.size, sim.ndcs.size
    r_s, n_s = sim.cand[0].expand(zone)
    r_f, n_f = sim.cand[1].expand(zone)
    c_s, c_f = np.bincount(r_s, minlength=n), np.bincount(r_f, minlength=n)
    tot = c_s + c_f + K
    start = np.cumsum(tot) - tot  # each order's first pair
    p_row = np.repeat(np.arange(n), tot)
    p_node = np.empty(p_row.size, np.result_type(n_s, n_f, sim.ndcs))
    p_node[start[r_s] + np.arange(r_s.size) - (np.cumsum(c_s) - c_s)[r_s]] = n_s
    p_node[(start + c_s)[r_f] + np.arange(r_f.size) - (np.cumsum(c_f) - c_f)[r_f]] = n_f
    p_node[((start + c_s + c_f)[:, None] + np.arange(K)).ravel()] = np.tile(sim.ndcs, n)
    return p_row, p_node


def may_park(sim: SimState) -> bool:
    """Whether ``park`` applies: a router that takes whole orders only, and no ``--explain`` recording
    (which lists every candidate)."""
    return sim.explain is None and router_capabilities(sim.router).max_shipments <= 1


def park(
    sim: SimState,
    t: float,
    idx: np.ndarray,
    req: np.ndarray,
    p_row: np.ndarray,
    p_node: np.ndarray,
    p_tier: np.ndarray,
    capacity: np.ndarray,
) -> np.ndarray:
    """(n,) the batch orders certain to be carried this epoch with no option, so that their candidate pairs
    need not be built, estimated and priced (issue #19: at peaks ~10^5 orders wait out full stores).

    Exact, not a heuristic: an order none of whose candidates at its tier or faster has capacity left has
    no primary option (``classify``: primary needs capacity); if it may still wait (its carry deadline is
    after the next epoch) and an open store among its candidates has all its lines (a store queue it may
    wait out), ``classify`` would make it wait, and a waiting order gets no offer: it is carried with no
    option row, and the batch the router sees is the same without its pairs. The store with its lines is
    looked for first where it was found last time (``sim.park_witness``), then among all its candidates."""
    b, n = sim.book, idx.size
    fast = p_tier <= req[p_row]
    blocked = np.bincount(p_row[fast & (capacity[p_node] > 0)], minlength=n) == 0
    blocked &= t + float(sim.sc.router.epoch_s) <= b.deadline_s[idx]
    if not blocked.any():
        return cast(np.ndarray, blocked)
    if sim.park_witness.size < b.n:
        sim.park_witness = np.concatenate(
            [sim.park_witness, np.full(b.n - sim.park_witness.size, -1, np.int64)]
        )
    tod = t % DAY
    store_open = (sim.store_open_s <= tod) & (tod < sim.store_close_s)  # as estimate_near's is_open
    shortage = np.zeros(n, bool)
    rows = np.flatnonzero(blocked)
    w = sim.park_witness[idx[rows]]
    has_w = w >= 0
    has_w[has_w] = store_open[sim.row[w[has_w]]]
    rows_w = rows[has_w]
    shortage[rows_w] = _near_stock(sim, idx[rows_w], w[has_w])
    near = (p_tier == Tier.NEAR) & blocked[p_row] & ~shortage[p_row]
    near[near] = store_open[sim.row[p_node[near]]]
    pr, pn = p_row[near], p_node[near]
    ok = _near_stock(sim, idx[pr], pn)
    found = np.bincount(pr[ok], minlength=n) > 0
    first = np.full(n, -1, np.int64)
    first[pr[ok][::-1]] = pn[ok][::-1]  # the first in-stock candidate of each order
    sim.park_witness[idx[found]] = first[found]
    return cast(np.ndarray, blocked & (shortage | found))


def _near_stock(sim: SimState, orders: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Per (order, store) pair: every line on hand less reserved and eligible for the near tier
    (``candidates``' stock test)."""
    b, inv = sim.book, sim.inv
    pair, line = pairs_lines(orders, b.line_offsets)
    sku, qty = b.line_sku[line], b.line_qty[line]
    pn = nodes[pair]
    ok_line = (_free_stock(inv, pn, sku) >= qty) & sim.cat.tier_eligible[sku, Tier.NEAR]
    return all_per_pair(ok_line, pair, orders.size)


def _free_stock(inv: Any, node: np.ndarray, sku: np.ndarray) -> np.ndarray:
    """``inv.on_hand[node, sku] - inv.reserved[node, sku]``, the same integers, by one flat index for both
    tables (a 2-D fancy index computes it per table)."""
    a, b = inv.on_hand, inv.reserved
    if not (a.flags.c_contiguous and b.flags.c_contiguous and a.shape == b.shape):
        return cast(np.ndarray, a[node, sku] - b[node, sku])
    flat = node.astype(np.int64, copy=False) * a.shape[1] + sku
    return cast(np.ndarray, a.reshape(-1).take(flat) - b.reshape(-1).take(flat))


def gather2(a: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """``a[i, j]`` of a 2-D array (the same values), by one flat index when `a` is C-contiguous."""
    if not a.flags.c_contiguous:
        return cast(np.ndarray, a[i, j])
    return cast(np.ndarray, a.reshape(-1).take(i.astype(np.int64, copy=False) * a.shape[1] + j))


def estimate_near(sim: SimState, ep: EpochOptions) -> None:
    """Store pairs: the mean pick after the first free picker, the first free rider, the ride at the
    hour's speed; the promise is the near tier's or the quoted ETA (``tiers.near.quote``); feasible when
    the store is within its own service hours and the ETA makes the promise; rider cost by the pay model."""
    t, m = ep.t, np.flatnonzero(ep.p_tier == Tier.NEAR)  # indices: each gather below is one pass
    costs = sim.sc.costs
    srow = sim.row[ep.p_node[m]]
    row = ep.p_row[m]
    mean_pick = sim.store_pick_base[srow] + sim.store_pick_line[srow] * ep.n_lines[row]
    km = ep.km[m]
    near = sim.sc.tiers.near
    queue = near.quote == "eta" and near.quote_from == "queue"
    if queue:  # the order's place in its store's picker queue and its pool's rider queue
        counted = (ep.req == Tier.NEAR) & (ep.created > t - float(sim.sc.router.epoch_s))  # new near requests
        ready, ahead = queue_places(sim, row, srow, t, mean_pick, counted[row])
        eta = sim.ops.eta(t, ready, srow, km, ahead=ahead)
    else:
        ready = np.maximum(t, sim.ops.earliest_picker()[srow]) + mean_pick
        eta = sim.ops.eta(t, ready, srow, km)
    created = ep.created[row]
    promise = created + sim.near_promise_s if near.quote == "promise" else quoted_eta(created, eta, near)
    tod = t % DAY
    store_open = (sim.store_open_s <= tod) & (tod < sim.store_close_s)  # per store: its service hours
    is_open = store_open[srow]
    feasible = is_open & (eta <= promise)
    if queue:  # a quote over the cap is not offered
        feasible &= eta + near.quote_buffer_min * 60.0 <= created + near.max_quote_min * 60.0
    ep.eta[m], ep.promise[m], ep.is_open[m], ep.feasible[m] = eta, promise, is_open, feasible
    ep.handling[m] = costs.picker_per_hour_cny * mean_pick / HOUR
    r = costs.riders
    ep.transport_est[m] = (
        r.base_per_trip_cny + r.per_km_cny * km
        if r.model == "platform"
        else r.per_hour_cny * 2 * km / sim.ops.speed / 1.0
    )


def earlier_share(group: np.ndarray, row: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per pair: the summed weight `w` of the pairs of the same `group` whose order `row` comes earlier (pairs of
    one order in one group count once, as the order's total weight there)."""
    if row.size < 2 or (row[1:] >= row[:-1]).all():  # rows in order (pairs grouped by order): a stable sort
        o = group.argsort(kind="stable")  # by group keeps them in order, as lexsort((row, group)) would
    else:
        o = np.lexsort((row, group))
    g, r, ws = group[o], row[o], w[o]
    cs = np.cumsum(ws) - ws  # exclusive running sum in (group, order) order
    new_block = np.ones(o.size, bool)
    new_block[1:] = (g[1:] != g[:-1]) | (r[1:] != r[:-1])
    block_start = np.maximum.accumulate(np.where(new_block, np.arange(o.size), 0))
    new_group = np.ones(o.size, bool)
    new_group[1:] = g[1:] != g[:-1]
    group_start = np.maximum.accumulate(np.where(new_group, np.arange(o.size), 0))
    out = np.empty(o.size)
    out[o] = cs[block_start] - cs[group_start]
    return out


def queue_places(
    sim: SimState,
    row: np.ndarray,
    srow: np.ndarray,
    t: float,
    mean_pick: np.ndarray,
    counted: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected ready time and batches ahead in the rider queue of store pairs (order `row`, store `srow`) at `t`
    (``tiers.near.quote_from: queue``). Each order counts as 1 / its number of candidate stores at each of them
    (it goes to one); only the pairs `counted` count (default all; the engine counts the near requests created
    in this epoch, the ones a platform placing orders one by one would have committed before this one: carried
    orders and slower requests a store may take are not in a near customer's queue); k = the expected earlier
    orders of this epoch at the same store: picking starts when the
    (k mod c + 1)-th earliest of the store's c pickers is free plus k // c mean picks; batches ahead = the open
    batches of the store's rider pool + the expected earlier orders at the pool's stores (each a trip: batching
    is decided later, against the quote)."""
    w = 1.0 / np.bincount(row, minlength=int(row.max(initial=-1)) + 1)[row]
    if counted is not None:
        w = np.where(counted, w, 0.0)
    at_store = earlier_share(srow, row, w)
    k = np.floor(at_store + 1e-9).astype(np.int64)
    pf = np.sort(sim.ops.picker_free, axis=1)  # per store, then one gather per pair
    c = np.maximum(np.isfinite(pf).sum(axis=1), 1)[srow]
    start = np.maximum(t, pf[srow, k % c]) + (k // c) * mean_pick
    pool = sim.ops.pool_of[srow]
    ahead = sim.ops.open_batches(srow) + (earlier_share(pool, row, w) if sim.ops.shared else at_store)
    return start + mean_pick, ahead


def estimate_mid(sim: SimState, ep: EpochOptions) -> None:
    """FDC pairs ride the current wave: ETA mid-window, promise its end; van cost by ``router.mid_estimate``:
    the marginal cost of one more order on the wave (``Waves.marginal_cost``, default) or a dedicated stem."""
    m = ep.p_tier == Tier.MID
    costs = sim.sc.costs
    a_w, b_w = sim.waves.window_s(ep.wave)
    frow = sim.row[ep.p_node[m]]
    ep.eta[m], ep.promise[m] = (a_w + b_w) / 2.0, b_w
    ep.handling[m] = (
        costs.picker_per_hour_cny
        * (sim.fdc_pick_base[frow] + sim.fdc_pick_line[frow] * ep.n_lines[ep.p_row[m]])
        / HOUR
    )
    if sim.sc.router.mid_estimate == "stem":  # an upper bound: a van of its own
        ep.transport_est[m] = costs.van.per_stop_cny + costs.van.per_km_cny * 2.0 * ep.km[m]
        return
    # marginal: what the wave's cost model adds for this order, the wave's orders to come included
    expected = sim.la_orders[sim.fdcs] * day_share(
        sim.hour_share, ep.t, max(sim.waves.cutoff_s(ep.wave), ep.t)
    )
    base, stem = sim.waves.marginal_cost(ep.wave, expected, sim.mean_order_l, sim.fdc_mean_km)
    ep.transport_est[m] = np.maximum(
        base[frow] + costs.van.per_km_cny * (ep.km[m] - sim.fdc_mean_km[frow]) * stem[frow], 0.0
    )


def estimate_far(sim: SimState, ep: EpochOptions) -> None:
    """NDC pairs ship on the next cut-off: the lane's promise, NDC handling, the lane's parcel price."""
    m = ep.p_tier == Tier.FAR
    nrow = sim.row[ep.p_node[m]]
    city = sim.book.city[ep.idx][ep.p_row[m]]
    ep.promise[m] = sim.parcels.promise_s(ep.ship_day, nrow, city)
    ep.eta[m] = ep.promise[m] - FAR_ETA_BEFORE_PROMISE_S
    ep.handling[m] = sim.sc.costs.ndc_handling_per_order_cny
    ep.transport_est[m] = sim.parcel_cost[nrow, city]
    ep.km[m] = 0.0


def calibrate(sim: SimState, ep: EpochOptions) -> None:
    """Once a node has delivered orders, its estimates are scaled by its realised / estimated transport
    cost (batching, van routes), so an option's cost still grows with its distance."""
    seen = sim.estimated[ep.p_node] > 0
    if sim.sc.router.mid_estimate == "marginal":  # a marginal cost is not a booked (average) share's estimate
        seen &= ep.p_tier != Tier.MID
    ep.transport = ep.transport_est * np.where(
        seen, sim.realised[ep.p_node] / np.where(seen, sim.estimated[ep.p_node], 1.0), 1.0
    )


def node_capacity(sim: SimState, ep: EpochOptions) -> None:
    """Orders each node can still take this epoch: a store's queue within half the near promise, an
    FDC's wave, an NDC's outbound for the ship day."""
    if not ep.capacity_done:
        ep.capacity[:] = epoch_capacity(sim, ep.t, ep.n_lines, ep.wave, ep.ship_day)
        ep.capacity_done = True


def epoch_capacity(sim: SimState, t: float, n_lines: np.ndarray, wave: int, ship_day: int) -> np.ndarray:
    """(N,) ``node_capacity`` of a batch whose orders have `n_lines` lines."""
    cap = np.zeros(sim.net.n_nodes, np.int64)
    mean_lines = float(np.mean(n_lines)) if n_lines.size else 1.0
    cap[sim.stores] = sim.ops.capacity(
        t, sim.store_pick_base + sim.store_pick_line * mean_lines, sim.near_promise_s / 2
    )
    cap[sim.fdcs] = sim.waves.capacity(
        wave,
        sim.mean_order_l,
        sim.fdc_mean_km,
        sim.fdc_pickers,
        sim.fdc_pick_base + sim.fdc_pick_line * mean_lines,
    )
    cap[sim.ndcs] = sim.parcels.capacity(ship_day)
    return cap


def classify(sim: SimState, ep: EpochOptions) -> None:
    """Primary options, waits and offers (the downgrade rule, DESIGN.md section 2): an order with no
    primary option whose shortage is a store queue it may wait out is carried; else it gets offers of
    slower tiers with a positive acceptance probability. Also the orders' lost-sale costs."""
    b, n, p_row = sim.book, ep.n, ep.p_row
    has_cap = ep.capacity[ep.p_node] > 0
    ep.primary = ep.stock_ok & ep.feasible & ep.at_or_faster & has_cap
    has_primary = np.bincount(p_row[ep.primary], minlength=n) > 0
    if ep.ships is not None:  # an order whose lines a few nodes can ship between them is served at its tier
        has_primary |= ep.ships.cover
    ep.has_primary = has_primary
    ep.can_wait = ep.t + float(sim.sc.router.epoch_s) <= b.deadline_s[ep.idx]
    # only a store's queue frees up within minutes; a full wave or a day's outbound stays full
    near_busy = (ep.p_tier == Tier.NEAR) & ep.is_open
    shortage = np.bincount(p_row[ep.stock_ok & ep.at_or_faster & ~ep.primary & near_busy], minlength=n) > 0
    ep.wait = ~has_primary & shortage & ep.can_wait
    if ep.parked is not None:  # carried with no pairs (``park``): the same wait, decided before the pairs
        ep.wait |= ep.parked
    ep.accept = acceptance_matrix(sim.sc)[ep.req[p_row], ep.p_tier]
    ep.offer = (
        ep.stock_ok
        & ep.feasible
        & ~ep.at_or_faster
        & has_cap
        & (~has_primary & ~ep.wait)[p_row]
        & (ep.accept > 0)
    )
    lines = lines_of(b.line_offsets, ep.idx)
    value = np.bincount(
        np.repeat(np.arange(n), ep.n_lines),
        weights=b.line_qty[lines] * sim.cat.value_cny[b.line_sku[lines]],
        minlength=n,
    )
    lost = sim.sc.costs.lost_sale
    ep.lost_cost = lost.margin_rate * value + lost.goodwill_cny
