"""Atomic file writes: readers never see half a file, and a failure leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from sim.io.outdir import clean_leftovers, hidden_sibling


def write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call write(tmp) for a temporary file next to `path`, then rename it onto `path`.

    The temporary file is created with mode 0666, which the kernel reduces by the process umask
    (the usual permissions, never mkstemp's private 0600, and the umask is never changed). A
    temporary file a killed process left next to `path` is removed first.
    """
    path = Path(path)
    place = Path(os.path.abspath(path))
    clean_leftovers(place)
    tmp = hidden_sibling(place, "partial", path.suffix)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return path
