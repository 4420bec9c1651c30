"""Output places: what ``--force`` may replace, writability probes, and hidden leftovers.

A run is written into a hidden sibling ``.NAME.<pid>-<hex>.partial`` and renamed into place; an
old run is moved aside as ``.NAME.<pid>-<hex>.old`` and deleted. ``--force`` replaces only an empty
directory or one that is provably a Shangou run: its manifest.json is a Shangou manifest and it holds
nothing but run files. Entries left by a killed process (its pid no longer alive) are removed on the
next write into the same place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from sim.errors import ScenarioError

#: keys every manifest.json written by ``sim.io.results.manifest`` has
MANIFEST_KEYS = ("shangou_version", "scenario", "scenario_hash", "seed", "policy", "router")
RUN_FILES = frozenset({"manifest.json", "kpis.json", "scenario.yaml", "report.html"})
RUN_FILE_SUFFIXES = (".parquet",)  # orders, lines, inventory, nodes, skus, explain, ...
RUN_SUBDIRS = {"plots": (".png", ".svg", ".pdf")}
#: OSError numbers that are the user's place, not a bug: full disk, quota, read-only, permissions, paths
USER_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.ENOENT,
        errno.ELOOP,
        errno.EFBIG,
        errno.EMFILE,
    }
)
PROBE_BYTES = 64 * 1024  # written and removed by the probe: a full disk shows before the run, not after


def hidden_sibling(path: Path, tag: str, suffix: str = "") -> Path:
    """``.NAME.<pid>-<hex>.TAG[SUFFIX]`` next to `path` (the pid tells a later run a dead writer's leftover;
    `suffix` keeps a file's extension for writers that infer the format from it)."""
    return path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.{tag}{suffix}"


def _leftover_re(name: str) -> re.Pattern[str]:
    # current form (pid-hex) and the earlier one (12 hex digits, no pid)
    return re.compile(
        rf"^\.{re.escape(name)}\.(?:(\d+)-[0-9a-f]{{8}}|[0-9a-f]{{12}})\.(?:partial|old)"
        rf"(?:\.[A-Za-z0-9]{{1,8}})?$"
    )


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _remove(p: Path) -> None:
    if p.is_symlink() or not p.is_dir():
        with contextlib.suppress(OSError):
            p.unlink()
    else:
        shutil.rmtree(p, ignore_errors=True)


def clean_leftovers(path: Path) -> list[Path]:
    """Remove ``.NAME.*.partial`` / ``.NAME.*.old`` entries next to `path` whose writer is gone."""
    parent = path.parent
    if not path.name or not parent.is_dir():
        return []
    rx = _leftover_re(path.name)
    removed = []
    try:
        entries = list(parent.iterdir())
    except OSError:
        return []
    for p in entries:
        m = rx.match(p.name)
        if m is None or (m.group(1) is not None and _alive(int(m.group(1)))):
            continue
        _remove(p)
        removed.append(p)
    return removed


def not_a_run(path: Path) -> str | None:
    """Why directory `path` is not provably a Shangou run (None when it is one)."""
    man = path / "manifest.json"
    try:
        data = json.loads(man.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no readable manifest.json"
    if not isinstance(data, dict) or any(k not in data for k in MANIFEST_KEYS):
        return "its manifest.json is not a Shangou run manifest"
    for entry in path.iterdir():
        if entry.is_symlink():
            return f"it holds a symbolic link {entry.name!r}"
        if entry.is_dir():
            allowed = RUN_SUBDIRS.get(entry.name)
            if allowed is None:
                return f"it holds a directory {entry.name!r} that no run writes"
            for sub in entry.iterdir():
                if sub.is_symlink() or not sub.is_file() or sub.suffix.lower() not in allowed:
                    return f"it holds {entry.name}/{sub.name}, which no run writes"
        elif not (entry.name in RUN_FILES or entry.suffix in RUN_FILE_SUFFIXES or _is_own_temp(entry.name)):
            return f"it holds {entry.name!r}, which no run writes"
    return None


def _is_own_temp(name: str) -> bool:
    """A temporary file of ``files.write_atomic`` (a report rewrite killed half-way)."""
    return re.match(r"^\..+\.(?:\d+-[0-9a-f]{8})\.partial(?:\.[A-Za-z0-9]{1,8})?$", name) is not None


def _contains_cwd(path: Path) -> bool:
    try:
        here = Path.cwd().resolve()
        target = path.resolve()
    except OSError:
        return False
    return here == target or target in here.parents


def probe_writable(path: Path, what: str = "--out", *, parents: bool = True) -> None:
    """ScenarioError unless a directory can be created next to `path` (in its nearest existing
    ancestor; in its parent, which must exist, unless `parents`) and PROBE_BYTES written there:
    unwritable, read-only or full places fail now, before the work."""
    anc = Path(os.path.abspath(path)).parent
    if not parents and not anc.is_dir():
        raise ScenarioError(f"{what}: directory {anc} does not exist")
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if not anc.is_dir():
        raise ScenarioError(f"{what}: {anc} is not a directory")
    probe = hidden_sibling(anc / (path.name or "out"), "probe")
    try:
        probe.mkdir()
        try:
            with open(probe / "probe", "wb") as fh:
                fh.write(b"\0" * PROBE_BYTES)
                fh.flush()
                os.fsync(fh.fileno())
        finally:
            shutil.rmtree(probe, ignore_errors=True)
    except OSError as e:
        raise ScenarioError(f"{what}: cannot write in {anc}: {e.strerror or e}") from None


def check_out_dir(out: Path, force: bool, *, probe: bool = True) -> None:
    """ScenarioError (exit 2) if `out` may not be (re)placed by a run: a file; a non-empty directory
    without --force; with --force, anything but an empty directory or a provable run directory
    (see ``not_a_run``); the current directory itself; an unwritable place (probed when `probe`)."""
    out = Path(out)
    if out.is_symlink() and not out.exists():
        raise ScenarioError(f"--out: {out} is a dangling symbolic link")
    if out.exists():
        if not out.is_dir():
            raise ScenarioError(f"--out: {out} exists and is not a directory")
        try:
            empty = not any(out.iterdir())
        except OSError as e:
            raise ScenarioError(f"--out: cannot read {out}: {e.strerror or e}") from None
        if not empty:
            if not force:
                raise ScenarioError(f"--out: {out} exists and is not empty (pass --force to replace it)")
            why = not_a_run(out)
            if why is not None:
                raise ScenarioError(
                    f"--out: {out} is not a Shangou run directory ({why}); --force replaces "
                    "only an earlier run or an empty directory, nothing else is deleted"
                )
        if _contains_cwd(out):
            raise ScenarioError(
                f"--out: {out} is the current directory (or contains it); choose a directory outside it"
            )
    if probe:
        probe_writable(out)


def swap(tmp: Path, out: Path) -> None:
    """Move the finished `tmp` to `out`; an old run there is moved aside first and deleted after
    (a symbolic link is replaced, its target left alone)."""
    if out.is_symlink() or (out.exists() and any(out.iterdir())):
        old = hidden_sibling(out, "old")
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        _remove(old)
    else:
        os.replace(tmp, out)  # also replaces an empty directory


LOCK_NAME = ".shangou.lock"


@contextlib.contextmanager
def exclusive(folder: Path, what: str = "--out") -> Iterator[None]:
    """Hold an exclusive lock on `folder` (``fcntl.flock`` on ``folder/.shangou.lock``) while the block
    runs: a second experiment writing into the same folder is refused (exit 2) instead of running every
    job twice. The kernel drops the lock when the process dies, so a killed run never leaves it held."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    path = Path(folder) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as e:
        raise ScenarioError(f"{what}: cannot create {path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
            raise ScenarioError(
                f"{what}: {folder} is in use by another experiment (pid {holder}); wait for it "
                "to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
