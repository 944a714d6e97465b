"""The report's plots as base64 PNG strings, drawn with matplotlib's Agg renderer.

Figures are built directly (no pyplot): no global figure state, no GUI backend chosen behind
our back. Labels come from the data (teacher names, drop reasons), so math text parsing is off:
a ``$`` in a reason is printed as written instead of failing the render.
"""

from __future__ import annotations

import base64
import io
from typing import Callable

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from pipeline.report.read import Histogram

COLORS = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C"]
LABEL_CHARS = 48


def short(text: str, limit: int = LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _png(draw: Callable[[Axes], None], height: float = 3.6) -> str:
    with mpl.rc_context({"text.parse_math": False, "font.size": 9, "axes.spines.top": False}):
        fig = Figure(figsize=(8, height), dpi=100)
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _hbars(ax: Axes, labels: list[str], series: dict[str, list[float]], log: bool = False) -> None:
    """Grouped horizontal bars, first label at the top."""
    y = np.arange(len(labels))
    height = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.barh(y + k * height, values, height, label=name, color=COLORS[k % len(COLORS)])
    ax.set_yticks(y + height * (len(series) - 1) / 2, [short(label) for label in labels])
    ax.invert_yaxis()
    if log:
        ax.set_xscale("log")
        # The default log labels are math text, which is off here (see the module docstring).
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,g}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    if len(series) > 1:
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1), ncols=len(series), frameon=False)


def _height(n: int) -> float:
    return min(2.0 + 0.32 * n, 12.0)


def funnel(stages: dict[str, dict]) -> str:
    """Rows in, kept and rejected per stage, in each stage's own units."""
    labels = [f"{name} ({st['units']['in']} → {st['units']['out']})" for name, st in stages.items()]
    series = {key: [st[f"rows_{key}"] for st in stages.values()] for key in ("in", "kept", "rejected")}

    def draw(ax: Axes) -> None:
        _hbars(ax, labels, series)
        ax.set_xlabel("rows")

    return _png(draw, _height(1.6 * len(labels)))


def bars(labels: list[str], values: list[float], xlabel: str, log: bool = False) -> str:
    """One horizontal bar per label."""

    def draw(ax: Axes) -> None:
        _hbars(ax, labels, {"": values}, log=log)
        ax.set_xlabel(xlabel)

    return _png(draw, _height(len(labels)))


def histograms(hist: Histogram, xlabel: str) -> str:
    """Step histograms of several series over shared bins, mean and count in the legend."""

    def draw(ax: Axes) -> None:
        for k, (name, counts) in enumerate(hist.counts.items()):
            n = hist.totals[name][0]
            mean = hist.mean(name)
            label = f"{short(name, 40)} (n={n:,}, mean {mean:,.0f})" if mean is not None else short(name, 40)
            ax.stairs(counts, hist.edges, label=label, color=COLORS[k % len(COLORS)], linewidth=1.6)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("traces")
        ax.legend(loc="upper right")

    return _png(draw)


def stacked(edges: np.ndarray, counts: dict[str, np.ndarray], xlabel: str, ylabel: str) -> str:
    """Bars over ``edges`` stacked by series (problems per pass-rate bin, by tier)."""

    def draw(ax: Axes) -> None:
        bottom = np.zeros(len(edges) - 1)
        for k, (name, values) in enumerate(counts.items()):
            color = COLORS[k % len(COLORS)]
            ax.bar(edges[:-1], values, np.diff(edges), bottom=bottom, align="edge", label=short(name, 30), color=color)
            bottom += values
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper left")

    return _png(draw)
