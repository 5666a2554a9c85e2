"""Charts for the HTML reports: matplotlib figures as inline SVG (the `analytics` extra).

The SVG is deterministic (fixed hash salt, no date) and self-contained: text is drawn as
paths (`svg.fonttype = "path"`), so the page needs no font and no network. Chinese labels
use WenQuanYi Micro Hei when it is installed (Debian `fonts-wqy-microhei`), else DejaVu Sans.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._base.errors import InputError

__all__ = ["bar_chart_svg"]

COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860")


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InputError(
            "HTML reports draw their charts with matplotlib: pip install 'dunning[analytics]'"
        ) from None
    _add_cjk_font()
    return plt


_CJK = "WenQuanYi Micro Hei"
_cjk_checked: list[bool] = []


def _add_cjk_font() -> None:
    """Register the CJK font file with matplotlib if its font cache predates the font's
    installation (the cache is built once and does not notice fonts installed later)."""
    if _cjk_checked:
        return
    _cjk_checked.append(True)
    from matplotlib import font_manager

    if any(f.name == _CJK for f in font_manager.fontManager.ttflist):
        return
    for path in font_manager.findSystemFonts():
        if "wqy-microhei" in Path(path).name.lower():
            font_manager.fontManager.addfont(path)


def bar_chart_svg(
    title: str,
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    ylabel: str = "",
    chart_id: str = "chart",
) -> str:
    """Grouped bars (one group per label, one bar per series) as an inline <svg> element."""
    plt = _pyplot()
    style = {
        "svg.hashsalt": "dunning",
        "svg.fonttype": "path",
        "font.family": ["DejaVu Sans", _CJK],
        "font.size": 9,
    }
    with plt.rc_context(style), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing glyph is drawn as a box, not an error
        fig, ax = plt.subplots(figsize=(7.5, 3.2), layout="constrained")
        names = list(series)
        width = 0.8 / max(1, len(names))
        xs = range(len(labels))
        for i, name in enumerate(names):
            values = [0.0 if v is None else v for v in series[name]]
            pos = [x + (i - (len(names) - 1) / 2) * width for x in xs]
            bars = ax.bar(pos, values, width, label=name, color=COLOURS[i % len(COLOURS)])
            ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=2)
        ax.set_title(title)
        ax.set_xticks(list(xs), list(labels))
        ax.set_ylabel(ylabel)
        ax.margins(y=0.18)
        ax.spines[["top", "right"]].set_visible(False)
        if names:
            ax.legend(frameon=False, fontsize=8)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]  # drop the XML declaration and DOCTYPE: inline element
    svg = re.sub(r"<svg ", f'<svg id="{chart_id}" class="chart" role="img" ', svg, count=1)
    return svg
