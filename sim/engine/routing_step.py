"""One routing epoch: options -> router -> stock repair -> offers -> dispatch, all as arrays.

The downgrade rule (DESIGN.md section 2): an order with no feasible option at its requested tier
or faster, whose shortage is a capacity one that can still be waited out, is carried to the next
epoch; otherwise it gets one offer of the best slower tier, which the customer accepts iff its
decision uniform is below the scenario's acceptance probability; else it is a lost sale. Two orders
of a batch may pick the same last units: the later one is repaired (carried to the next epoch) and
counted in ``router.repairs``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.engine.options import FAR, MID, NEAR, all_per_pair, pairs_lines
from sim.engine.shipments import apply_split, make_split, split_rows
from sim.records import LOST
from sim.routing.base import Batch, CountsFallbacks, RoutesLines, option_stock
from sim.routing.lookahead import capacity_reservation, day_share, option_reservation
from sim.units import DAY, HOUR
from sim.vocab import TIER_OF_KIND

CARRY_GRACE_S = np.array([1 * HOUR, 4 * HOUR, DAY])  # by requested tier: give up on an order carried this long past its deadline


def acceptance_matrix(sc: Any) -> np.ndarray:
    """p[requested, served]: 1 at or above the requested speed, the scenario's offer acceptance below it."""
    a = sc.tiers.downgrade_acceptance
    p = np.ones((3, 3))
    p[NEAR, MID], p[NEAR, FAR], p[MID, FAR] = a.near_mid, a.near_far, a.mid_far
    return p


def carry_deadline(sim: Any, created: np.ndarray, tier: np.ndarray) -> np.ndarray:
    """Latest time a capacity shortage may be waited out: half the near promise; a mid order's first
    wave cut-off; a far order's first parcel cut-off."""
    out = created + sim.near_promise_s / 2.0
    mid = tier == MID
    out[mid] = sim.waves.next_cutoff_s(created[mid])
    far = tier == FAR
    day, tod = np.divmod(created[far], DAY)
    out[far] = (day + (tod > sim.parcels.cutoff)) * DAY + sim.parcels.cutoff
    return out


