"""The fulfilment network: zones, nodes, lanes and coverage (see build.py)."""

from sim.network.build import FDC, KINDS, NDC, STORE, Network, build_network

__all__ = ["FDC", "KINDS", "NDC", "STORE", "Network", "build_network"]
