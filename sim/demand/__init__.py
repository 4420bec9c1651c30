"""Demand: the expected-rate model (``profiles``), order arrays (``orders``) and the generator (``generate``)."""

from sim.demand.generate import expected_lines_per_order, generate_day, generate_days, stream_key
from sim.demand.orders import FAR, MID, NEAR, Orders, concat, empty_orders
from sim.demand.profiles import DemandProfile, city_shares, day_factor, intraday_shares, promotion_factor

__all__ = [
    "FAR", "MID", "NEAR", "DemandProfile", "Orders", "city_shares", "concat", "day_factor", "empty_orders",
    "expected_lines_per_order", "generate_day", "generate_days", "intraday_shares", "promotion_factor",
    "stream_key",
]
