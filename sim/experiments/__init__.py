"""Experiments: many (configuration, replication) runs on an executor, aggregated with confidence intervals.

``compare`` (policies) and ``sweep`` (a grid of scenario overrides) share ``experiment`` (rounds,
re-use, tables); ``jobs`` is one run and its fingerprint, ``executors`` the local process pool and
Dask, ``stats`` the statistics, ``headline`` the KPIs compared.
"""

from sim.experiments.compare import compare
from sim.experiments.experiment import ExperimentResult
from sim.experiments.sweep import sweep

__all__ = ["ExperimentResult", "compare", "sweep"]
