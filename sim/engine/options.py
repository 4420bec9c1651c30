"""Build one epoch's options, vectorised across orders and nodes.

Candidates of an order: the stores whose rider radius covers its zone (near), the FDCs whose van
radius covers it (mid) and every NDC (far). A candidate is *stock-feasible* when every line is in
stock at the node and eligible for the node's tier, and *feasible* when, in addition, the node can
make the tier's promise now (service hours, picker/rider queue for stores, wave and outbound
capacity left). Options at the requested tier or faster are *primary*; slower ones are downgrade
*offers*, built only for orders with no primary option whose shortage cannot be waited out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.vocab import Tier

NEAR, MID, FAR = Tier.NEAR, Tier.MID, Tier.FAR  # aliases of sim.vocab.Tier (new code names Tier.*)


@dataclass(frozen=True)
class Candidates:
    """Zone -> covering nodes of one kind, as CSR (rows sorted by road km)."""

    offsets: np.ndarray
    nodes: np.ndarray

    @classmethod
    def build(cls, covers: np.ndarray, road_km: np.ndarray, nodes_of_kind: np.ndarray) -> Candidates:
        sub = covers[:, nodes_of_kind]
        km = np.where(sub, road_km[:, nodes_of_kind], np.inf)
        order = np.argsort(km, axis=1, kind="stable")
        counts = sub.sum(axis=1)
        ranked = nodes_of_kind[order]
        keep = np.arange(len(nodes_of_kind))[None, :] < counts[:, None]
        return cls(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), ranked[keep].astype(np.int64))

    def expand(self, zones: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row into `zones`, node) for every candidate of every zone."""
        start, end = self.offsets[zones], self.offsets[zones + 1]
        n = end - start
        rows = np.repeat(np.arange(zones.size), n)
        pos = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
        return rows, self.nodes[pos]


def pairs_lines(pair_order: np.ndarray, line_offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expand (pair) x (lines of the pair's order): returns (pair index, global line index)."""
    start, end = line_offsets[pair_order], line_offsets[pair_order + 1]
    n = end - start
    pair = np.repeat(np.arange(pair_order.size), n)
    line = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(start, n)
    return pair, line


def all_per_pair(ok_line: np.ndarray, pair: np.ndarray, n_pairs: int) -> np.ndarray:
    """True for pairs whose every line is ok."""
    bad = np.bincount(pair[~ok_line], minlength=n_pairs)
    return bad == 0
