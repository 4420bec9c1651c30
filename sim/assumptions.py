"""Model constants that are not scenario fields, in one place: what each means, why it has its value,
and who reads it. Everything a planner is expected to vary is a scenario field instead (its default
defined once, in ``sim.io.scenario.models``); what is here is either a modelling rule of the engine or
a stand-in figure used only when no scenario is at hand (``sim.policies.costs.default_costs``).

Changing one of these changes outputs: record new golden hashes (tools/golden.py) and say why.
"""

from __future__ import annotations

import numpy as np

from sim.units import DAY, HOUR

# --------------------------------------------------------------------------- engine rules
#: by requested tier (near, mid, far): how long past its carry deadline an order left unassigned by a
#: capacity shortage is still carried to later epochs before it is given up as lost
#: (sim.engine.dispatch); an operator's patience with a queued order, not a customer figure
CARRY_GRACE_S = np.array([1 * HOUR, 4 * HOUR, DAY])

#: a far option's ETA for routing is its promise (24:00 of the lane's delivery day) less this: parcels
#: arrive between 09:00 and 21:00 of that day (sim.engine.parcel), 9 h before midnight is mid-window
#: (sim.engine.option_build.estimate_far; the ETA ranks options, it is never a delivery time)
FAR_ETA_BEFORE_PROMISE_S = 9 * HOUR

#: after the measured days the run continues without new orders until every measured order is
#: delivered or lost, for at most this many days (sim.engine.simulation; DESIGN.md "drain")
MAX_DRAIN_DAYS = 5

#: events at the same instant as an epoch boundary run just after it (seconds), so an order routed at
#: 10:00:00 still makes a 10:00 cut-off (sim.engine.simulation)
EVENT_EPS_S = 1e-3

# --------------------------------------------------------------------------- policy cost figures
#: orders sharing one van tour in the policy's cost of a mid order (sim.policies.costs.policy_costs:
#: ``per_stop + per_km x 2 km / van_orders_per_tour``); the engine itself routes real tours
VAN_ORDERS_PER_TOUR = 10.0

#: stand-ins for the network-dependent figures of ``default_costs`` (a policy called without the
#: engine's costs): a store's mean rider distance, an FDC's mean catchment distance (road km), and an
#: NDC -> FDC full truck's fixed cost (the lane's 600 CNY base plus its distance share)
DEFAULT_STORE_KM = 2.5
DEFAULT_FDC_KM = 8.0
DEFAULT_NDC_FDC_TRUCK_CNY = 2500.0
