"""The last step of a routing epoch: settle offers (accepted or declined), carry or lose the orders left
unassigned, and hand the assigned whole orders to their node's process (store pickers and riders, the
FDC's wave, the NDC's parcels), reserving their stock at the pick time. Split orders: ``sim.engine.shipments``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.assumptions import CARRY_GRACE_S
from sim.engine.options import EpochOptions, lines_of
from sim.engine.substitution import commit_substitutes, drop_lines
from sim.records import LOST
from sim.units import DAY, HOUR
from sim.vocab import Tier

if TYPE_CHECKING:
    from sim.engine.protocols import SimState


def apply_orders(sim: SimState, ep: EpochOptions, rows: np.ndarray | None, chosen: np.ndarray) -> None:
    """Apply the whole-order choices `chosen` (candidate pair per order, -1 none) of the batch orders
    `rows` (a mask over the batch; None: all of them)."""
    b = sim.book
    if rows is None:
        idx, waitable, lost_cost = ep.idx, ep.has_primary | ep.wait, ep.lost_cost
    else:
        idx, waitable, lost_cost = ep.idx[rows], (ep.has_primary | ep.wait)[rows], ep.lost_cost[rows]
    got = chosen >= 0
    is_offer = np.zeros(idx.size, bool)
    is_offer[got] = ep.offer[chosen[got]]
    acc = np.zeros(idx.size)  # (an epoch may have no pairs at all: every order parked)
    acc[got] = ep.accept[chosen[got]]
    declined = is_offer & (b.u_decision[idx] >= acc)
    assign = got & ~declined
    # unassigned: carry while the order may still be served; lost when declined or hopeless
    unassigned = ~got
    grace = CARRY_GRACE_S[b.requested_tier[idx]]
    carry = unassigned & waitable & (ep.t <= b.deadline_s[idx] + grace)
    lost = declined | (unassigned & ~carry)
    b.carry = np.concatenate([b.carry, idx[carry]])

    if lost.any():
        li = idx[lost]
        b.status[li] = LOST
        b.downgraded[li] = False
        day = (b.created_s[li] // DAY).astype(np.int64)
        np.add.at(sim.day_costs["lost_sales"], day, lost_cost[lost])
        lost_demand(sim, li)
    if not assign.any():
        return
    ai = idx[assign]
    c = chosen[assign]
    node, tier = ep.p_node[c], ep.p_tier[c]
    b.node[ai], b.served_tier[ai], b.promised_s[ai] = node, tier, ep.promise[c]
    b.downgraded[ai] = is_offer[assign]
    b.cost_handling[ai] = ep.handling[c]
    b.cost_transport[ai] = ep.transport_est[c]  # the routing estimate until delivery books the realised cost
    if is_offer[assign].any():
        lost_demand(sim, ai[is_offer[assign]])
    cnt = b.n_lines(ai)
    lines = lines_of(b.line_offsets, ai)
    drop_lines(sim, ep, ai, c, lines)  # tiers.substitution.drop: lines the customer dropped ship no units
    pick_s = _to_nodes(sim, ep, ai, c)
    b.pick_start_s[ai] = pick_s
    commit_substitutes(sim, ep, ai, c, lines)  # tiers.substitution: the lines ship their substitutes
    qty = b.line_qty[lines].astype(np.int64)
    if ep.drop is not None:
        qty[b.line_dropped[lines]] = 0
    sim.inv.reserve(
        np.repeat(node, cnt),
        b.line_sku[lines].astype(np.int64),
        qty,
        np.repeat(pick_s, cnt),
    )


def _to_nodes(sim: SimState, ep: EpochOptions, ai: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Hand orders `ai` (assigned at pairs `c`) to their node's process; returns each order's pick start."""
    b = sim.book
    node, tier, km, promise = ep.p_node[c], ep.p_tier[c], ep.km, ep.promise
    pick_s = np.empty(ai.size)
    near, mid, far = tier == Tier.NEAR, tier == Tier.MID, tier == Tier.FAR
    if near.any():
        srow = sim.row[node[near]]
        n_l = b.n_lines(ai[near])
        if ep.drop is not None:  # dropped lines are not picked
            dropped = b.line_dropped[lines_of(b.line_offsets, ai[near])].astype(np.int64)
            n_l = n_l - np.add.reduceat(dropped, np.r_[0, np.cumsum(n_l)[:-1]])
        mean = sim.store_pick_base[srow] + sim.store_pick_line[srow] * n_l
        start, end = sim.ops.pick(ep.t, srow, mean, b.u_service[ai[near]])
        pick_s[near] = start
        b.cost_handling[ai[near]] = sim.sc.costs.picker_per_hour_cny * (end - start) / HOUR
        sim.ops.ready(
            srow,
            ai[near],
            end,
            km[c[near]],
            b.zone[ai[near]],
            promise[c[near]] - sim.quote_slack_s,
            u=sim.trip_u[ai[near]] if sim.ops.trip is not None else None,
            assigned_s=ep.t,
        )
    if mid.any():
        frow = sim.row[node[mid]]
        pick_s[mid] = sim.waves.cutoff_s(ep.wave)
        z = b.zone[ai[mid]]
        sim.waves.add(ep.wave, ai[mid], frow, sim.net.zone_lat[z], sim.net.zone_lon[z], km[c[mid]])
    if far.any():
        nrow = sim.row[node[far]]
        pick_s[far] = sim.parcels.cutoff_s(ep.ship_day)
        b.cost_transport[ai[far]] = ep.transport[c[far]]
        sim.parcels.add(ep.ship_day, ai[far], nrow, b.city[ai[far]], b.u_service[ai[far]])
    return pick_s


def lost_demand(sim: SimState, orders: np.ndarray) -> None:
    """Count the units of lost or downgraded orders at the node their requested tier would have used."""
    b = sim.book
    pref = sim.preferred[b.requested_tier[orders], b.zone[orders]]
    cnt = b.n_lines(orders)
    lines = lines_of(b.line_offsets, orders)
    node = np.repeat(pref, cnt)
    ok = node >= 0
    np.add.at(sim.inv.lost_demand, (node[ok], b.line_sku[lines][ok]), b.line_qty[lines][ok])
