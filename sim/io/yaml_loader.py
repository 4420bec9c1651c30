"""Reading scenario inputs safely: bounded regular files, encodings, and a strict YAML loader.

The loader is PyYAML's SafeLoader with YAML 1.2 numbers (``22:00`` stays a string, ``1e6`` is a
float), a mapping key given twice refused with both line numbers (YAML would silently keep the
second: a second ``demand:`` block replacing the first), and nesting deeper than MAX_DEPTH refused
instead of exhausting the stack. ``read_text`` refuses what is not a regular file (a directory,
``/dev/zero``, a FIFO) and files over a size bound before reading a byte of them, and names the
encoding when a file is not UTF-8 (a CSV saved as GBK by Excel on a Chinese Windows machine).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

from sim.errors import ScenarioError

MAX_DEPTH = (
    64  # the deepest scenario section is ~6 levels; brackets nested thousands deep are an attack or a typo
)
MAX_YAML_BYTES = 16 * 2**20  # a scenario file is a few KiB; node lists live in nodes.file
MAX_CSV_BYTES = 2 * 2**30  # a nodes or history CSV: large but finite (a full national node list is ~1 MiB)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A key given twice in one mapping."""


class StrictLoader(yaml.SafeLoader):
    """SafeLoader + YAML 1.2 numbers + duplicate keys refused + bounded nesting."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.MarkedYAMLError(
                    problem=f"nested more than {MAX_DEPTH} levels deep", problem_mark=mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeConstructor reports it
                continue
            line = key_node.start_mark.line + 1
            if first is not None:
                raise DuplicateKeyError(
                    problem=f"duplicate key {key!r} (lines {first} and {line}); "
                    "YAML keeps only the last, remove or merge one",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


# numbers are re-declared below; timestamps stay strings, so pydantic parses dates and names the field of an
# impossible one (2026-02-30) instead of the YAML constructor failing with a bare ValueError
StrictLoader.yaml_implicit_resolvers = {
    ch: [
        (tag, rx)
        for tag, rx in rules
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
    ]
    for ch, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0x[0-9a-fA-F_]+|0o[0-7_]+)$"),
    list("-+0123456789"),
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
        r"|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)


def parse_yaml(text: str) -> Any:
    """YAML text to Python objects (yaml.YAMLError on bad syntax, duplicate keys, deep nesting)."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise yaml.YAMLError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    except (
        ValueError,
        TypeError,
        OverflowError,
    ) as exc:  # an explicit tag on a bad value: !!timestamp 2026-02-30
        raise yaml.YAMLError(f"invalid value: {exc}") from None


def yaml_error_line(exc: yaml.YAMLError) -> str:
    """' line L, column C: problem' of a YAML error."""
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    kind = "" if isinstance(exc, DuplicateKeyError) else "YAML syntax error: "
    return f"{where}: {kind}{problem}"


def check_regular_file(path: Path, what: str, max_bytes: int) -> int:
    """The size of `path`; ScenarioError (``what``: the field and file, e.g. "extends: base.yaml") unless it is a regular file of at
    most `max_bytes`. Follows symbolic links; never opens the file (so /dev/zero or a FIFO cannot hang)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError(f"{what}: file not found") from None
    except OSError as e:
        raise ScenarioError(f"{what}: cannot read: {e.strerror or e}") from None
    if stat.S_ISDIR(st.st_mode):
        raise ScenarioError(f"{what}: is a directory, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise ScenarioError(f"{what}: not a regular file (a device, pipe or socket)")
    if st.st_size > max_bytes:
        raise ScenarioError(
            f"{what}: {st.st_size / 2**20:,.1f} MiB, over the limit of "
            f"{max_bytes / 2**20:,.0f} MiB for this file"
        )
    return int(st.st_size)


def decode(data: bytes, what: str) -> str:
    """UTF-8 text (a BOM is dropped); a ScenarioError saying "save as UTF-8" and naming the likely
    encoding (GBK/GB18030, UTF-16) and the first bad byte's line otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ScenarioError(f"{what}: UTF-16 text; save it as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        guess = ""
        try:
            data.decode("gb18030")
            guess = " (it looks like GBK/GB18030, as Excel saves on a Chinese Windows machine)"
        except UnicodeDecodeError:
            pass
        raise ScenarioError(f"{what}: line {line}: not UTF-8 text{guess}; save it as UTF-8") from None


def read_text(path: Path, what: str, max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of a bounded regular file (ScenarioError naming `what` and the file otherwise)."""
    check_regular_file(path, what, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as e:
        raise ScenarioError(f"{what}: cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise ScenarioError(f"{what}: over the limit of {max_bytes / 2**20:,.0f} MiB for this file")
    return decode(data, what)
