"""A fresh unit keeps its age through transfers (issue #14, ``inventory.fresh.carry_age``): FIFO split of
transfer rows by age, the age on arrival (road days counted), and spoilage a shelf life after entry."""

from __future__ import annotations

import numpy as np

from sim.inventory.replenishment import Pipeline, Shipment, _aged
from sim.inventory.state import InventoryState
from sim.units import DAY


def _inv() -> InventoryState:
    inv = InventoryState(3, 2, np.array([4.0, np.inf]))  # SKU 0 fresh (4 days), SKU 1 not
    inv.carry_age = True
    inv.on_hand[0] = [8, 5]
    inv.cohorts[2, 0, 0], inv.cohorts[0, 0, 0] = 3, 5  # 3 units received 2 days ago, 5 today
    return inv


def test_transfer_rows_take_the_oldest_units_first_in_row_order() -> None:
    inv = _inv()
    r, slot, q = inv.transfer_out(np.array([0, 0, 0]), np.array([0, 1, 0]), np.array([4, 2, 3]))  # type: ignore[misc]
    # row 0: the 3 two-day-old units, then 1 new; row 1 (not perishable): new; row 2: 3 new
    assert list(zip(r.tolist(), slot.tolist(), q.tolist(), strict=True)) == [
        (0, 0, 1),
        (0, 2, 3),
        (1, 0, 2),
        (2, 0, 3),
    ]
    assert inv.cohorts[:, 0, 0].tolist() == [1, 0, 0, 0] and inv.on_hand[0].tolist() == [1, 3]


def test_age_survives_the_road_and_spoils_a_shelf_life_after_entry() -> None:
    inv = _inv()
    day = 5
    split = inv.transfer_out(np.array([0]), np.array([0]), np.array([4]))
    inv.ship_in(np.array([1]), np.array([0]), np.array([4]))
    ship = _aged(
        Shipment(np.array([day * DAY + 20 * 3600.0]), np.array([1]), np.array([0]), np.array([4])),
        split,
        day * DAY + 3600.0,
    )
    assert ship.origin_day is not None and sorted(ship.origin_day.tolist()) == [
        3,
        5,
    ]  # day 5 - age 2; new: day 5
    pipe = Pipeline()
    pipe.add(ship)
    arr = pipe.arrivals((day + 1) * DAY + 60.0)  # applied the next morning: one more day on the road
    now_day = day + 1
    slot = np.where(arr.origins() >= 0, now_day - arr.origins(), 0)
    inv.receive(arr.node, arr.sku, arr.qty, from_pipeline=True, slot=slot)
    assert inv.cohorts[:, 1, 0].tolist() == [0, 1, 0, 3]  # the old units are 3 days old at node 1
    spoiled = inv.age_and_spoil()  # close of day 6: the 3 units reach their 4-day life
    assert spoiled[1, 0] == 3 and inv.on_hand[1, 0] == 1
    assert inv.pipeline[1, 0] == 0


def test_without_carry_age_a_transfer_arrives_new() -> None:
    inv = _inv()
    inv.carry_age = False
    assert inv.transfer_out(np.array([0]), np.array([0]), np.array([4])) is None
    inv.receive(np.array([1]), np.array([0]), np.array([4]), from_pipeline=False)
    assert inv.cohorts[:, 1, 0].tolist() == [4, 0, 0, 0]
