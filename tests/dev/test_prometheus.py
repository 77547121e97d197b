"""LocalPrometheus: a real Prometheus on loopback scrapes a target and answers PromQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIServer

import pytest
from prometheus_client import CollectorRegistry, Counter, start_http_server

from streams.dev.prometheus import LocalPrometheus, PrometheusError, render_config
from tests.helpers import wait_for

RULES = Path(__file__).resolve().parents[2] / "grafana" / "alerts" / "wrapup-bridge.rules.yml"


@pytest.fixture
def target() -> Iterator[tuple[str, Counter]]:
    registry = CollectorRegistry()
    counter = Counter("demo_things_total", "Things.", ["kind"], registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    assert isinstance(server, WSGIServer)
    yield f"127.0.0.1:{server.server_port}", counter
    server.shutdown()
    thread.join(5)


def test_scrapes_and_answers_queries(target: tuple[str, Counter], tmp_path: Path) -> None:
    address, counter = target
    counter.labels("a").inc(3)
    with LocalPrometheus([address], job="demo", scrape_interval=0.5, rule_files=[RULES],
                         data_dir=tmp_path) as prom:
        assert prom.url.startswith("http://127.0.0.1:")
        prom.wait_until_scraped(timeout=20)
        [series] = prom.query('demo_things_total{kind="a"}')
        assert series["metric"]["job"] == "demo" and series["metric"]["instance"] == address
        assert float(series["value"][1]) == 3.0
        counter.labels("a").inc(2)
        wait_for(lambda: float(prom.query("sum(demo_things_total)")[0]["value"][1]) == 5.0,
                 timeout=10, message="new value scraped")
        now = time.time()
        [ranged] = prom.query_range("demo_things_total", now - 5, now, 0.5)
        assert {float(v) for _, v in ranged["values"]} <= {3.0, 5.0}
        assert prom.query("1 + 1")[0]["value"][1] == "2"
        with pytest.raises(PrometheusError, match="bad_data"):
            prom.query("sum(")
        groups = prom.rule_groups()
        assert [g["name"] for g in groups] == ["wrapup-bridge"]
        assert len(groups[0]["rules"]) == 8
        wait_for(lambda: all(r["health"] == "ok" for r in prom.rule_groups()[0]["rules"]),
                 timeout=10, message="rules evaluated without error")
    assert prom.proc is None


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules.yml"
    bad.write_text("groups: [{name: x, rules: [{alert: A, expr: 'sum('}]}]\n")
    with pytest.raises(PrometheusError, match="exited"):
        LocalPrometheus(["127.0.0.1:1"], rule_files=[bad], data_dir=tmp_path).start()


def test_config_is_valid_yaml_for_prometheus() -> None:
    text = render_config(["127.0.0.1:6066"], job="j", scrape_interval=1.0)
    assert '"scrape_interval": "1000ms"' in text and '"127.0.0.1:6066"' in text
