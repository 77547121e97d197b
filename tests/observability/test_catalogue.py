"""The README's metrics catalogue lists exactly what streams.metrics defines, and the
definitions follow Prometheus naming."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from streams.observability import catalogue
from streams.observability.catalogue import MetricInfo, defined_metrics

README = Path(__file__).resolve().parents[2] / "README.md"
METRICS = defined_metrics()
REGENERATE = "run: python -m streams.observability.catalogue --write README.md"
# Label names that would carry unbounded IDs; they belong in logs.
FORBIDDEN_LABELS = re.compile(r"(^|_)(id|ids|interaction|agent|contact|conversation|user)($|_)")


def test_readme_lists_every_metric_and_nothing_else() -> None:
    listed = catalogue.parse_table(README.read_text(encoding="utf-8"))
    assert sorted(m.name for m in listed) == sorted(m.name for m in METRICS), REGENERATE
    assert len({m.name for m in listed}) == len(listed), "a metric is listed twice"


def test_readme_types_labels_and_meanings_match() -> None:
    listed = {m.name: m for m in catalogue.parse_table(README.read_text(encoding="utf-8"))}
    rendered = {m.name: m for m in catalogue.parse_table(
        f"{catalogue.START}\n{catalogue.render_table()}\n{catalogue.END}")}
    for name, m in rendered.items():
        assert (listed[name].type, listed[name].labels) == (m.type, m.labels), REGENERATE
        assert listed[name].help == m.help, REGENERATE


def test_parse_and_replace_round_trip() -> None:
    infos = [MetricInfo("a_total", "counter", ("x", "y"), "Things | stuff."),
             MetricInfo("b_seconds", "histogram", (), "Time.", (0.1, 1.0))]
    doc = f"intro\n{catalogue.START}\nold\n{catalogue.END}\noutro\n"
    new = catalogue.replace_section(doc, catalogue.render_table(infos))
    assert new.startswith("intro\n") and new.endswith("outro\n") and "old" not in new
    parsed = catalogue.parse_table(new)
    assert [(m.name, m.type, m.labels) for m in parsed] == [
        ("a_total", "counter", ("x", "y")), ("b_seconds", "histogram", ())]
    assert parsed[0].help == "Things | stuff."
    assert parsed[1].help == "Time. Buckets (s): 0.1, 1."
    with pytest.raises(ValueError):
        catalogue.replace_section("no markers", "x")


@pytest.mark.parametrize("metric", METRICS, ids=lambda m: m.name)
def test_metric_follows_prometheus_naming(metric: MetricInfo) -> None:
    assert re.fullmatch(r"wrapup_[a-z][a-z0-9_]*", metric.name)
    assert (metric.type == "counter") == metric.name.endswith("_total")
    assert not re.search(r"_(ms|milliseconds|minutes|hours)(_|$)", metric.name)
    if metric.type == "histogram":
        assert metric.name.endswith("_seconds"), "histograms here measure time in seconds"
    for label in metric.labels:
        assert not FORBIDDEN_LABELS.search(label), f"{label} would be an unbounded ID label"
    assert metric.help.endswith(".")


def test_buckets_fit_what_they_measure() -> None:
    by_name = {m.name: m for m in METRICS}
    decision = by_name["wrapup_decision_latency_seconds"].buckets
    assert decision[0] < 0.01 and 1 <= decision[-1] <= 30, "sub-10 ms to seconds"
    pairing = by_name["wrapup_pairing_wait_seconds"].buckets
    assert pairing[-1] >= 600, "pairing waits reach minutes"
    request = by_name["wrapup_api_request_duration_seconds"].buckets
    assert request[0] <= 0.01 and request[-1] >= 10
