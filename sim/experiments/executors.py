"""Executors: run many picklable jobs with one module-level function, locally or on Dask.

- ``local``: a ``ProcessPoolExecutor`` (default one worker per CPU) whose workers are forked from a
  fork server that has the simulator imported (``mp_context``). OMP/OpenBLAS/MKL threads are pinned
  to 1: set in the environment while the fork server and workers start, and again in an initializer,
  since the parallelism is across processes.
- ``dask``: ``dask.distributed.Client(address)``; without an address a ``LocalCluster`` of
  ``workers`` single-threaded worker processes, whose nannies start them with the same pinning.

Both expose ``map(fn, items, fail, on_done)``, returning results in the order of `items`. An
infrastructure failure (a worker killed, a broken pool) becomes ``fail(item, exc)`` for the items
it hit, so the rest still finish. ``run_all`` adds a rich progress bar over jobs on a terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from sim.errors import ScenarioError
from sim.experiments.jobs import THREAD_VARS, pin_threads

T = TypeVar("T")
R = TypeVar("R")
EXECUTORS = ("local", "dask")


class Executor(Protocol):
    name: str

    @property
    def workers(self) -> int: ...

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        fail: Callable[[T, BaseException], R],
        on_done: Callable[[R], None] | None = None,
    ) -> list[R]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    return os.cpu_count() or 1


@contextlib.contextmanager
def pinned_environ() -> Iterator[None]:
    """Thread variables set to 1 while worker processes are spawned (they inherit the environment)."""
    old = {v: os.environ.get(v) for v in THREAD_VARS}
    os.environ.update({v: "1" for v in THREAD_VARS})
    try:
        yield
    finally:
        for v, x in old.items():
            if x is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = x


PRELOAD = ("sim.run", "sim.engine.simulation", "sim.experiments.headline")


def mp_context() -> Any:
    """``forkserver`` where available, else ``spawn``: workers never inherit the parent's threads or
    locks (Dask, rich and pytest run threads; fork would copy their locks). The fork server imports
    the simulator once (PRELOAD) and forks each worker from that, so a pool starts in milliseconds
    instead of every worker importing numpy, pandas, pyarrow and SimPy (~1.5 s each). As with spawn,
    a script using the local executor needs the ``if __name__ == "__main__":`` guard."""
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))
        return ctx
    return mp.get_context("spawn")


WATCH_S = 0.5  # how often a worker checks that the process that started the pool is still alive


def _set_parent_death_signal() -> None:
    """Linux: the kernel kills this process when its parent (the fork server) dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (killed, not yet reaped) is dead too
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _watch(owner: int) -> None:
    while True:
        time.sleep(WATCH_S)
        if not _alive(owner):
            os._exit(1)


