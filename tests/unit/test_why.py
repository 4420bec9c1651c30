"""The "why" text of ``shangou explain`` on crafted candidate rows (sim.report.why)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.report.why import binding, why_epoch, why_order

BASE: dict[str, Any] = dict(
    epoch_s=3600.0,
    order_id=7,
    requested_tier="near",
    tier="near",
    km=1.0,
    handling_cny=1.0,
    transport_cny=3.0,
    offer=False,
    accept_p=1.0,
    cost_cny=np.nan,
    reservation_cny=np.nan,
    decision_cny=np.nan,
    eta_s=4000.0,
    promise_s=5400.0,
    feasible=True,
    stock=5,
    capacity=10,
    node_taken=0,
    key_taken=-1,
    reason="option",
    chosen=False,
    unassigned_cny=np.inf,
    waiting=False,
    u_decision=0.5,
    repaired=False,
    outcome="assigned",
)


def rows(*cands: dict[str, Any], **order: Any) -> pd.DataFrame:
    """Candidate rows of one order in one epoch; an option's cost defaults to its decision cost."""
    out = []
    for c in cands:
        r = {**BASE, **order, **c}
        if r["reason"] == "option" and np.isnan(r["cost_cny"]):
            r["cost_cny"] = r["decision_cny"]
        out.append(r)
    return pd.DataFrame(out)


def test_cheapest_wins() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S0012", decision_cny=6.10, chosen=True),
            dict(node_id="F03", tier="mid", decision_cny=9.80),
        ),
        "flow",
    )
    assert "chosen S0012 near: lowest decision cost 6.10 CNY (next best F03 mid 9.80: +3.70)" in e.why
    assert e.why.endswith("→ assigned to S0012 (near)")
    assert [o["node_id"] for o in e.options] == ["S0012", "F03"] and e.chosen == "S0012"


def test_capacity_taken_by_the_batch() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S0007", decision_cny=4.0, capacity=2, node_taken=2),
            dict(node_id="F03", tier="mid", decision_cny=9.0, chosen=True),
        ),
        "flow",
    )
    assert (
        "the cheaper S0007 near (4.00 CNY, -5.00) was not taken because its node capacity (2 order(s) this "
        "epoch) went to other orders of the same batch" in e.why
    )
    assert e.options[0]["node_id"] == "S0007"  # sorted by decision cost, the chosen one highlighted second


def test_last_units_taken_by_the_batch() -> None:
    r = rows(
        dict(node_id="S0007", decision_cny=4.0, stock=1, key_taken=1),
        dict(node_id="F03", tier="mid", decision_cny=9.0, chosen=True),
    )
    assert "its last 1 unit(s) went to other orders of the same batch" in why_epoch(r, "flow").why
    assert binding(r.iloc[1]) is None


def test_reservation_flips_the_choice() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S0012", cost_cny=3.0, reservation_cny=4.2, decision_cny=7.2),
            dict(node_id="F03", tier="mid", cost_cny=5.0, reservation_cny=0.0, decision_cny=5.0, chosen=True),
            requested_tier="far",
        ),
        "flow",
    )
    assert "chosen F03 mid: lowest decision cost 5.00 CNY" in e.why
    assert "reservation price 4.20 CNY on S0012" in e.why and "made F03 cheaper" in e.why


def test_declined_offer() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S0001", reason="no_stock", stock=0),
            dict(node_id="F03", tier="mid", offer=True, accept_p=0.5, decision_cny=12.0, chosen=True),
            u_decision=0.71,
            outcome="declined",
            unassigned_cny=20.0,
        ),
        "flow",
    )
    assert (
        "no option at the requested tier (near) or faster: offered mid from F03, declined (u=0.71 ≥ p=0.50) "
        "→ lost" in e.why
    )
    assert [(r["node_id"], r["reason"]) for r in e.rejected] == [("S0001", "no_stock")]


def test_carried_while_a_store_queue_is_busy() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S0003", reason="late", eta_s=6000.0),
            dict(node_id="N1", tier="far", reason="slower_tier"),
            waiting=True,
            outcome="carried",
        ),
        "flow",
    )
    assert e.why.startswith("carried: no option now; S0003 has the stock but its queue is busy")
    assert e.chosen is None and not e.options


def test_no_option_and_no_wait_is_lost() -> None:
    e = why_epoch(
        rows(
            dict(node_id="F03", tier="mid", reason="no_stock"),
            requested_tier="mid",
            outcome="lost",
            unassigned_cny=30.0,
        ),
        "flow",
    )
    assert "no option" in e.why and "lost-sale cost 30.00 CNY" in e.why


def test_offers_dearer_than_the_lost_sale_leave_it_unassigned() -> None:
    e = why_epoch(
        rows(
            dict(node_id="N1", tier="far", offer=True, accept_p=0.3, decision_cny=35.0),
            outcome="lost",
            unassigned_cny=30.0,
        ),
        "flow",
    )
    assert "every option costs at least losing the sale (best N1 far 35.00 vs 30.00 CNY)" in e.why


def test_repaired_choice() -> None:
    e = why_epoch(
        rows(dict(node_id="S0012", decision_cny=5.0, chosen=True), repaired=True, outcome="carried"), "flow"
    )
    assert "stock repair undid it" in e.why and e.why.endswith("→ carried to the next epoch")


def test_nearest_router_ranks_by_distance() -> None:
    e = why_epoch(
        rows(
            dict(node_id="S1", km=0.8, decision_cny=7.0, chosen=True),
            dict(node_id="S2", km=2.0, decision_cny=5.0),
        ),
        "nearest",
    )
    assert "the `nearest` router takes the closest option" in e.why
    assert "the cheapest option was S2 near at 5.00 CNY (-2.00); this router does not rank by cost" in e.why


def test_epochs_in_time_order() -> None:
    a = rows(dict(node_id="S1", reason="late"), epoch_s=120.0, waiting=True, outcome="carried")
    b = rows(dict(node_id="S1", decision_cny=5.0, chosen=True), epoch_s=60.0 + 120.0)
    eps = why_order(pd.concat([b, a], ignore_index=True), "flow")
    assert [e.epoch_s for e in eps] == [120.0, 180.0] and [e.outcome for e in eps] == ["carried", "assigned"]
