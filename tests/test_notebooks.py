"""The notebooks run end to end (DESIGN.md 12): executed with nbclient at their small size, any error fails.

02 (policy comparison) and 03 (peak and scale) are written by tools/make_notebooks.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("SHANGOU_NB_SIZE", "small")
    monkeypatch.setenv("SHANGOU_NB_OUT", str(tmp_path / "run"))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def test_policy_comparison_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _execute("02_policy_comparison.ipynb", tmp_path, monkeypatch)
    assert (tmp_path / "run" / "comparison.parquet").is_file()
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert images  # the Pareto chart is shown


def test_peak_and_scale_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = _execute("03_peak_and_scale.ipynb", tmp_path, monkeypatch)
    text = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "forecast_push" in text and "orders_per_s" in text


@pytest.mark.parametrize("name", ["01_quickstart.ipynb"])
def test_notebook_runs(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHANGOU_NB_SIZE", "small")
    monkeypatch.setenv("SHANGOU_NB_OUT", str(tmp_path / "run"))
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    # "python3" is the native kernel: this interpreter (the venv's), so no kernel needs registering
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"
    ]
    assert not errors
    assert (tmp_path / "run" / "report.html").is_file()
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 4  # the figures are shown inline


def test_runs_folder_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 6: a folder of runs loaded, a KPI per policy per day with CIs, the peak day marked."""
    monkeypatch.setenv("SHANGOU_NB_WORKERS", "1")
    nb = _execute("05_runs_folder.ipynb", tmp_path, monkeypatch)
    assert (tmp_path / "run" / "comparison.parquet").is_file()
    text = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "peak day: " in text and "on_time_requested_rate" in text
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2  # the two per-day figures


def test_decisions_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """04 answers the four planner questions on a shrunken toy: each verb wrote its folder and its answer."""
    nb = _execute("04_decisions.ipynb", tmp_path, monkeypatch)
    run = tmp_path / "run"
    for folder, table in (
        ("optimize", "chosen.parquet"),
        ("staff", "levels.parquet"),
        ("sites", "sites.parquet"),
        ("promise", "won.parquet"),
    ):
        assert (run / folder / table).is_file(), folder
        assert (run / folder / "report.html").is_file(), folder
    text = "".join(
        o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
    )
    assert "chosen:" in text and "orders_won_per_day" in text
