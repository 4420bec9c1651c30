"""The model's vocabulary, defined once: tiers, node kinds, order statuses and the explain codes.

Arrays hold these as small ints (int8/int64 columns); the ``IntEnum`` members are those ints with a
name, so ``tier == Tier.NEAR`` and ``p[Tier.NEAR, Tier.MID]`` read as what they mean. NumPy treats an
``IntEnum`` member as a *strong* int64 scalar (only a plain ``int`` is "weak" under NEP 50), so code
that mixes a member into int8 array arithmetic gets an int64 result: compare and index with members,
and build arrays from them with an explicit dtype (``TIER_OF_KIND``).

Who uses what: the network builds ``NodeKind`` codes (``Network.node_kind``); demand draws ``Tier``
codes; the engine records ``OrderStatus`` codes; ``sim.records`` (the run-record contract) and every
writer/reader of the run directory turn the codes into the strings of DESIGN.md section 10 through the
``*_NAMES`` tuples, whose order is the codes' order.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np


class Tier(IntEnum):
    """Service tier, fastest first (a smaller code is faster: ``served <= requested`` is "as fast or faster")."""

    NEAR = 0
    MID = 1
    FAR = 2


class NodeKind(IntEnum):
    """Echelon of a node, upstream first: NDC -> FDC -> store."""

    NDC = 0
    FDC = 1
    STORE = 2


class OrderStatus(IntEnum):
    DELIVERED = 0
    LOST = 1
    OPEN = 2


class Reason(IntEnum):
    """Why a candidate (order, node) pair is or is not an option (``explain.parquet`` column ``reason``)."""

    OPTION = 0
    NOT_ELIGIBLE = 1
    NO_STOCK = 2
    CLOSED = 3
    LATE = 4
    NO_CAPACITY = 5
    SLOWER_TIER = 6
    NOT_OFFERED = 7


class Outcome(IntEnum):
    """What became of an order in one routing epoch (``explain.parquet`` column ``outcome``)."""

    ASSIGNED = 0
    ACCEPTED = 1
    DECLINED = 2
    CARRIED = 3
    LOST = 4


NO_TIER = -1  # served_tier of a lost or open order
NO_NODE = -1

TIER_NAMES: tuple[str, ...] = tuple(t.name.lower() for t in Tier)  # ("near", "mid", "far")
KIND_NAMES: tuple[str, ...] = tuple(k.name.lower() for k in NodeKind)  # ("ndc", "fdc", "store")
STATUS_NAMES: tuple[str, ...] = tuple(s.name.lower() for s in OrderStatus)  # ("delivered", "lost", "open")
REASON_NAMES: tuple[str, ...] = tuple(r.name.lower() for r in Reason)
OUTCOME_NAMES: tuple[str, ...] = tuple(o.name.lower() for o in Outcome)

#: the tier a node kind serves at, indexed by kind code: NDC far, FDC mid, store near
TIER_OF_KIND = np.array([Tier.FAR, Tier.MID, Tier.NEAR], np.int8)
#: the node kind that serves a tier, indexed by tier code
KIND_OF_TIER = np.array([NodeKind.STORE, NodeKind.FDC, NodeKind.NDC], np.int8)
