"""The PromQL tokenizer finds exactly the metrics a query selects."""

from __future__ import annotations

import pytest

from streams.observability.promql import (
    PromQLError,
    base_name,
    metric_names,
    selectors,
    substitute,
    tokenize,
)


def test_aggregation_label_lists_and_functions_are_not_metrics() -> None:
    expr = (
        'sum by (reason) (rate(wrapup_conflicts_total{job=~"$job"}[5m])) / ignoring (reason) '
        'group_left sum(rate(wrapup_api_requests_total{endpoint="wrapup"}[5m]))'
    )
    assert metric_names(expr) == {"wrapup_conflicts_total", "wrapup_api_requests_total"}


def test_histogram_quantile_and_without() -> None:
    expr = ("histogram_quantile(0.99, sum without (instance, pod) "
            "(rate(wrapup_decision_latency_seconds_bucket[1m] offset 5m)))")
    assert metric_names(expr) == {"wrapup_decision_latency_seconds_bucket"}


def test_binary_keywords_strings_and_bare_selectors() -> None:
    expr = ('(sum(up) > 0) unless on (job) (count_values("v", build_info) and bool '
            '{__name__="hidden"}) or label_replace(x:recorded:rate5m, "a", "$1", "b", "(.*)")')
    assert metric_names(expr) == {"up", "build_info", "x:recorded:rate5m"}


def test_selectors_keep_matchers_and_drop_ranges() -> None:
    expr = 'deriv(wrapup_consumer_lag_messages{topic="t", partition!="1"}[10m]) > 0 and up'
    assert selectors(expr) == ['wrapup_consumer_lag_messages{topic="t", partition!="1"}', "up"]


def test_matchers_with_braces_in_strings() -> None:
    assert selectors('m{a="}{", b=~"[x]"}') == ['m{a="}{", b=~"[x]"}']


def test_numbers_durations_and_inf_are_not_names() -> None:
    assert metric_names("1e3 + 0x1f * inf - max_over_time(m[5m:30s]) @ 100") == {"m"}


def test_bad_input_raises() -> None:
    with pytest.raises(PromQLError):
        tokenize("sum(m) ; drop")
    with pytest.raises(PromQLError):
        selectors("m{a=\"b\"")


def test_substitute_grafana_variables() -> None:
    got = substitute('rate(m{job=~"$job"}[$__rate_interval]) ${x} ${x:regex}',
                     {"job": "j", "__rate_interval": "15s", "x": "X"})
    assert got == 'rate(m{job=~"j"}[15s]) X X'
    with pytest.raises(KeyError):
        substitute("$missing", {})


def test_base_name_strips_histogram_suffixes_only_for_histograms() -> None:
    hist = {"wrapup_pairing_wait_seconds"}
    assert base_name("wrapup_pairing_wait_seconds_bucket", hist) == "wrapup_pairing_wait_seconds"
    assert base_name("wrapup_pairing_wait_seconds_count", hist) == "wrapup_pairing_wait_seconds"
    assert base_name("wrapup_events_count", hist) == "wrapup_events_count"


def test_grafana_variables_tokenize_in_ranges_and_matchers() -> None:
    assert metric_names('rate(m{job=~"$job"}[$__rate_interval]) * ${factor}') == {"m"}
