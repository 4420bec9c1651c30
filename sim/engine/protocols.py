"""What a routing epoch's steps read of the simulation: ``SimState``, a narrow typed Protocol.

The epoch steps (``sim.engine.option_build``, ``routing_step``, ``dispatch``, ``shipments``) and the
explain recorder take the running ``Simulation`` as ``sim: SimState``: mypy checks every attribute they
read against this list, and a step can be tested on any object that has these attributes (a test
fixture, a stub) without building a whole simulation. ``Simulation`` satisfies it structurally
(``tests/sim/engine/test_protocols.py``); it is declared here, not imported, so the steps do not import
the class that imports them (no cycle, ``tests/sim/test_import_graph.py``).

Adding a step that reads a new attribute of the simulation: add it here with its type.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sim.catalog_model import Catalog
    from sim.engine.book import OrderBook
    from sim.engine.offline import OfflineSales
    from sim.engine.options import Candidates, EpochOptions
    from sim.engine.parcel import Parcels
    from sim.engine.store import StoreOps
    from sim.engine.substitution import SubstituteRule
    from sim.engine.warehouse import Waves
    from sim.inventory.state import InventoryState
    from sim.io.scenario.models import Scenario
    from sim.network.build import Network
    from sim.records import RouterStats
    from sim.routing.base import Batch, Router

__all__ = ["EpochRecorder", "SimState"]


class EpochRecorder(Protocol):
    """`run --explain`'s recorder (``sim.engine.explain.ExplainRecorder``) as the epoch sees it."""

    seconds: float  # wall time spent recording (kept out of the router's solver time)

    def record(
        self,
        sim: SimState,
        ep: EpochOptions,
        batch: Batch,
        opt: np.ndarray,
        routed: np.ndarray,
        chosen: np.ndarray,
    ) -> None: ...


class SimState(Protocol):
    """The simulation's state as the routing epoch reads it (all arrays are indexed as noted).

    Read-only members are properties, so ``Simulation`` may hold a narrower type (e.g. its
    ``ExplainRecorder``); the rest are the objects the steps change in place (book, stock, node
    processes, counters)."""

    # the scenario and the static network / catalogue
    @property
    def sc(self) -> Scenario: ...
    @property
    def net(self) -> Network: ...
    @property
    def cat(self) -> Catalog: ...
    @property
    def stores(self) -> np.ndarray: ...  # node ids of each kind, in row order
    @property
    def fdcs(self) -> np.ndarray: ...
    @property
    def ndcs(self) -> np.ndarray: ...
    @property
    def row(self) -> np.ndarray: ...  # (N,) node -> row in its kind's operation arrays
    @property
    def cand(self) -> list[Candidates]: ...  # covering stores, covering FDCs per zone
    @property
    def preferred(self) -> np.ndarray: ...  # (3, zones) each tier's catchment node

    # the router and what the epoch records
    @property
    def router(self) -> Router: ...
    @property
    def stats(self) -> RouterStats: ...
    @property
    def explain(self) -> EpochRecorder | None: ...
    @property
    def day_costs(self) -> dict[str, np.ndarray]: ...

    # orders, stock and the node processes (changed in place)
    @property
    def book(self) -> OrderBook: ...
    @property
    def inv(self) -> InventoryState: ...
    @property
    def ops(self) -> StoreOps: ...
    @property
    def waves(self) -> Waves: ...
    @property
    def parcels(self) -> Parcels: ...
    @property
    def trip_u(self) -> np.ndarray: ...  # per order: its trip uniforms (riders' whole trips only)
    @property
    def subst(self) -> SubstituteRule | None: ...  # tiers.substitution (None: off)
    @property
    def offline(self) -> OfflineSales | None: ...  # nodes.stores.offline: shops' counters (None: off)

    # per-row operation parameters (stores, FDCs, NDCs)
    @property
    def store_pick_base(self) -> np.ndarray: ...
    @property
    def store_pick_line(self) -> np.ndarray: ...
    @property
    def store_open_s(self) -> np.ndarray: ...
    @property
    def store_close_s(self) -> np.ndarray: ...
    @property
    def fdc_pick_base(self) -> np.ndarray: ...
    @property
    def fdc_pick_line(self) -> np.ndarray: ...
    @property
    def fdc_pickers(self) -> np.ndarray: ...
    @property
    def fdc_mean_km(self) -> np.ndarray: ...
    @property
    def parcel_cost(self) -> np.ndarray: ...  # (NDC row, city) CNY per parcel
    @property
    def near_promise_s(self) -> float: ...
    @property
    def quote_slack_s(self) -> float: ...
    @property
    def mean_order_l(self) -> float: ...

    # per order: the store that last had its lines (option_build.park), grown and written by that step
    park_witness: np.ndarray

    # routing estimates calibrated by delivery (N,), changed in place
    @property
    def realised(self) -> np.ndarray: ...
    @property
    def realised_n(self) -> np.ndarray: ...
    @property
    def estimated(self) -> np.ndarray: ...

    # look-ahead (router.lookahead), refreshed at each review
    @property
    def la_rate(self) -> np.ndarray: ...
    @property
    def la_value(self) -> np.ndarray: ...
    @property
    def la_orders(self) -> np.ndarray: ...
    @property
    def la_cap_value(self) -> np.ndarray: ...
    @property
    def la_rate_cv(self) -> float: ...  # router.lookahead_rate_cv, resolved
    @property
    def la_other(
        self,
    ) -> np.ndarray: ...  # (N, S) units served besides the own-tier catchment (lookahead_demand)
    @property
    def la_other_orders(self) -> np.ndarray: ...  # (N,) orders of the same
    @property
    def next_review_s(self) -> np.ndarray: ...
    @property
    def hour_share(self) -> np.ndarray: ...
