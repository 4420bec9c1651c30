"""Named, reproducible random streams (DESIGN.md section 5).

``RandomStreams(seed, replication).get(name)`` returns a ``numpy.random.Generator`` seeded from
``SeedSequence([seed, replication, stable_hash(name)])``. Streams whose name starts with ``network.``
or ``catalog.`` ignore the replication, so every replication sees the same network and catalog.
The result depends only on (seed, replication, name): never on the order in which streams are
requested, and never on Python's randomised ``hash``.
"""

from __future__ import annotations

import hashlib

import numpy as np

REPLICATION_INVARIANT_PREFIXES = ("network.", "catalog.")


def stable_hash(name: str) -> int:
    """First 8 bytes of SHA-256 of the UTF-8 name, as an unsigned 64-bit integer."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")


def ignores_replication(name: str) -> bool:
    """True for the streams shared by every replication (network and catalog)."""
    return name.startswith(REPLICATION_INVARIANT_PREFIXES)


class RandomStreams:
    """Factory of independent generators keyed by name; see the module docstring."""

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            raise ValueError(f"seed and replication must be >= 0, got {seed}, {replication}")
        self.seed = int(seed)
        self.replication = int(replication)

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        rep = 0 if ignores_replication(name) else self.replication
        return np.random.SeedSequence([self.seed, rep, stable_hash(name)])

    def get(self, name: str) -> np.random.Generator:
        """A fresh generator for `name`: calling twice gives two generators in the same state."""
        return np.random.Generator(np.random.PCG64(self.seed_sequence(name)))

    def __repr__(self) -> str:
        return f"RandomStreams(seed={self.seed}, replication={self.replication})"