def route_epoch(sim: Any, t: float, idx: np.ndarray) -> None:
    """Route the orders `idx` at time t (the end of the epoch)."""
    b, net, inv, cat, sc = sim.book, sim.net, sim.inv, sim.cat, sim.sc
    fresh = np.isnan(b.deadline_s[idx])
    if fresh.any():
        b.deadline_s[idx[fresh]] = carry_deadline(sim, b.created_s[idx[fresh]], b.requested_tier[idx[fresh]].astype(int))
    n = idx.size
    zone, req, created = b.zone[idx], b.requested_tier[idx].astype(np.int64), b.created_s[idx]
    n_lines = b.n_lines(idx)

    # candidate (order, node) pairs, grouped by order
    r_s, n_s = sim.cand[0].expand(zone)
    r_f, n_f = sim.cand[1].expand(zone)
    K = sim.ndcs.size
    p_row = np.concatenate([r_s, r_f, np.repeat(np.arange(n), K)])
    p_node = np.concatenate([n_s, n_f, np.tile(sim.ndcs, n)])
    order = np.argsort(p_row, kind="stable")
    p_row, p_node = p_row[order], p_node[order]
    p_tier = TIER_OF_KIND[net.node_kind[p_node]].astype(np.int64)  # store -> near, FDC -> mid, NDC -> far
    P = p_row.size

    pair, line = pairs_lines(idx[p_row], b.line_offsets)
    sku, qty = b.line_sku[line], b.line_qty[line]
    pn = p_node[pair]
    avail_line, elig_line = inv.on_hand[pn, sku] - inv.reserved[pn, sku], cat.tier_eligible[sku, p_tier[pair]]
    ok_line = (avail_line >= qty) & elig_line
    stock_ok = all_per_pair(ok_line, pair, P)

    km = net.road_km[zone[p_row], p_node].astype(float)
    eta, promise = np.full(P, np.nan), np.full(P, np.nan)
    handling, transport = np.zeros(P), np.zeros(P)
    feasible = np.ones(P, bool)
    costs = sc.costs
    tod = t % DAY

    m = p_tier == NEAR
    srow = sim.row[p_node[m]]
    mean_pick = sim.store_pick_base[srow] + sim.store_pick_line[srow] * n_lines[p_row[m]]
    ready = np.maximum(t, sim.ops.earliest_picker()[srow]) + mean_pick
    eta[m] = sim.ops.eta(t, ready, srow, km[m])
    promise[m] = created[p_row[m]] + sim.near_promise_s
    is_open = sim.near_open <= tod < sim.near_close
    feasible[m] = is_open & (eta[m] <= promise[m])
    handling[m] = costs.picker_per_hour_cny * mean_pick / HOUR
    r = costs.riders
    transport[m] = r.base_per_trip_cny + r.per_km_cny * km[m] if r.model == "platform" else \
        r.per_hour_cny * 2 * km[m] / sim.ops.speed / 1.0

    g = sim.waves.wave_at(t)
    a_w, b_w = sim.waves.window_s(g)
    m = p_tier == MID
    frow = sim.row[p_node[m]]
    eta[m], promise[m] = (a_w + b_w) / 2.0, b_w
    handling[m] = costs.picker_per_hour_cny * (sim.fdc_pick_base[frow] + sim.fdc_pick_line[frow] * n_lines[p_row[m]]) / HOUR
    transport[m] = costs.van.per_stop_cny + costs.van.per_km_cny * 2.0 * km[m]  # an upper bound: a dedicated stem

    ship_day = sim.parcels.ship_day(t)
    m = p_tier == FAR
    nrow = sim.row[p_node[m]]
    city = b.city[idx][p_row[m]]
    promise[m] = sim.parcels.promise_s(ship_day, nrow, city)
    eta[m] = promise[m] - 9 * HOUR
    handling[m] = costs.ndc_handling_per_order_cny
    transport[m] = sim.parcel_cost[nrow, city]
    km[m] = 0.0

    # once a node has delivered orders, its estimates are scaled by its realised / estimated transport cost
    # (batching, van routes), so an option's cost still grows with its distance
    est = transport
    seen = sim.estimated[p_node] > 0
    transport = est * np.where(seen, sim.realised[p_node] / np.where(seen, sim.estimated[p_node], 1.0), 1.0)

    cap = np.zeros(net.n_nodes, np.int64)
    mean_lines = float(np.mean(n_lines)) if n else 1.0
    cap[sim.stores] = sim.ops.capacity(t, sim.store_pick_base + sim.store_pick_line * mean_lines, sim.near_promise_s / 2)
    cap[sim.fdcs] = sim.waves.capacity(g, sim.mean_order_l, sim.fdc_mean_km, sim.fdc_pickers,
                                       sim.fdc_pick_base + sim.fdc_pick_line * mean_lines)
    cap[sim.ndcs] = sim.parcels.capacity(ship_day)

    at_or_faster = p_tier <= req[p_row]
    has_cap = cap[p_node] > 0
    primary = stock_ok & feasible & at_or_faster & has_cap
    has_primary = np.bincount(p_row[primary], minlength=n) > 0
    splitter = sim.router if isinstance(sim.router, RoutesLines) and sim.router.max_shipments > 1 else None
    if splitter is not None:  # an order whose lines a few nodes can ship between them is served at its tier
        cover, ships, fixed, e, sl_ship, sl_cost = split_rows(
            sim, n, n_lines, p_row, p_node, p_tier, pair, ok_line, feasible & at_or_faster & has_cap,
            handling + transport, splitter.max_shipments)
        has_primary |= cover
    dt = float(sc.router.epoch_s)
    can_wait = t + dt <= b.deadline_s[idx]
    # only a store's queue frees up within minutes; a full wave or a day's outbound stays full
    near_busy = (p_tier == NEAR) & is_open
    shortage = np.bincount(p_row[stock_ok & at_or_faster & ~primary & near_busy], minlength=n) > 0
    wait = ~has_primary & shortage & can_wait
    p_acc = acceptance_matrix(sc)
    acc = p_acc[req[p_row], p_tier]
    offer = stock_ok & feasible & ~at_or_faster & has_cap & (~has_primary & ~wait)[p_row] & (acc > 0)

    lines = _lines_of(b, idx)
    value = np.bincount(np.repeat(np.arange(n), n_lines), weights=b.line_qty[lines] * cat.value_cny[b.line_sku[lines]],
                        minlength=n)
    lost_cost = costs.lost_sale.margin_rate * value + costs.lost_sale.goodwill_cny
    base = handling + transport
    opt = np.flatnonzero(primary | offer)
    cost = np.where(offer[opt], acc[opt] * base[opt] + (1 - acc[opt]) * lost_cost[p_row[opt]], base[opt])
    # an order with an option at its tier or faster is served if at all possible; an offer-only order
    # may go unserved at its lost-sale cost
    unassigned = np.where(has_primary, np.inf, lost_cost)
    # every option line takes its units from a (node, SKU) stock key: single-line options carry theirs
    # (opt_stock_key, what flow sees), and the use_* rows give every option's exact stock (what mip sees)
    row_of_pair = np.full(P, -1)
    row_of_pair[opt] = np.arange(opt.size)
    ml = row_of_pair[pair] >= 0
    use_option, use_qty = row_of_pair[pair[ml]], qty[ml].astype(np.int64)
    if splitter is None:
        opt_key, use_key, stock_left = option_stock(p_node[opt], use_option, sku[ml], n_lines[p_row[opt]] == 1,
                                                    inv.on_hand, inv.reserved)
    else:  # line rows draw on the same keys: number them as extra options after the real ones
        R, U = e.size, use_option.size
        opt_key, use_key, stock_left = option_stock(
            np.concatenate([p_node[opt], p_node[pair[e]]]), np.concatenate([use_option, opt.size + np.arange(R)]),
            np.concatenate([sku[ml], sku[e]]), np.concatenate([n_lines[p_row[opt]] == 1, np.zeros(R, bool)]),
            inv.on_hand, inv.reserved)
        opt_key, use_key, sl_key = opt_key[:opt.size], use_key[:U], use_key[U:]
    reservation = None
    if sc.router.lookahead:
        # stock positioned for a node's own-tier catchment pays when taken by anyone else: an upgrade, or an
        # order from another node's catchment (see sim.routing.lookahead)
        charged = (p_tier[opt] < req[p_row[opt]]) | (p_node[opt] != sim.preferred[p_tier[opt], zone[p_row[opt]]])
        reservation = option_reservation(
            use_option, pn[ml], sku[ml], qty[ml], charged=charged,
            rate=sim.la_rate, available=inv.on_hand, reserved=inv.reserved,
            horizon_s=(DAY * day_share(sim.hour_share, t, sim.next_review_s + net.lead_time_s))[:, None],
            value=sim.la_value)
        reservation[charged] += capacity_price(sim, t, g, cap)[p_node[opt][charged]]
    split = None
    if splitter is not None:
        ship_res = sl_res = None
        if sc.router.lookahead:
            s_charged = (p_tier[ships] < req[p_row[ships]]) | (p_node[ships] != sim.preferred[p_tier[ships], zone[p_row[ships]]])
            ship_res = np.where(s_charged, capacity_price(sim, t, g, cap)[p_node[ships]], 0.0)
            sl_res = option_reservation(
                np.arange(e.size), pn[e], sku[e], qty[e], charged=s_charged[sl_ship], rate=sim.la_rate,
                available=inv.on_hand, reserved=inv.reserved,
                horizon_s=(DAY * day_share(sim.hour_share, t, sim.next_review_s + net.lead_time_s))[:, None],
                value=sim.la_value)
        split = make_split(n_lines, p_row, p_node, pair, line, sku, qty, ships, fixed, e, sl_ship, sl_cost,
                           b.line_offsets[idx], sl_key, float(costs.split_per_extra_shipment_cny), ship_res, sl_res)
    batch = Batch(n_orders=n, requested_tier=req.astype(np.int8), opt_order=p_row[opt], opt_node=p_node[opt],
                  opt_tier=p_tier[opt].astype(np.int8), opt_km=km[opt], opt_cost=cost, opt_eta_s=eta[opt],
                  opt_offer=offer[opt], unassigned_cost=unassigned, node_capacity=cap,
                  opt_reservation=reservation, opt_stock_key=opt_key, stock_left=stock_left,
                  use_option=use_option, use_key=use_key, use_qty=use_qty, split=split)
    line_ship = None
    if splitter is not None:
        answer = splitter.route_lines(batch)
        choice, line_ship = np.asarray(answer.choice, np.int64), np.asarray(answer.line_ship, np.int64)
    else:
        choice = np.asarray(sim.router.route(batch), np.int64)
    if isinstance(sim.router, CountsFallbacks):
        sim.stats.fallbacks = int(sim.router.fallbacks)
    chosen = np.full(n, -1, np.int64)
    chosen[choice >= 0] = opt[choice[choice >= 0]]
    is_split = np.zeros(n, bool)
    if line_ship is not None and split is not None and (line_ship >= 0).any():
        # an order shipped from one node is a whole order at that pair; from several, a split order
        lo = split.line_order[line_ship >= 0]
        ls_pair = ships[line_ship[line_ship >= 0]]
        lo_min, lo_max = np.full(n, P, np.int64), np.full(n, -1, np.int64)
        np.minimum.at(lo_min, lo, ls_pair)
        np.maximum.at(lo_max, lo, ls_pair)
        one = (lo_max >= 0) & (lo_min == lo_max)
        chosen[one] = lo_min[one]
        is_split = (lo_max >= 0) & (lo_min != lo_max)

    routed = chosen
    chosen = _repair(sim, idx, chosen, p_node)  # copies before it unassigns: `routed` stays the router's choice
    if not is_split.any():
        _apply(sim, t, idx, chosen, p_node, p_tier, offer, acc, promise, km, handling, transport, g, ship_day,
               has_primary | wait, can_wait, lost_cost, est)
    else:
        w = ~is_split
        _apply(sim, t, idx[w], chosen[w], p_node, p_tier, offer, acc, promise, km, handling, transport, g, ship_day,
               (has_primary | wait)[w], can_wait[w], lost_cost[w], est)
        assert split is not None and line_ship is not None
        apply_split(sim, t, idx[is_split], line_ship[is_split[split.line_order]], split, ships,
                    _lines_of(b, idx[is_split]), p_node, p_tier, promise, km, est, transport, g, ship_day)
    if sim.explain is not None:  # `run --explain` only: reads the epoch, changes nothing
        sim.explain.record(sim, t, idx, batch=batch, opt=opt, p_row=p_row, p_node=p_node, p_tier=p_tier, pair=pair,
                           avail_line=avail_line, elig_line=elig_line, qty=qty, km=km, eta=eta, promise=promise,
                           handling=handling, transport=transport, feasible=feasible, is_open=is_open,
                           at_or_faster=at_or_faster, has_primary=has_primary, wait=wait, offer=offer, acc=acc,
                           routed=routed, chosen=chosen)


