"""Experiments as well-behaved processes (issue #17): workers die with their owner (kill -9 or SIGTERM),
never hold the caller's stdout, and a second compare into a folder in use is refused.

Real processes with toy jobs (``time.sleep``); every process started here is killed by pid at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.io.outdir import exclusive

ROOT = Path(__file__).resolve().parents[2]
OWNER = Path(__file__).with_name("pool_owner.py")
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _owner_and_workers(*args: str) -> tuple[subprocess.Popen[str], list[int]]:
    p = subprocess.Popen(
        [sys.executable, str(OWNER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(),
    )
    assert p.stdout is not None
    line = p.stdout.readline()
    pids = [int(x) for x in line.split()]
    assert len(pids) == 2, line
    return p, pids


def _cleanup(p: subprocess.Popen[str], pids: list[int]) -> None:
    for pid in [p.pid, *pids]:
        if _running(pid):
            os.kill(pid, signal.SIGKILL)
    p.wait(10)


@pytest.mark.parametrize(
    ("sig", "args", "code"),
    [(signal.SIGKILL, (), -signal.SIGKILL), (signal.SIGTERM, ("--cli-signals",), 130)],
)
def test_workers_exit_with_their_owner(sig: int, args: tuple[str, ...], code: int) -> None:
    p, pids = _owner_and_workers(*args)
    try:
        assert all(_running(w) for w in pids)
        os.kill(p.pid, sig)
        out, _ = p.communicate(timeout=30)  # returns only once no worker holds the pipe any more
        assert p.returncode == code
        deadline = time.monotonic() + 30
        while any(_running(w) for w in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_running(w) for w in pids), "workers outlived their owner"
    finally:
        _cleanup(p, pids)


def test_second_experiment_into_a_folder_in_use_is_refused(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from sim.io.outdir import exclusive\n"
            "with exclusive(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(ScenarioError, match=rf"in use by another experiment \(pid {holder.pid}\)"):
            with exclusive(tmp_path):
                pass
    finally:
        holder.kill()
        holder.wait(10)
    with exclusive(tmp_path):  # the kernel released the killed holder's lock
        with pytest.raises(ScenarioError, match="in use"):
            with exclusive(tmp_path):
                pass
