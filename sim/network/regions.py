"""Regions of a ``nodes.ndcs.capacity.scope: regional`` network: which NDC a city belongs to.

Rule (documented in the scenario schema): every city belongs to the region of the NDC nearest to its
centre (great-circle km; a tie goes to the NDC listed first). Under ``scope: regional`` an NDC serves
the far tier only in its own region and replenishes only its region's FDCs and the stores of its
region's cities that have no FDC; FDCs and stores belong to the region of their city. Under
``scope: national`` (the default) every NDC serves every city and an FDC is supplied by its nearest
NDC, as before.

``region_links`` lists what makes two regions interact (a node covering a zone of another region's
city, a replenishment lane across regions): a regional network with none of them splits into
independent regions, which is what ``sim.shard`` simulates region by region.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.network.geo import distance_matrix_km
from sim.vocab import NodeKind


def city_regions(
    city_lat: np.ndarray, city_lon: np.ndarray, ndc_lat: np.ndarray, ndc_lon: np.ndarray
) -> np.ndarray:
    """(C,) index into the NDC list of each city's region: its nearest NDC (ties: the first listed)."""
    d = distance_matrix_km(city_lat, city_lon, ndc_lat, ndc_lon)
    return np.argmin(d, axis=1).astype(np.int64)  # argmin returns the first of equal minima


def node_regions(net: Any) -> np.ndarray:
    """(N,) region of every node (an index into the NDCs in node order): an NDC its own, others their city's."""
    ndcs = np.flatnonzero(net.node_kind == NodeKind.NDC)
    region = city_regions(net.city_lat, net.city_lon, net.node_lat[ndcs], net.node_lon[ndcs])[net.node_city]
    region[ndcs] = np.arange(ndcs.size)
    return region


def region_links(net: Any, limit: int = 3) -> list[str]:
    """Why the regions of `net` are not independent (at most `limit` reasons, each one sentence); [] if they are."""
    ndcs = np.flatnonzero(net.node_kind == NodeKind.NDC)
    names = [net.node_ids[i] for i in ndcs]
    node_reg = node_regions(net)
    zone_reg = city_regions(net.city_lat, net.city_lon, net.node_lat[ndcs], net.node_lon[ndcs])[net.zone_city]
    out: list[str] = []
    fwd = np.flatnonzero(net.node_kind != NodeKind.NDC)
    cov = net.covers()[:, fwd]
    cross = cov & (zone_reg[:, None] != node_reg[fwd][None, :])
    for z, j in zip(*np.nonzero(cross), strict=True):
        n = int(fwd[j])
        out.append(
            f"{net.node_ids[n]} (region {names[node_reg[n]]}) covers a zone of "
            f"{net.city_names[net.zone_city[z]]} (region {names[zone_reg[z]]})"
        )
        if len(out) >= limit:
            return out
    for n in map(int, np.flatnonzero(net.supplier >= 0)):
        s = int(net.supplier[n])
        if node_reg[s] != node_reg[n]:
            out.append(
                f"{net.node_ids[n]} (region {names[node_reg[n]]}) is replenished from {net.node_ids[s]} "
                f"(region {names[node_reg[s]]})"
            )
            if len(out) >= limit:
                break
    return out


def empty_regions(net: Any) -> list[str]:
    """NDC ids whose region has no city (every city is nearer to another NDC, or ties to an earlier one)."""
    ndcs = np.flatnonzero(net.node_kind == NodeKind.NDC)
    reg = city_regions(net.city_lat, net.city_lon, net.node_lat[ndcs], net.node_lon[ndcs])
    return [net.node_ids[n] for r, n in enumerate(ndcs) if not np.any(reg == r)]
