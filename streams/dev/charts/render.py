"""Dashboard panels as PNG charts: each panel's queries over a time range, drawn with matplotlib.

Grafana is not available everywhere the project runs, so this gives people something to
look at: the committed dashboards' own queries, with Grafana's variables filled in,
evaluated by a real Prometheus (``query_range``) and plotted one PNG per panel, plus one
overview image with every panel. matplotlib is the optional ``charts`` extra.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streams.dev.prometheus import JOB, PrometheusClient
from streams.observability import dashboards
from streams.observability.dashboards import Dashboard, Panel


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: its legend and (seconds from the start, value) points."""

    label: str
    times: tuple[float, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PanelData:
    """Everything needed to draw one panel."""

    panel: Panel
    series: tuple[Series, ...]
    duration: float  # seconds charted


# Grafana unit -> (scale factor, axis label).
_UNITS: dict[str, tuple[float, str]] = {
    "percentunit": (100.0, "%"),
    "s": (1.0, "seconds"),
    "bytes": (1.0 / 2**20, "MiB"),
    "reqps": (1.0, "requests/s"),
    "short": (1.0, ""),
}


def fetch(client: PrometheusClient, panel: Panel, *, start: float, end: float, step: float,
          rate_interval: str, job: str = JOB) -> PanelData:
    """Evaluate every query of ``panel`` over ``[start, end]``."""
    series: list[Series] = []
    for target in panel.targets:
        expr = dashboards.concrete(target.expr, rate_interval=rate_interval, job=job)
        for result in client.query_range(expr, start, end, step):
            points = [(float(t) - start, float(v)) for t, v in result["values"]]
            points = [(t, v) for t, v in points if math.isfinite(v)]
            if not points:
                continue
            times, values = zip(*points, strict=True)
            label = dashboards.legend_text(target.legend, result["metric"])
            series.append(Series(label, times, values))
    return PanelData(panel, tuple(series), end - start)


def pyplot() -> Any:
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise ChartsUnavailable(
            "matplotlib is not installed: pip install 'wrapup-bridge[charts]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw(ax: Any, data: PanelData) -> None:
    scale, unit = _UNITS.get(data.panel.unit, (1.0, data.panel.unit))
    for s in data.series:
        ax.plot(s.times, [v * scale for v in s.values], label=s.label, linewidth=1.4)
    ax.set_title(data.panel.title, fontsize=10, loc="left")
    ax.set_xlabel("seconds into the run", fontsize=8)
    if unit:
        ax.set_ylabel(unit, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, alpha=0.3)
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, data.duration)
    if data.series:
        ax.legend(fontsize=6, loc="upper left", ncol=2 if len(data.series) > 4 else 1,
                  framealpha=0.7)
    else:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center",
                color="grey")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def render(
    client: PrometheusClient,
    out_dir: Path,
    *,
    start: float,
    end: float,
    step: float = 1.0,
    rate_interval: str = "10s",
    job: str = JOB,
    boards: Sequence[Dashboard] | None = None,
) -> list[Path]:
    """Draw every panel of ``boards`` (default: the committed dashboards) into ``out_dir``.

    Writes ``<uid>-<nn>-<title>.png`` per panel and ``<uid>-overview.png``; returns the
    paths, overview first per dashboard.
    """
    plt = pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for board in boards if boards is not None else dashboards.load_all():
        datas = [fetch(client, p, start=start, end=end, step=step,
                       rate_interval=rate_interval, job=job)
                 for p in board.panels if p.targets]
        cols = 3
        rows = math.ceil(len(datas) / cols)
        fig, axes = plt.subplots(rows, cols, figsize=(cols * 5.2, rows * 3.0), squeeze=False)
        for ax, data in zip(axes.flat, datas, strict=False):
            _draw(ax, data)
        for ax in list(axes.flat)[len(datas):]:
            ax.set_visible(False)
        fig.suptitle(f"{board.title} — {end - start:.0f} s simulated run", fontsize=13)
        fig.tight_layout(rect=(0, 0, 1, 0.98))
        overview = out_dir / f"{board.uid}-overview.png"
        fig.savefig(overview, dpi=80)
        plt.close(fig)
        written.append(overview)
        for number, data in enumerate(datas, start=1):
            fig, ax = plt.subplots(figsize=(8, 3.6))
            _draw(ax, data)
            fig.tight_layout()
            path = out_dir / f"{board.uid}-{number:02d}-{slug(data.panel.title)}.png"
            fig.savefig(path, dpi=100)
            plt.close(fig)
            written.append(path)
    return written
