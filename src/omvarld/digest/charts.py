"""Trend charts for the digest: per focus area, documents per week as a small bar chart.

A strategist reads a trend at a glance, so each chart is a sparkline-sized PNG (no axes
to read, this week's bar in the area colour, the earlier weeks grey, the highest count
written once). PNGs are rendered headless (Agg) and without a timestamp or version in
their metadata, so the same counts give the same bytes and a regenerated digest does not
change."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure

WIDTH_IN, HEIGHT_IN, DPI = 2.4, 0.6, 150  # 360 × 90 px, shown at 180 × 45
THIS_WEEK = "#0b3d91"
EARLIER = "#b8c4d6"


def trend_png(counts: Sequence[int], weeks: Sequence[str]) -> bytes:
    """Bars of `counts` (oldest first, this week last) as PNG bytes."""
    if len(counts) != len(weeks) or not counts:
        raise ValueError("one count per week, and at least one week")
    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    axes = figure.add_axes((0.0, 0.0, 0.86, 1.0))
    positions = range(len(counts))
    colours = [EARLIER] * (len(counts) - 1) + [THIS_WEEK]
    top = max(max(counts), 1)
    axes.bar(positions, [max(c, top * 0.02) for c in counts], color=colours, width=0.78)
    axes.set_xlim(-0.6, len(counts) - 0.4)
    axes.set_ylim(0, top * 1.05)
    axes.axis("off")
    figure.text(0.88, 0.92, str(max(counts)), fontsize=7, color="#52606d", va="top",
                family="DejaVu Sans")
    figure.text(0.88, 0.04, "0", fontsize=7, color="#52606d", va="bottom", family="DejaVu Sans")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, facecolor="white",
                   metadata={"Software": None})
    return out.getvalue()
