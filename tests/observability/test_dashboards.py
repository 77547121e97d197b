"""Static checks of the Grafana dashboards and provisioning: every query names only
metrics the service exports, and the dashboards work under file provisioning."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from streams.observability import dashboards
from streams.observability.catalogue import defined_metrics, exported_series_names, is_standard
from streams.observability.promql import base_name, metric_names, tokenize

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "grafana"
ALL = dashboards.load_all()
PANELS = [p for d in ALL for p in d.panels if p.targets]
TARGETS = [(p, t) for p in PANELS for t in p.targets]
HISTOGRAMS = {m.name for m in defined_metrics() if m.type == "histogram"}


def _ids(items: list[tuple[dashboards.Panel, dashboards.Target]]) -> list[str]:
    return [f"{p.dashboard}:{p.title}:{t.ref_id}" for p, t in items]


def unknown_metrics(expr: str) -> set[str]:
    """Names in ``expr`` that neither streams.metrics nor the standard collectors export."""
    exported = exported_series_names()
    return {n for n in metric_names(expr) if n not in exported and not is_standard(n)}


def test_dashboards_exist_and_have_unique_uids() -> None:
    assert [d.path.name for d in ALL] == ["wrapup-bridge.json"]
    assert len({d.uid for d in ALL}) == len(ALL)
    assert len(PANELS) >= 20


@pytest.mark.parametrize(("panel", "target"), TARGETS, ids=_ids(TARGETS))
def test_query_names_only_exported_metrics(panel: dashboards.Panel,
                                           target: dashboards.Target) -> None:
    names = metric_names(target.expr)
    assert names, "a panel query must select at least one metric"
    assert unknown_metrics(target.expr) == set()


def test_unknown_metric_is_caught() -> None:
    assert unknown_metrics("sum(rate(wrapup_typo_total[5m])) + up") == {"wrapup_typo_total"}
    assert unknown_metrics("rate(wrapup_events_total_bucket[1m])") == {"wrapup_events_total_bucket"}


@pytest.mark.parametrize(("panel", "target"), TARGETS, ids=_ids(TARGETS))
def test_query_uses_rate_interval_and_job_filters(panel: dashboards.Panel,
                                                  target: dashboards.Target) -> None:
    ranges = re.findall(r"\[([^\]]*)\]", target.expr)
    assert all(r == "$__rate_interval" for r in ranges), ranges
    for selector in re.findall(r"[a-z_:]+\{[^}]*\}", target.expr):
        assert 'job=~"$job"' in selector and 'instance=~"$instance"' in selector, selector
    assert target.legend, "every query needs a legend"
    tokenize(dashboards.concrete(target.expr, rate_interval="1m", job="j"))


@pytest.mark.parametrize(("panel", "target"), TARGETS, ids=_ids(TARGETS))
def test_quantiles_aggregate_buckets_by_le(panel: dashboards.Panel,
                                           target: dashboards.Target) -> None:
    for name in metric_names(target.expr):
        if base_name(name, HISTOGRAMS) != name:
            assert name.endswith("_bucket"), "plot _bucket quantiles, not _sum/_count averages"
            assert re.match(r"histogram_quantile\(0\.\d+, sum by \(le[,)]", target.expr)


def test_every_panel_uses_the_datasource_variable() -> None:
    for d in ALL:
        text = d.path.read_text()
        assert "DS_PROMETHEUS" not in text and "__inputs" not in d.raw
        ds = [v for v in d.variables if v.name == "datasource"]
        assert len(ds) == 1 and ds[0].type == "datasource" and ds[0].query == "prometheus"
    for p in PANELS:
        assert p.datasource == "${datasource}", p.title


def test_variable_queries_select_exported_metrics() -> None:
    queried = [v for d in ALL for v in d.variables if v.type == "query"]
    assert {v.name for v in queried} == {"job", "instance"}
    for v in queried:
        parsed = dashboards.label_values_selector(v.query)
        assert parsed is not None and parsed[0] is not None, v.query
        assert v.datasource == "${datasource}"
        assert unknown_metrics(parsed[0].replace("$job", "x")) == set()


def test_issue_panels_are_present() -> None:
    by_metric: dict[str, list[str]] = {}
    for _panel, t in TARGETS:
        for name in metric_names(t.expr):
            by_metric.setdefault(name, []).append(t.expr)
    for name in ("wrapup_outcomes_total", "wrapup_conflicts_total", "wrapup_api_requests_total",
                 "wrapup_api_request_duration_seconds_bucket", "wrapup_retries_total",
                 "wrapup_rate_limit_waits_total", "wrapup_pending_interactions",
                 "wrapup_consumer_lag_messages", "wrapup_dead_letters_total",
                 "wrapup_rebalances_total", "process_start_time_seconds"):
        assert name in by_metric, name
    for hist in ("wrapup_decision_latency_seconds", "wrapup_end_to_end_latency_seconds"):
        exprs = by_metric[hist + "_bucket"]
        for q in ("0.5", "0.95", "0.99"):
            assert any(e.startswith(f"histogram_quantile({q}, sum by (le)") for e in exprs)
    assert any("by (topic, partition)" in e for e in by_metric["wrapup_consumer_lag_messages"])
    assert any("by (reason)" in e and "/ ignoring (reason)" in e
               for e in by_metric["wrapup_conflicts_total"])
    assert any("status_class" in e for e in by_metric["wrapup_api_request_duration_seconds_bucket"])


def test_panels_do_not_overlap() -> None:
    for d in ALL:
        cells: dict[tuple[int, int], str] = {}
        for item in d.raw["panels"]:
            g = item["gridPos"]
            assert g["x"] >= 0 and g["x"] + g["w"] <= 24, item["title"]
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, f"{item['title']} overlaps {cells[(x, y)]}"
                    cells[(x, y)] = item["title"]


def test_provisioning_files() -> None:
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/wrapup-bridge.yaml").read_text())
    assert providers["apiVersion"] == 1
    [provider] = providers["providers"]
    assert provider["type"] == "file" and provider["options"]["path"]
    sources = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yaml").read_text())
    assert sources["apiVersion"] == 1
    assert [s["type"] for s in sources["datasources"]] == ["prometheus"]
