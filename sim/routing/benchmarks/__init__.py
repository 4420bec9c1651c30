"""Published benchmark instances for Shangou's routers (used by ``benchmarks/`` and the tests).

``ma2023``: the multi-item online fulfilment instances of Jasin & Sinha (2015) as set up in Ma (2023),
their deterministic LP bound, a per-sequence hindsight LP and a brute-force offline optimum;
``online``: the online policies that route them one order at a time (Shangou's ``mip`` machinery and
the papers' rules).
"""