def capacity_price(sim: Any, t: float, g: int, cap: np.ndarray) -> np.ndarray:
    """(N,) look-ahead price of one place of a store's or FDC's capacity this epoch (0 at NDCs); see
    ``sim.routing.lookahead`` (capacity look-ahead). A store's places are what it can pick and hand to
    riders within the capacity horizon, wanted by its near orders over that horizon; an FDC's are what
    wave g can still take, wanted by its mid orders until the wave's cut-off."""
    share = np.zeros(sim.net.n_nodes)
    share[sim.stores] = day_share(sim.hour_share, t, t + sim.near_promise_s / 2)
    share[sim.fdcs] = day_share(sim.hour_share, t, max(sim.waves.cutoff_s(g), t))
    price = capacity_reservation(sim.la_orders, share, cap, sim.la_cap_value)
    price[sim.ndcs] = 0.0
    return price


def _lines_of(b: Any, idx: np.ndarray) -> np.ndarray:
    start, end = b.line_offsets[idx], b.line_offsets[idx + 1]
    n = end - start
    return np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)


def _repair(sim: Any, idx: np.ndarray, chosen: np.ndarray, p_node: np.ndarray) -> np.ndarray:
    """Unassign orders whose lines, taken in batch order, exceed the stock left at their node."""
    b, inv = sim.book, sim.inv
    rows = np.flatnonzero(chosen >= 0)
    if not rows.size:
        return chosen
    node = p_node[chosen[rows]]
    start, end = b.line_offsets[idx[rows]], b.line_offsets[idx[rows] + 1]
    cnt = end - start
    r = np.repeat(np.arange(rows.size), cnt)
    line = _lines_of(b, idx[rows])
    nd, sk, q = node[r], b.line_sku[line], b.line_qty[line].astype(np.int64)
    key = nd.astype(np.int64) * inv.on_hand.shape[1] + sk
    o = np.lexsort((r, key))
    ks, qs = key[o], q[o]
    cum = np.cumsum(qs)
    first = np.searchsorted(ks, ks)
    before = np.where(first > 0, cum[first - 1], 0)
    need = cum - before
    avail = inv.on_hand[nd[o], sk[o]] - inv.reserved[nd[o], sk[o]]
    bad_rows = np.unique(r[o][need > avail])
    if bad_rows.size:  # conservative: a failed order's units are not handed to a later one this epoch
        chosen = chosen.copy()
        chosen[rows[bad_rows]] = -1
        sim.stats.repairs += int(bad_rows.size)
    return chosen


