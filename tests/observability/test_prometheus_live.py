"""Every dashboard query and alert expression, evaluated by a real Prometheus scraping a real
worker fed by the simulator (platform with faults, event bridge, Kafka).

One short simulated run per module; Prometheus scrapes the worker every second. Panel
queries are evaluated with ``$__rate_interval`` spanning the whole run, so each must
return finite values carrying the labels its legend shows.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml

from streams.dev.charts.simrun import RunSpec, SimulatedRun
from streams.dev.prometheus import PrometheusClient
from streams.observability import dashboards
from streams.observability.catalogue import defined_metrics
from streams.observability.promql import metric_names, selectors
from tests.helpers import wait_for

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "grafana" / "alerts" / "wrapup-bridge.rules.yml"
JOB = "wrapup-bridge"
SPEC = RunSpec(interactions=60, rate=3.0, speed=4.0)
TARGETS = [(p, t) for d in dashboards.load_all() for p in d.panels for t in p.targets]
ALERTS = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]


@pytest.fixture(scope="module")
def run(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[SimulatedRun]:
    work = tmp_path_factory.mktemp("simrun")
    with SimulatedRun(kafka_bootstrap, SPEC, work_dir=work, job=JOB,
                      rule_files=[RULES]) as sim:
        stats = sim.play()
        assert stats["published"] > SPEC.interactions, stats
        yield sim


@pytest.fixture(scope="module")
def prom(run: SimulatedRun) -> PrometheusClient:
    assert run.prometheus is not None
    return run.prometheus


def window(run: SimulatedRun) -> str:
    """A range covering the whole run, for ``$__rate_interval``."""
    return f"{math.ceil(time.time() - run.started_at) + 5}s"


def _ids(items: list[tuple[dashboards.Panel, dashboards.Target]]) -> list[str]:
    return [f"{p.title}:{t.ref_id}" for p, t in items]


def finite(series: dict[str, Any]) -> bool:
    return math.isfinite(float(series["value"][1]))


@pytest.mark.parametrize(("panel", "target"), TARGETS, ids=_ids(TARGETS))
def test_panel_query_returns_labelled_data(run: SimulatedRun, prom: PrometheusClient,
                                           panel: dashboards.Panel,
                                           target: dashboards.Target) -> None:
    expr = dashboards.concrete(target.expr, rate_interval=window(run), job=JOB)
    result = prom.query(expr)
    assert result, f"no data for {expr}"
    if expr.startswith("histogram_quantile("):
        # A series first scraped with its only observation has a zero rate: NaN (a gap).
        assert any(finite(s) for s in result), result
    else:
        assert all(finite(s) for s in result), result
    for series in result:
        missing = target.legend_labels - set(series["metric"])
        assert not missing, f"series {series['metric']} lacks legend labels {missing}"


def test_every_dashboard_metric_is_exported_by_the_worker(prom: PrometheusClient) -> None:
    exported = {s["metric"]["__name__"] for s in prom.query(f'{{job="{JOB}"}}')}
    named = {n for _, t in TARGETS for n in metric_names(t.expr)} | {
        n for a in ALERTS for n in metric_names(a["expr"])}
    assert named - exported - {"up"} == set()
    # ... and every metric streams.metrics defines shows up in this run.
    assert {m.name if m.type != "histogram" else f"{m.name}_bucket"
            for m in defined_metrics()} <= exported


def test_rules_load_and_evaluate_cleanly(prom: PrometheusClient) -> None:
    def healthy() -> list[dict[str, Any]]:
        return [r for g in prom.rule_groups() for r in g["rules"]
                if r["health"] == "ok" and not r.get("lastError")]

    wait_for(lambda: len(healthy()) >= len(ALERTS), timeout=10, interval=0.2,
             message=f"{len(ALERTS)} healthy rules")


@pytest.mark.parametrize("alert", ALERTS, ids=lambda a: a["alert"])
def test_alert_expression_is_valid_and_its_selectors_have_data(
        prom: PrometheusClient, alert: dict[str, Any]) -> None:
    prom.query(alert["expr"])  # raises on an invalid expression
    for selector in selectors(alert["expr"]):
        assert prom.query(selector), f"{alert['alert']}: {selector} has no data"


@pytest.mark.parametrize(("name", "labels"), [
    ("WrapupDeliveriesFailing", {"job"}),  # the run maps one campaign to a rejected code
    ("WrapupDeadLettersGrowing", {"job", "kind"}),  # junk events and failed deliveries
])
def test_conditions_the_run_provokes_are_met(prom: PrometheusClient, name: str,
                                             labels: set[str]) -> None:
    [alert] = [a for a in ALERTS if a["alert"] == name]
    result = prom.query(alert["expr"])
    assert result, f"{name}'s condition should hold during the simulated run"
    assert all(set(s["metric"]) == labels for s in result), result
    assert {s["metric"]["job"] for s in result} == {JOB}


def test_healthy_conditions_stay_silent(prom: PrometheusClient) -> None:
    for name in ("WrapupNoEventsReceived", "WrapupWorkerNotReady", "WrapupConsumerLagGrowing"):
        [alert] = [a for a in ALERTS if a["alert"] == name]
        assert prom.query(alert["expr"]) == [], name


def test_promtool_check_metrics_on_a_real_scrape(run: SimulatedRun) -> None:
    body = httpx.get(f"http://{run.worker_address}/metrics", timeout=5).text
    assert "wrapup_outcomes_total{" in body
    promtool = shutil.which("promtool")
    assert promtool, "promtool not on PATH: scripts/setup.sh installs Debian's prometheus"
    result = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "interaction_id" not in body and "ia-" not in body


def test_one_json_log_line_per_outcome_with_the_interaction_id(run: SimulatedRun) -> None:
    body = httpx.get(f"http://{run.worker_address}/metrics", timeout=5).text
    outcomes = sum(float(line.rsplit(" ", 1)[1]) for line in body.splitlines()
                   if line.startswith("wrapup_outcomes_total{"))
    text = run.worker_log.read_text()
    lines = [orjson.loads(line) for line in text.splitlines()
             if line.startswith("{") and '"logger":"wrapup.outcome"' in line]
    assert outcomes > 0 and len(lines) == outcomes
    assert all(doc["interaction_id"] and doc["outcome"] and doc["ts"] for doc in lines)
    assert {doc["outcome"] for doc in lines} >= {"applied", "failed", "expired"}
    assert run.platform.auth.client_secret not in text
