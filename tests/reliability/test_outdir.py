"""``--force`` replaces only provable runs; output places are probed first; leftovers are cleaned (issue #17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.errors import ScenarioError
from sim.io import files, outdir

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "scenarios" / "toy.yaml"
MANIFEST = {
    "shangou_version": "0.1.0",
    "scenario": "toy",
    "scenario_hash": "ab",
    "seed": 7,
    "policy": "p",
    "router": "nearest",
}


def _pwa(tmp: Path) -> Path:
    """A web app's folder: a foreign manifest.json and user files."""
    p = tmp / "p"
    (p / "src").mkdir(parents=True)
    (p / "manifest.json").write_text('{"name": "my-pwa"}')
    (p / "src" / "app.js").write_text("x")
    return p


def _fake_run(path: Path) -> Path:
    (path / "plots").mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps(MANIFEST))
    for f in ("kpis.json", "scenario.yaml", "report.html", "orders.parquet", "skus.parquet"):
        (path / f).write_text("")
    (path / "plots" / "inventory.png").write_bytes(b"")
    return path


def test_force_refuses_a_foreign_manifest_dir_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _pwa(tmp_path)
    code = main(["run", str(TOY), "--days", "1", "--out", str(p), "--force", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "not a Shangou run directory" in err and "Traceback" not in err
    assert (p / "src" / "app.js").read_text() == "x"
    assert json.loads((p / "manifest.json").read_text()) == {"name": "my-pwa"}


def test_force_dot_inside_user_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = _pwa(tmp_path)
    monkeypatch.chdir(p)
    assert main(["run", str(TOY), "--days", "1", "--out", ".", "--force", "--quiet"]) == 2
    assert "error: --out" in capsys.readouterr().err
    assert (p / "src" / "app.js").is_file()
    # even a real run directory is not replaced while it is the current directory
    run = _fake_run(tmp_path / "r")
    monkeypatch.chdir(run)
    with pytest.raises(ScenarioError, match="current directory"):
        outdir.check_out_dir(Path("."), force=True)


@pytest.mark.parametrize("extra", ["notes.txt", "src/app.js", "plots/mine.txt"])
def test_force_refuses_a_run_with_user_files(tmp_path: Path, extra: str) -> None:
    run = _fake_run(tmp_path / "r")
    (run / extra).parent.mkdir(parents=True, exist_ok=True)
    (run / extra).write_text("keep me")
    with pytest.raises(ScenarioError, match="not a Shangou run directory"):
        outdir.check_out_dir(run, force=True)
    assert (run / extra).read_text() == "keep me"


def test_force_accepts_runs_and_empty_dirs(tmp_path: Path) -> None:
    outdir.check_out_dir(_fake_run(tmp_path / "r"), force=True)
    (tmp_path / "e").mkdir()
    outdir.check_out_dir(tmp_path / "e", force=False)
    outdir.check_out_dir(tmp_path / "new" / "deeper", force=False)
    with pytest.raises(ScenarioError, match="pass --force"):
        outdir.check_out_dir(tmp_path / "r", force=False)
    (tmp_path / "f").write_text("")
    with pytest.raises(ScenarioError, match="not a directory"):
        outdir.check_out_dir(tmp_path / "f", force=True)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_unwritable_out_is_refused_before_any_work(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ScenarioError, match="cannot write in"):
            outdir.check_out_dir(ro / "run", force=False)
    finally:
        ro.chmod(0o700)


def test_swap_over_a_symlink_leaves_no_old_entry(tmp_path: Path) -> None:
    target = _fake_run(tmp_path / "target")
    link = tmp_path / "link"
    link.symlink_to(target)
    tmp = tmp_path / ".link.partial"
    tmp.mkdir()
    (tmp / "manifest.json").write_text("{}")
    outdir.swap(tmp, link)
    assert link.is_dir() and not link.is_symlink()
    assert (target / "manifest.json").is_file()  # the link's target is left alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


def test_leftovers_of_dead_writers_are_cleaned(tmp_path: Path) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    pid = int(dead.stdout)
    out = tmp_path / "run"
    stale = [tmp_path / f".run.{pid}-0123abcd.partial", tmp_path / ".run.0123456789ab.old"]
    stale[0].mkdir()
    (stale[0] / "orders.parquet").write_bytes(b"x" * 1000)
    stale[1].symlink_to(tmp_path)
    live = tmp_path / f".run.{os.getpid()}-0123abcd.partial"  # a writer still running: kept
    live.mkdir()
    other = tmp_path / ".runx.0123456789ab.old"  # another name: kept
    other.mkdir()
    assert sorted(outdir.clean_leftovers(out)) == sorted(stale)
    assert live.exists() and other.exists() and not any(p.exists() or p.is_symlink() for p in stale)
    # the same for a single file written atomically
    f = tmp_path / "kpis.json"
    (tmp_path / f".kpis.json.{pid}-89abcdef.partial.json").write_text("half")
    files.write_atomic(f, lambda p: p.write_text("{}"))
    assert f.read_text() == "{}"
    assert not list(tmp_path.glob(".kpis.json.*"))


def test_write_atomic_honours_umask_without_changing_it(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        p = files.write_atomic(tmp_path / "a.txt", lambda p: p.write_text("x"))
        assert (p.stat().st_mode & 0o777) == 0o640
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(old)
    src = (ROOT / "sim" / "io" / "files.py").read_text()
    assert "umask(" not in src


def test_out_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(ScenarioError, match="is not a directory"):
        outdir.check_out_dir(tmp_path / "f" / "run", force=False)


def test_full_disk_and_permission_errors_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import sim.network

    for exc in (
        OSError(errno.ENOSPC, "No space left on device", "/data/run/orders.parquet"),
        PermissionError(errno.EACCES, "Permission denied", "/data/run"),
    ):

        def boom(sc: object, exc: OSError = exc) -> None:
            raise exc

        monkeypatch.setattr(sim.network, "build_network", boom)
        assert main(["network", str(TOY)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {exc.filename}: {exc.strerror}") and err.count("\n") == 1


def test_internal_error_says_what_to_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sim.network

    def boom(sc: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(sim.network, "build_network", boom)
    assert main(["network", str(TOY)]) == 1
    err = capsys.readouterr().err
    assert "internal error" in err and "report" in err and "--debug" in err
