"""The ``simulate`` command group: options parse, the policy it prints, bad input fails."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from streams.dev.simulator.cli import simulate
from streams.dev.simulator.scenario import default_scenario


def test_policy_command_prints_and_writes_the_scenario_policy(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(simulate, ["policy"])
    assert printed.exit_code == 0
    assert printed.output.encode() == default_scenario().policy_json()
    out = tmp_path / "p.json"
    assert runner.invoke(simulate, ["policy", "--out", str(out)]).exit_code == 0
    assert out.read_bytes() == default_scenario().policy_json()


def test_bad_options_are_refused_before_anything_starts() -> None:
    runner = CliRunner()
    bad_sides = runner.invoke(simulate, ["compare", "--sides", "nope"])
    assert bad_sides.exit_code == 2 and "unknown sides" in bad_sides.output
    bad_dist = runner.invoke(simulate, ["compare", "--transition", "gamma:1"])
    assert bad_dist.exit_code == 2 and "unknown distribution" in bad_dist.output
    bad_env = runner.invoke(simulate, ["run", "--worker-env", "PATH=/x", "-n", "0"],
                            env={"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert bad_env.exit_code == 2 and "WRAPUP_NAME=value" in bad_env.output


def test_platform_command_serves_for_a_bounded_time() -> None:
    result = CliRunner().invoke(simulate, ["platform", "--port", "0", "-n", "5",
                                           "--duration", "0.2"])
    assert result.exit_code == 0, result.output
    assert "platform API on http://127.0.0.1:" in result.output
    assert "5 interactions" in result.output
    assert "wrapup-sim-secret" not in result.output
