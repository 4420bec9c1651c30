"""docs/howto/add-a-router.md stays true: its code block (executed as written) registers a router that
make_router builds and that routes by ETA within node capacity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from sim.registry import ROUTERS
from sim.routing.base import Batch, make_router, router_capabilities

PAGE = Path(__file__).resolve().parents[3] / "docs" / "howto" / "add-a-router.md"


def test_the_howto_router_routes_by_eta_within_capacity() -> None:
    (code,) = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)
    ns: dict[str, Any] = {"__name__": "howto_router"}
    exec(compile(code, str(PAGE), "exec"), ns)
    try:
        router = make_router("fastest", max_deterministic_time=1.0)  # settings it does not take are dropped
        assert isinstance(router, ns["Fastest"])
        assert router_capabilities(router).max_shipments == 1
        # two orders both prefer node 0 (earlier ETA), which takes one: the first gets it, the second node 1
        batch = Batch(
            n_orders=2,
            requested_tier=np.zeros(2, np.int8),
            opt_order=np.array([0, 0, 1, 1]),
            opt_node=np.array([0, 1, 0, 1]),
            opt_tier=np.zeros(4, np.int8),
            opt_km=np.ones(4),
            opt_cost=np.ones(4),
            opt_eta_s=np.array([10.0, 20.0, 10.0, 20.0]),
            opt_offer=np.zeros(4, bool),
            unassigned_cost=np.full(2, np.inf),
            node_capacity=np.array([1, 5]),
        )
        assert router.route(batch).tolist() == [0, 3]
    finally:  # leave the registry as the other tests expect it
        ROUTERS._modules.pop("fastest", None)
        ROUTERS._classes.pop("fastest", None)
