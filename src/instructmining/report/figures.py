"""Matplotlib figures rendered to inline PNG data URIs.

Figures are built as `matplotlib.figure.Figure` objects (Agg canvas) rather than through
pyplot, so the report needs no display, keeps no global figure state, and is safe in threads.
"""

from __future__ import annotations

import base64
import io

from matplotlib.colors import TABLEAU_COLORS
from matplotlib.figure import Figure

PALETTE = list(TABLEAU_COLORS.values())  # colour i is source/selector i in every plot
DPI = 110


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def color_for(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def data_uri(fig: Figure) -> str:
    """Encode a figure as a base64 PNG data URI for an <img src>."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def style_axes(ax) -> None:
    """A light, consistent look: no top/right spines, a faint grid behind the data."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(True, color="#e6e8eb", linewidth=0.8)
    ax.set_axisbelow(True)
