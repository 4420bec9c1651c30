"""How the CLI ends when something goes wrong: SIGTERM as an interrupt, the user's environment
(full disk, permissions, paths) as invalid input, and internal errors with what to report."""

from __future__ import annotations

import signal
import threading
from typing import Any

from sim.io.outdir import USER_ERRNOS

REPORT_TO = "please report it with the command line, the scenario file and the output of --debug"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def term_as_interrupt() -> Any:
    """SIGTERM (``kill PID``, ``subprocess.run(timeout=...)``) handled like Ctrl-C: the run stops, its
    worker processes are terminated and nothing half-written is left. Returns the previous handler
    (None off the main thread, where no handler can be installed)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def restore_term(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)


def internal_line(exc: BaseException) -> str:
    return f"error: internal error ({type(exc).__name__}): {exc}; this is a bug in shangou, {REPORT_TO}"


def os_error_line(exc: OSError) -> tuple[str, int]:
    """(message, exit code): a full disk, a read-only or unwritable place, a directory where a file
    belongs is the user's environment (exit 2); any other OSError is internal (exit 1)."""
    if isinstance(exc, PermissionError) or exc.errno in USER_ERRNOS:
        where = exc.filename if exc.filename is not None else "output"
        return f"error: {where}: {exc.strerror or exc}", 2
    return internal_line(exc), 1
