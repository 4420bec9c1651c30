"""Each accounting invariant is broken by one targeted corruption and reported; a consistent run passes."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from synthetic_run import clone, make_records

from sim.errors import InvariantViolation, ShangouError
from sim.metrics.invariants import assert_invariants, check_invariants
from sim.network.build import build_network
from sim.records import DELIVERED, LOST, OPEN, InventoryRecords, RunRecords


@pytest.fixture(scope="module")
def base(toy) -> RunRecords:
    return make_records(build_network(toy), seed=11, n_orders=300)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _delivered(r: RunRecords) -> int:
    return _first(r.orders.status == DELIVERED)


def _lost(r: RunRecords) -> int:
    return _first(r.orders.status == LOST)


def _inv_row(r: RunRecords, cond: Callable[[InventoryRecords], np.ndarray]) -> int:
    return _first(cond(r.inventory))


def bad_status(r):
    r.orders.status[3] = 7


def still_open(r):
    i = _first(~r.orders.warmup)
    o = r.orders
    o.status[i], o.served_tier[i], o.node[i], o.delivered_s[i], o.n_shipments[i] = OPEN, -1, -1, np.nan, 0
    r.lines.status[r.lines.order_id == o.order_id[i]] = OPEN  # already shipped: open lines allow that


def early_delivery(r):
    i = _delivered(r)
    r.orders.delivered_s[i] = r.orders.created_s[i] - 1


def nan_delivery(r):
    r.orders.delivered_s[_delivered(r)] = np.nan


def lost_with_time(r):
    r.orders.delivered_s[_lost(r)] = 123.0


def early_promise(r):
    i = _delivered(r)
    r.orders.promised_s[i] = r.orders.created_s[i] - 60


def delivered_without_tier(r):
    r.orders.served_tier[_delivered(r)] = -1


def lost_with_node(r):
    r.orders.node[_lost(r)] = 2


def unbalanced_row(r):
    i = _inv_row(r, lambda v: v.spoiled > 0)
    r.inventory.spoiled[i] -= 1  # end unchanged: start + received - ... != end


def negative_end(r):
    v = r.inventory
    i = _inv_row(r, lambda v: (v.day == v.day.max()) & (v.end < 3))
    v.transferred_out[i] += 3  # still balances, but leaves negative stock
    v.end[i] -= 3


def broken_chain(r):
    v = r.inventory
    i = _inv_row(r, lambda v: (v.day > v.day.min()) & (v.received > 0))
    v.start[i] += 1  # balance still holds, but start != yesterday's end
    v.received[i] -= 1


def vanished_row(r):
    v = r.inventory
    i = _inv_row(
        r, lambda v: (v.day > v.day.min()) & (v.day < v.day.max()) & (v.start > 0) & (v.shipped == 0)
    )
    keep = np.arange(len(v.day)) != i
    for name, col in vars(v).items():
        if col is not None:  # optional columns (sold_offline) are None when their mechanism is off
            setattr(v, name, col[keep])


def duplicate_row(r):
    v = r.inventory
    for name, col in vars(v).items():
        if col is not None:
            setattr(v, name, np.concatenate([col, col[:1]]))


def lost_order_delivered_line(r):
    j = _first(np.isin(r.lines.order_id, r.orders.order_id[r.orders.status == LOST]))
    r.lines.status[j], r.lines.node[j], r.lines.served_tier[j] = DELIVERED, 0, 2


def shipped_mismatch(r):
    ln = r.lines
    j = _first(ln.status == DELIVERED)
    ln.qty[j] += 1
    r.orders.units[r.orders.order_id == ln.order_id[j]] += 1  # the order agrees; the inventory does not


def wrong_n_lines(r):
    r.orders.n_lines[0] += 1


def wrong_missing_lines(r):
    r.orders.missing_lines[_delivered(r)] += 1


def wrong_n_shipments(r):
    r.orders.n_shipments[_delivered(r)] += 1


def orphan_line(r):
    r.lines.order_id[0] = 10**9


CASES = [
    (bad_status, "created = delivered + lost + open"),
    (still_open, "open = 0 for measured orders"),
    (early_delivery, "delivered_s >= created_s"),
    (nan_delivery, "delivered_s >= created_s"),
    (lost_with_time, "delivered_s is NaN unless delivered"),
    (early_promise, "promised_s >= created_s"),
    (delivered_without_tier, "a delivered order has a served tier"),
    (lost_with_node, "a lost order has no served tier and no node"),
    (unbalanced_row, "start + received - shipped - transferred_out - spoiled = end"),
    (negative_end, "end >= 0"),
    (broken_chain, "start of day d+1 = end of day d"),
    (vanished_row, "start of day d+1 = end of day d"),
    (duplicate_row, "one inventory row per day x node x SKU"),
    (lost_order_delivered_line, "a lost order has no delivered line"),
    (shipped_mismatch, "shipped units per node = delivered line units"),
    (wrong_n_lines, "n_lines = number of lines"),
    (wrong_missing_lines, "missing_lines of a delivered order"),
    (wrong_n_shipments, "n_shipments = distinct nodes"),
    (orphan_line, "every line belongs to an order"),
]


def test_consistent_records_pass(base):
    assert check_invariants(base, drained=True) == []
    assert_invariants(base, drained=True)


def test_open_orders_are_fine_until_the_drain(toy):
    r = make_records(build_network(toy), seed=2, n_orders=200, open_orders=4)
    assert check_invariants(r, drained=False) == []
    problems = check_invariants(r, drained=True)
    assert len(problems) == 1
    assert re.match(
        r"open = 0 for measured orders after the drain: 4 of \d+ measured orders are still open; e\.g\. ",
        problems[0],
    )


@pytest.mark.parametrize(("corrupt", "name"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_each_corruption_is_detected(base, corrupt, name):
    r = clone(base)
    corrupt(r)
    problems = check_invariants(r, drained=True)
    hits = [p for p in problems if name in p]
    assert hits, f"{name!r} not among {problems}"
    assert "e.g." in hits[0] and " of " in hits[0]  # a count and an example


def test_targeted_corruptions_report_only_their_invariant(base):
    for corrupt in (
        bad_status,
        early_promise,
        unbalanced_row,
        broken_chain,
        duplicate_row,
        shipped_mismatch,
        wrong_n_lines,
    ):
        r = clone(base)
        corrupt(r)
        assert len(check_invariants(r, drained=True)) == 1, corrupt.__name__


def test_assert_lists_every_violation(base):
    r = clone(base)
    bad_status(r)
    unbalanced_row(r)
    with pytest.raises(InvariantViolation) as exc:
        assert_invariants(r, drained=True)
    err = exc.value
    assert isinstance(err, ShangouError) and err.exit_code == 1
    assert (
        len(err.problems) == 2
        and "1 of 300 orders" in str(err)
        and "inventory rows do not balance" in str(err)
    )
