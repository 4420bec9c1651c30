"""Notebooks respect a worker setting (issue #16): every compare / sweep call passes ``workers=WORKERS``,
which comes from SHANGOU_NB_WORKERS (default half the CPUs), so a notebook never takes every core."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def test_experiment_calls_pass_the_worker_setting() -> None:
    calls = 0
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        src = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for m in re.finditer(r"sim\.(compare|sweep|match_inventory)\(", src):
            calls += 1
            depth, i = 0, m.end() - 1
            while True:  # the call's argument text, up to its closing parenthesis
                depth += {"(": 1, ")": -1}.get(src[i], 0)
                if depth == 0:
                    break
                i += 1
            assert "workers=WORKERS" in src[m.start() : i], (path.name, src[m.start() : i])
        if calls:
            assert "SHANGOU_NB_WORKERS" in src
    assert calls >= 1
