"""Run metrics: headline KPIs (``kpis``) and accounting invariants (``invariants``) from RunRecords."""

from sim.metrics.invariants import assert_invariants, check_invariants
from sim.metrics.kpis import compute_kpis

__all__ = ["assert_invariants", "check_invariants", "compute_kpis"]