def worker_init(owner: int) -> None:
    """Initializer of every local worker: threads pinned (``pin_threads``); the worker exits when the
    process that started the pool dies, even by kill -9 (a watchdog thread; on Linux also the kernel's
    parent-death signal from the fork server); its stdout goes to /dev/null, so a caller capturing the
    output (``out=$(shangou compare ...)``) is never held open by a worker. SIGINT is ignored: an
    interrupt reaches the owner, which terminates the workers itself."""
    pin_threads()
    _set_parent_death_signal()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)
    except OSError:
        pass
    threading.Thread(target=_watch, args=(owner,), name="shangou-owner-watch", daemon=True).start()


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: queued jobs cancelled, running workers terminated (not left to finish)."""
    procs = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(5)


class LocalExecutor:
    """A process pool (forkserver or spawn, see ``mp_context``) with threads pinned in every worker."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self._workers = int(workers or default_workers())
        if self._workers < 1:
            raise ScenarioError(f"--workers: must be >= 1, got {workers}")
        self._pool: ProcessPoolExecutor | None = None

    @property
    def workers(self) -> int:
        return self._workers

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self._workers, mp_context=mp_context(), initializer=worker_init, initargs=(os.getpid(),)
            )
        return self._pool

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        fail: Callable[[T, BaseException], R],
        on_done: Callable[[R], None] | None = None,
    ) -> list[R]:
        results: list[Any] = [None] * len(items)
        if not items:
            return results
        pool = self._get_pool()
        index: dict[Future[R], int] = {}
        try:
            with pinned_environ():  # processes are spawned on submit
                for i, item in enumerate(items):
                    index[pool.submit(fn, item)] = i
            pending = set(index)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=index.__getitem__):
                    i = index[fut]
                    try:
                        results[i] = fut.result()
                    except BrokenProcessPool as exc:
                        results[i] = fail(items[i], exc)
                        self._pool = None  # unusable now: the next map starts a fresh one
                    except Exception as exc:
                        results[i] = fail(items[i], exc)
                    if on_done is not None:
                        on_done(results[i])
        except BaseException:  # Ctrl-C, SIGTERM (see sim.cli), an error in a callback
            _terminate(pool)
            self._pool = None
            raise
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """dask.distributed: a Client on `address`, or on a LocalCluster of `workers` single-thread processes."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        try:
            import dask
            from dask.distributed import Client, LocalCluster
        except ImportError as exc:
            raise ScenarioError(
                f"--executor dask: dask.distributed is not installed ({exc.name} missing); "
                "pip install 'dask[distributed]'"
            ) from None
        self._cluster: Any = None
        if workers is not None and workers < 1:
            raise ScenarioError(f"--workers: must be >= 1, got {workers}")
        try:
            if address is None:
                env = {v: 1 for v in THREAD_VARS}
                with dask.config.set(
                    {
                        "distributed.nanny.pre-spawn-environ": {
                            **dask.config.get("distributed.nanny.pre-spawn-environ", {}),
                            **env,
                        }
                    }
                ):
                    self._cluster = LocalCluster(
                        n_workers=int(workers or default_workers()),
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                    )
                self._client = Client(self._cluster)
            else:
                self._client = Client(address, timeout="10s")
        except OSError as exc:
            self.close()
            raise ScenarioError(
                f"--address: cannot connect to a Dask scheduler at {address}: {exc}"
            ) from None

    @property
    def workers(self) -> int:
        return len(self._client.scheduler_info().get("workers", {}))

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        fail: Callable[[T, BaseException], R],
        on_done: Callable[[R], None] | None = None,
    ) -> list[R]:
        from dask.distributed import as_completed

        results: list[Any] = [None] * len(items)
        if not items:
            return results
        futures = self._client.map(fn, list(items), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in as_completed(futures):
                i = index[fut.key]
                try:
                    results[i] = fut.result()
                except Exception as exc:  # a killed worker, a lost connection: this job failed
                    results[i] = fail(items[i], exc)
                if on_done is not None:
                    on_done(results[i])
        except BaseException:
            self._client.cancel(futures)
            raise
        return results

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def make_executor(name: str, *, address: str | None = None, workers: int | None = None) -> Executor:
    """An executor by name ("local" or "dask"); ScenarioError (exit 2) for a bad choice."""
    if name == "local":
        if address is not None:
            raise ScenarioError("--address: only with --executor dask")
        return LocalExecutor(workers)
    if name == "dask":
        return DaskExecutor(address, workers)
    raise ScenarioError(f"--executor: expected one of {', '.join(EXECUTORS)}, got {name!r}")


def run_all(
    executor: Executor,
    fn: Callable[[T], R],
    items: Sequence[T],
    fail: Callable[[T, BaseException], R],
    *,
    description: str = "jobs",
    progress: bool | None = None,
    failed: Callable[[R], bool] = lambda r: False,
) -> list[R]:
    """``executor.map`` with a rich progress bar over jobs on stderr when it is a terminal
    (`progress` None) or when asked (True); `failed` says which results to count as failures."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    show = console.is_terminal if progress is None else progress
    n_failed = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
    ) as bar:
        task = bar.add_task(description, total=len(items), info="")

        def done(r: R) -> None:
            nonlocal n_failed
            n_failed += bool(failed(r))
            bar.update(task, advance=1, info=f"{n_failed} failed" if n_failed else "")

        return executor.map(fn, items, fail, done)
