"""Demand: the expected-rate model (``profiles``), order arrays (``orders``), the generator
(``generate``), history replay (``history``), the one entry point ``demand_day`` (``source``), the
expected basket (``basket_model``) and forecasts (``forecast``)."""

from sim.demand.generate import expected_lines_per_order, generate_day, generate_days, stream_key
from sim.demand.orders import FAR, MID, NEAR, Orders, concat, empty_orders
from sim.demand.profiles import DemandProfile, city_shares, day_factor, intraday_shares, promotion_factor
from sim.demand.source import demand_day

__all__ = [
    "FAR",
    "MID",
    "NEAR",
    "DemandProfile",
    "Orders",
    "city_shares",
    "concat",
    "day_factor",
    "demand_day",
    "empty_orders",
    "expected_lines_per_order",
    "generate_day",
    "generate_days",
    "intraday_shares",
    "promotion_factor",
    "stream_key",
]
