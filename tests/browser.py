"""A small headless-Chromium driver over the DevTools protocol (websocket-client), for the report tests.

Uses the system browser (Debian package ``chromium``; ``.ci/run`` installs it) with the network
off: a report must render with no request leaving the page. ``open_page`` loads a file, waits
for the charts (``window.__vegaDone == window.__vegaCharts``), and returns console errors, uncaught
exceptions, failed requests, counts of rendered elements and a PNG screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_browser() -> str | None:
    env = os.environ.get("SHANGOU_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@dataclass
class PageResult:
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # any non-file, non-data URL requested
    counts: dict[str, int] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    png: bytes = b""


class Browser:
    """One headless Chromium with a DevTools websocket; use as a context manager."""

    def __init__(self, binary: str, width: int = 1280, height: int = 1600) -> None:
        self.binary, self.width, self.height = binary, width, height
        self.profile = tempfile.mkdtemp(prefix="shangou-chromium-")
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: Any = None
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def __enter__(self) -> Browser:
        import websocket  # type: ignore[import-untyped]

        args = [
            self.binary,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--mute-audio",
            "--remote-debugging-port=0",
            f"--user-data-dir={self.profile}",
            f"--window-size={self.width},{self.height}",
            "--proxy-server=127.0.0.1:9",  # no network
            "--proxy-bypass-list=<-loopback>",
            "about:blank",
        ]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not port_file.is_file() or len(port_file.read_text().splitlines()) < 2:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("chromium did not start (no DevToolsActivePort)")
            time.sleep(0.1)
        port = port_file.read_text().splitlines()[0]
        import urllib.request

        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:  # noqa: S310
                    pages = [t for t in json.loads(r.read()) if t.get("type") == "page"]
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.ws = websocket.create_connection(
            pages[0]["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        for method in ("Runtime.enable", "Log.enable", "Network.enable", "Page.enable"):
            self.call(method)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.ws is not None:
                self.ws.close()
        finally:
            if self.proc is not None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result") or {})
            self.events.append(msg)

    def evaluate(self, expression: str) -> Any:
        r = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return (r.get("result") or {}).get("value")

    def screenshot(self, element_id: str | None = None) -> bytes:
        """PNG of the viewport, scrolled to the element `element_id` first when given."""
        if element_id is not None:
            self.evaluate(f"document.getElementById({json.dumps(element_id)}).scrollIntoView()")
            time.sleep(0.3)
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def open_page(self, path: Path, selectors: dict[str, str], timeout_s: float = 90) -> PageResult:
        """Load `path`, wait for every chart, count each CSS selector, screenshot the first screen."""
        self.events.clear()
        self.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout_s
        state: dict[str, Any] = {}
        while time.monotonic() < deadline:
            state = (
                self.evaluate(
                    "({ready: document.readyState, done: window.__vegaDone, "
                    "charts: window.__vegaCharts, errors: window.__vegaErrors || []})"
                )
                or {}
            )
            if state.get("ready") == "complete" and (
                state.get("charts") is None or state.get("done") == state.get("charts") or state.get("errors")
            ):
                break
            time.sleep(0.25)
        time.sleep(0.5)  # let the last SVG paint
        res = PageResult(state=state)
        res.counts = {
            name: int(self.evaluate(f"document.querySelectorAll({json.dumps(sel)}).length") or 0)
            for name, sel in selectors.items()
        }
        shot = self.call("Page.captureScreenshot", format="png")
        res.png = base64.b64decode(shot["data"])
        for ev in self.events:
            m, p = ev.get("method"), ev.get("params") or {}
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                res.console_errors.append(
                    " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
                )
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails") or {}
                res.exceptions.append(str((d.get("exception") or {}).get("description") or d.get("text")))
            elif m == "Log.entryAdded" and (p.get("entry") or {}).get("level") == "error":
                res.console_errors.append(str(p["entry"].get("text")))
            elif m == "Network.requestWillBeSent":
                url = str((p.get("request") or {}).get("url", ""))
                if not url.startswith(("file:", "data:", "about:", "blob:")):
                    res.requests.append(url)
        return res
