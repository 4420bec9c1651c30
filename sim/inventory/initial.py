"""The planner's observed starting stock (``inventory.initial``) placed into the engine's arrays.

On-hand units become day 0's opening stock (``start`` in inventory.parquet) with their perishable age;
in-transit rows enter the pipeline and arrive at their time (``received`` on that day). File rules:
``sim/io/stock.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.inventory.replenishment import Pipeline, Shipment
from sim.inventory.state import InventoryState

if TYPE_CHECKING:
    from sim.catalog_model import Catalog
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network


def place_initial_stock(
    sc: Scenario, net: Network, cat: Catalog, inv: InventoryState, pipeline: Pipeline
) -> np.ndarray:
    """Apply the scenario's starting stock; returns (N,) bool, True for nodes the file specifies."""
    from sim.io.stock import scenario_stock

    stock = scenario_stock(sc, list(net.node_ids), cat)
    if stock is None:
        return np.zeros(net.n_nodes, bool)
    here = np.isnan(stock.arrive_s)
    node, sku, units, age = stock.node[here], stock.sku[here], stock.units[here], stock.age_days[here]
    np.add.at(inv.on_hand, (node, sku), units)
    inv.start = inv.on_hand.copy()
    if inv.perishable.size:
        col = inv._perishable_col(sku)
        m = col >= 0
        np.add.at(inv.cohorts, (np.minimum(age[m], inv.cohorts.shape[0] - 1), node[m], col[m]), units[m])
    moving = ~here
    if moving.any():
        node, sku, units = stock.node[moving], stock.sku[moving], stock.units[moving]
        inv.ship_in(node, sku, units)
        pipeline.add(Shipment(stock.arrive_s[moving].astype(float), node, sku, units))
    return stock.nodes_given
