"""A process that owns a local executor running long toy jobs (time.sleep); prints its workers' pids.

Run by test_processes.py: ``python pool_owner.py [--cli-signals]``.
"""

from __future__ import annotations

import sys
import threading
import time

from sim.experiments.executors import LocalExecutor

if __name__ == "__main__":
    if "--cli-signals" in sys.argv:
        from sim.cli.failures import term_as_interrupt

        term_as_interrupt()  # SIGTERM handled as the CLI handles it: like Ctrl-C
    ex = LocalExecutor(2)
    pool = ex._get_pool()

    def report() -> None:
        while len(pool._processes) < 2:
            time.sleep(0.05)
        print(*pool._processes, flush=True)

    threading.Thread(target=report, daemon=True).start()
    try:
        ex.map(time.sleep, [120.0, 120.0, 120.0], fail=lambda item, exc: None)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
