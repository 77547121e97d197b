"""Chart rendering: each panel's queries (variables filled in) become one PNG per panel."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from streams.dev.charts.cli import dashboards as dashboards_group
from streams.dev.charts.render import fetch, render, slug
from streams.dev.prometheus import PrometheusClient
from streams.observability import dashboards

PNG = b"\x89PNG\r\n\x1a\n"


class FakePrometheus(PrometheusClient):
    """Answers every range query with two series; records the queries."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:9")
        self.queries: list[str] = []

    def query_range(self, expr: str, start: float, end: float,
                    step: float) -> list[dict[str, Any]]:
        self.queries.append(expr)
        if "wrapup_ready" in expr:
            return []  # a panel without data still renders
        points = [[start + i * step, str(i % 5)] for i in range(int((end - start) / step))]
        labels = {"outcome": "applied", "reason": "posted", "instance": "w1", "le": "1"}
        return [{"metric": labels, "values": points},
                {"metric": {**labels, "outcome": "failed"}, "values": [*points[:3], [end, "NaN"]]}]


def test_fetch_fills_variables_and_legends() -> None:
    [board] = dashboards.load_all()
    panel = next(p for p in board.panels if p.title == "Wrap-ups by outcome /s")
    fake = FakePrometheus()
    data = fetch(fake, panel, start=1000.0, end=1010.0, step=1.0, rate_interval="7s", job="j")
    assert fake.queries == [
        'sum by (outcome) (rate(wrapup_outcomes_total{job=~"j", instance=~".*"}[7s]))']
    assert [s.label for s in data.series] == ["applied", "failed"]
    assert data.series[0].times[0] == 0.0 and len(data.series[0].values) == 10
    assert data.series[1].values == (0.0, 1.0, 2.0), "NaN points are dropped"
    assert data.duration == 10.0


def test_render_writes_one_png_per_panel_and_an_overview(tmp_path: Path) -> None:
    [full] = dashboards.load_all()
    # A few panels (one without data) keep the test fast; the drawing code is the same.
    raw = [p for p in full.raw["panels"] if p["type"] != "row"]
    picked = [raw[0], raw[5], raw[-1]]
    board = replace(full, raw={**full.raw, "panels": picked})
    fake = FakePrometheus()
    paths = render(fake, tmp_path, start=0.0, end=30.0, step=1.0, boards=[board])
    assert [p.name for p in paths] == ["wrapup-bridge-overview.png"] + [
        f"wrapup-bridge-{n:02d}-{slug(p['title'])}.png" for n, p in enumerate(picked, 1)]
    for path in paths:
        assert path.read_bytes().startswith(PNG) and path.stat().st_size > 5000
    assert len(fake.queries) == sum(len(p["targets"]) for p in picked), "one query each"


def test_cli_render_against_a_prometheus_url_fails_cleanly_when_unreachable(
        tmp_path: Path) -> None:
    result = CliRunner().invoke(dashboards_group, [
        "render", "--prometheus-url", "http://127.0.0.1:9", "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert list(tmp_path.glob("*.png")) == []