def _apply(sim: Any, t: float, idx: np.ndarray, chosen: np.ndarray, p_node: np.ndarray, p_tier: np.ndarray,
           offer: np.ndarray, acc: np.ndarray, promise: np.ndarray, km: np.ndarray, handling: np.ndarray,
           transport: np.ndarray, g: int, ship_day: int, waitable: np.ndarray, can_wait: np.ndarray,
           lost_cost: np.ndarray, est: np.ndarray) -> None:
    b, inv, net = sim.book, sim.inv, sim.net
    got = chosen >= 0
    is_offer = np.zeros(idx.size, bool)
    is_offer[got] = offer[chosen[got]]
    declined = is_offer & (b.u_decision[idx] >= np.where(got, acc[np.maximum(chosen, 0)], 0))
    assign = got & ~declined
    # unassigned: carry while the order may still be served; lost when declined or hopeless
    unassigned = ~got
    grace = CARRY_GRACE_S[b.requested_tier[idx]]
    carry = unassigned & waitable & (t <= b.deadline_s[idx] + grace)
    lost = declined | (unassigned & ~carry)
    b.carry = np.concatenate([b.carry, idx[carry]])

    if lost.any():
        li = idx[lost]
        b.status[li] = LOST
        b.downgraded[li] = False
        day = (b.created_s[li] // DAY).astype(np.int64)
        np.add.at(sim.day_costs["lost_sales"], day, lost_cost[lost])
        _lost_demand(sim, li)
    if not assign.any():
        return
    ai = idx[assign]
    c = chosen[assign]
    node, tier = p_node[c], p_tier[c]
    b.node[ai], b.served_tier[ai], b.promised_s[ai] = node, tier, promise[c]
    b.downgraded[ai] = is_offer[assign]
    b.cost_handling[ai] = handling[c]
    b.cost_transport[ai] = est[c]  # the routing estimate until delivery books the realised cost (see _deliver)
    if is_offer[assign].any():
        _lost_demand(sim, ai[is_offer[assign]])

    pick_s = np.empty(ai.size)
    near, mid, far = tier == NEAR, tier == MID, tier == FAR
    if near.any():
        srow = sim.row[node[near]]
        n_l = b.n_lines(ai[near])
        mean = sim.store_pick_base[srow] + sim.store_pick_line[srow] * n_l
        start, end = sim.ops.pick(t, srow, mean, b.u_service[ai[near]])
        pick_s[near] = start
        b.cost_handling[ai[near]] = sim.sc.costs.picker_per_hour_cny * (end - start) / HOUR
        sim.ops.ready(srow, ai[near], end, km[c[near]], b.zone[ai[near]], promise[c[near]],
                      u=sim.trip_u[ai[near]] if sim.ops.trip is not None else None, assigned_s=t)
    if mid.any():
        frow = sim.row[node[mid]]
        pick_s[mid] = sim.waves.cutoff_s(g)
        sim.waves.add(g, ai[mid], frow, net.zone_lat[b.zone[ai[mid]]], net.zone_lon[b.zone[ai[mid]]], km[c[mid]])
    if far.any():
        nrow = sim.row[node[far]]
        pick_s[far] = sim.parcels.cutoff_s(ship_day)
        b.cost_transport[ai[far]] = transport[c[far]]
        sim.parcels.add(ship_day, ai[far], nrow, b.city[ai[far]], b.u_service[ai[far]])
    b.pick_start_s[ai] = pick_s
    cnt = b.n_lines(ai)
    lines = _lines_of(b, ai)
    inv.reserve(np.repeat(node, cnt), b.line_sku[lines].astype(np.int64), b.line_qty[lines].astype(np.int64),
                np.repeat(pick_s, cnt))


def _lost_demand(sim: Any, orders: np.ndarray) -> None:
    """Count the units of lost or downgraded orders at the node their requested tier would have used."""
    b = sim.book
    pref = sim.preferred[b.requested_tier[orders], b.zone[orders]]
    cnt = b.n_lines(orders)
    lines = _lines_of(b, orders)
    node = np.repeat(pref, cnt)
    ok = node >= 0
    np.add.at(sim.inv.lost_demand, (node[ok], b.line_sku[lines][ok]), b.line_qty[lines][ok])
