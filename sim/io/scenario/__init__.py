"""Scenario files: schema (``models``), loading and resolution (``load``), cross-section checks.

The only package that imports pydantic and YAML; everything downstream receives a frozen
``Scenario``.
"""

from sim.io.scenario.checks import estimate_memory_bytes, longest_lead_time_h, node_kinds
from sim.io.scenario.load import (
    apply_overrides,
    json_schema,
    load_scenario,
    read_yaml,
    resolve,
    scenario_hash,
    to_dict,
    to_yaml,
)
from sim.io.scenario.models import TIERS, Scenario

__all__ = [
    "TIERS",
    "Scenario",
    "apply_overrides",
    "estimate_memory_bytes",
    "json_schema",
    "load_scenario",
    "longest_lead_time_h",
    "node_kinds",
    "read_yaml",
    "resolve",
    "scenario_hash",
    "to_dict",
    "to_yaml",
]
