"""Pre-positioning policies: the interface (base.py) and one registered class per module."""

from sim.policies.base import Policy, PolicyContext, PolicyCosts, Transfers, make_policy

__all__ = ["Policy", "PolicyContext", "PolicyCosts", "Transfers", "make_policy"]
