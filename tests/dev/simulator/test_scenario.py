"""The default scenario and its policy file agree with what the worker reads."""

from __future__ import annotations

from streams.dev.simulator.scenario import default_scenario
from streams.policy import Policy
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "policy.json"


def test_examples_policy_is_the_default_scenario_policy() -> None:
    scenario = default_scenario()
    assert EXAMPLE.read_bytes() == scenario.policy_json()
    assert Policy.from_json(EXAMPLE.read_bytes()) == scenario.policy


def test_some_combinations_are_out_of_scope_and_policy_codes_are_valid() -> None:
    scenario = default_scenario()
    combos = [(c.id, q) for c in scenario.campaigns for q in c.queues]
    resolved = {combo: scenario.policy.resolve(*combo) for combo in combos}
    assert resolved[("c-survey", "q-support")] is None
    assert resolved[("c-promo", "q-support")] is None
    assert resolved[("c-survey", "q-billing")] is not None
    for (_, queue), code in resolved.items():
        assert code is None or code.id in scenario.valid_codes(queue)
    assert "wc-promo" not in scenario.valid_codes("q-billing")
