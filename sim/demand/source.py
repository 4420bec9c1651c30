"""One entry point for a day's demand, whatever its source: the engine calls ``demand_day``."""

from __future__ import annotations

from typing import Any

from sim.catalog import Catalog
from sim.demand.orders import Orders
from sim.rng import RandomStreams


def demand_day(sc: Any, network: Any, catalog: Catalog, streams: RandomStreams, day_index: int) -> Orders:
    """Orders created on day `day_index`: synthetic (``generate_day``) or replayed (``history_day``)."""
    if sc.demand.source == "file":
        from sim.demand.history import history_day

        return history_day(sc, network, catalog, streams, day_index)
    from sim.demand.generate import generate_day

    return generate_day(sc, network, catalog, streams, day_index)
