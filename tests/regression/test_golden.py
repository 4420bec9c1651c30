"""Byte-identical outputs: a quick matrix of toy runs (every router and every policy once, and the
history replay) must reproduce the recorded hashes of every run file (tools/golden.py).

The recording pins package versions; with other versions of the numeric stack the bytes may differ
for reasons outside the engine, so the test is skipped with the versions named.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import golden  # noqa: E402


def test_quick_matrix_is_byte_identical() -> None:
    recorded = json.loads(golden.GOLDEN.read_text())
    if recorded["packages"] != golden.versions():
        pytest.skip(
            f"package versions differ from the recording: {recorded['packages']} vs {golden.versions()}"
        )
    assert golden.check(golden.QUICK, workers=2) == []
