"""Interactive, self-contained charts: Vega-Lite specs (built with Altair) rendered in the page by
Vega, with the JavaScript inlined once per report (no network, no CDN).

Why Vega-Lite and not Plotly: the inlined library (Vega + Vega-Lite + vega-embed, bundled by
``vl-convert-python``) is ~0.9 MB per report against ~4.6 MB for plotly.min.js, and a chart is a
small JSON spec (the data it shows and a grammar), so a report with ten charts stays about 1 MB.
The bundle takes ~3 s to build, so it is cached on disk (``bundle``).

A chart is a ``<div class="vega-chart">`` plus its spec in a ``<script type="application/json">``
(``</`` escaped); one loader at the end of the page embeds every spec as SVG
(``renderer: "svg"``, so a test can count ``svg .mark-*`` elements) and records failures in
``window.__vegaErrors`` (the browser test reads it).
"""

from __future__ import annotations

import functools
import html
import json
import math
import os
from pathlib import Path
from typing import Any

LOADER = """
(function(){window.__vegaErrors=[];window.__vegaDone=0;
var specs=document.querySelectorAll('script.vega-spec');
specs.forEach(function(s){var el=document.getElementById(s.dataset.target);
 vegaEmbed(el,JSON.parse(s.textContent),{renderer:'svg',actions:false})
 .then(function(){window.__vegaDone+=1;})
 .catch(function(e){window.__vegaErrors.push(String(e));console.error(e);});});
window.__vegaCharts=specs.length;})();
"""


def _cache_file(version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shangou" / f"vega-bundle-{version}.js"


@functools.lru_cache(maxsize=1)
def bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (globals vega, vegaLite, vegaEmbed). Building it
    takes seconds, so it is kept in the user's cache directory per vl-convert version (rebuilt when
    missing or unreadable; a read-only cache only costs the rebuild)."""
    import vl_convert

    version = str(getattr(vl_convert, "__version__", "0"))
    path = _cache_file(version)
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        pass
    text = str(vl_convert.javascript_bundle(None))  # type: ignore[arg-type]  # None: the default globals
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass
    return text


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN/inf become null (JSON has no NaN), numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items() if k != "$schema"}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item") and not isinstance(obj, str):
        return _clean(obj.item())
    return obj


def spec_of(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (or a dict spec), without the $schema URL."""
    spec = chart if isinstance(chart, dict) else chart.to_dict()
    return dict(_clean(spec))


def chart_html(cid: str, title: str, chart: Any, caption: str) -> str:
    """A figure holding one interactive chart (`cid` unique in the page)."""
    text = json.dumps(spec_of(chart), separators=(",", ":"), ensure_ascii=False).replace("</", "<\\/")
    return (
        f'<figure class="chart" id="chart-{html.escape(cid)}"><h3>{html.escape(title)}</h3>'
        f'<div class="vega-chart" id="vis-{html.escape(cid)}"></div>'
        f'<script type="application/json" class="vega-spec" data-target="vis-{html.escape(cid)}">{text}</script>'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def scripts() -> str:
    """The inlined library and the loader; goes once at the end of a page that has charts."""
    lib = bundle().replace("</script", "<\\/script")
    return f"<script>{lib}</script><script>{LOADER}</script>"
