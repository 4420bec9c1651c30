"""Order routing: the Router interface and registered routers (OR-Tools lives only here and in policies)."""

from sim.routing.base import Batch, Router, make_router

__all__ = ["Batch", "Router", "make_router"]
