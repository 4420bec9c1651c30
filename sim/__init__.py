"""Shangou: a fast discrete-event simulator for instant-retail fulfilment networks.

Public API (re-exports only): ``load_scenario``, ``simulate``, ``load_run``. ``compare`` arrives with
the experiments issue. The run pipeline is imported on first use so the CLI starts quickly.
"""

from typing import Any

__version__ = "0.1.0"

from sim.io.scenario import load_scenario  # noqa: E402

__all__ = ["__version__", "load_run", "load_scenario", "simulate"]


def __getattr__(name: str) -> Any:
    if name == "simulate":
        from sim.run import simulate

        return simulate
    if name in ("compare", "sweep"):
        from sim import experiments

        return getattr(experiments, name)
    if name == "load_run":
        from sim.io.results import load_run

        return load_run
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
