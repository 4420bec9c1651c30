"""Order routing: the Router interface and registered routers (OR-Tools lives only here and in policies).

``assign_min_cost`` (DESIGN.md section 6 contract) is loaded on first access, so importing the
router interface does not import OR-Tools.
"""

from typing import TYPE_CHECKING, Any

from sim.routing.base import Batch, Router, batch_objective, make_router, stock_keys

if TYPE_CHECKING:
    from sim.routing.flow import assign_min_cost

__all__ = ["Batch", "Router", "assign_min_cost", "batch_objective", "make_router", "stock_keys"]


def __getattr__(name: str) -> Any:
    if name == "assign_min_cost":
        from sim.routing.flow import assign_min_cost

        return assign_min_cost
    raise AttributeError(f"module 'sim.routing' has no attribute {name!r}")
