"""Shangou: a fast discrete-event simulator for instant-retail fulfilment networks.

Public API (re-exports only): ``load_scenario``. ``simulate``, ``compare`` and ``load_run`` arrive
with the engine and experiments.
"""

__version__ = "0.1.0"

from sim.io.scenario import load_scenario  # noqa: E402

__all__ = ["__version__", "load_scenario"]
