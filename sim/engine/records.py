"""Compatibility alias: the run-record contract moved to ``sim.records`` (outside the engine, so that
metrics, io and inventory never import ``sim.engine``). New code imports ``sim.records``."""

from sim.records import *  # noqa: F403
from sim.records import __all__  # noqa: F401
