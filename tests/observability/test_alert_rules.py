"""The alert rules: valid for promtool, unit-tested per alert, annotated, and naming
only metrics the service exports."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.observability.catalogue import exported_series_names, is_standard
from streams.observability.promql import metric_names

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "grafana" / "alerts" / "wrapup-bridge.rules.yml"
RULE_TESTS = Path(__file__).with_name("wrapup-bridge.rules.test.yml")
EXAMPLE_CONFIG = ROOT / "prometheus" / "prometheus.yml"


def alerts() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"] if "alert" in rule]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("promtool")
    assert exe, "promtool not on PATH: scripts/setup.sh installs Debian's prometheus package"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_check_rules() -> None:
    result = promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_check_example_config() -> None:
    result = promtool("check", "config", str(EXAMPLE_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_issue_alerts_exist() -> None:
    names = {a["alert"] for a in alerts()}
    assert {"WrapupConflictRatioHigh", "WrapupDeliveriesFailing", "WrapupDeadLettersGrowing",
            "WrapupConsumerLagGrowing", "WrapupDecisionLatencyP99High",
            "WrapupEndToEndLatencyP99High", "WrapupNoEventsReceived"} <= names


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_alert_is_annotated_and_labelled(alert: dict[str, Any]) -> None:
    annotations = alert["annotations"]
    for key in ("summary", "description", "runbook"):
        assert annotations.get(key, "").strip(), f"{alert['alert']} lacks {key}"
    assert "\n" not in annotations["runbook"].strip(), "the runbook is one line"
    assert alert["labels"]["severity"] in ("page", "warning")
    assert alert.get("for"), "alerts must not fire on one evaluation"


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_alert_names_only_exported_metrics(alert: dict[str, Any]) -> None:
    names = metric_names(alert["expr"])
    assert names
    exported = exported_series_names()
    assert {n for n in names if n not in exported and not is_standard(n)} == set()


@pytest.mark.parametrize("alert", alerts(), ids=lambda a: a["alert"])
def test_every_alert_has_a_firing_and_a_silent_unit_test(alert: dict[str, Any]) -> None:
    doc = yaml.safe_load(RULE_TESTS.read_text())
    cases = [c for t in doc["tests"] for c in t["alert_rule_test"]
             if c["alertname"] == alert["alert"]]
    assert any(c["exp_alerts"] for c in cases), f"no test makes {alert['alert']} fire"
    assert any(not c["exp_alerts"] for c in cases), f"no test keeps {alert['alert']} silent"
