"""Policy: rule specificity, scope with unknown fields, and precise parse errors."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.policy import Policy, PolicyError, Rule, WrapupCode

BOTH = WrapupCode("wc-both", "Campaign and queue")
CAMPAIGN = WrapupCode("wc-camp", "Campaign")
QUEUE = WrapupCode("wc-queue", "Queue")


def policy(*rules: Rule) -> Policy:
    return Policy(tuple(rules))


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0), (2, 0, 1)])
def test_most_specific_rule_wins_whatever_the_order(order: tuple[int, int, int]) -> None:
    rules = [
        Rule(QUEUE, queue="q"),
        Rule(CAMPAIGN, campaign="c"),
        Rule(BOTH, campaign="c", queue="q"),
    ]
    p = policy(*(rules[i] for i in order))
    assert p.resolve("c", "q") is BOTH
    assert p.resolve("c", "other") is CAMPAIGN
    assert p.resolve("c", None) is CAMPAIGN
    assert p.resolve("other", "q") is QUEUE
    assert p.resolve(None, "q") is QUEUE
    assert p.resolve("other", "other") is None
    assert p.resolve(None, None) is None


def test_campaign_rule_beats_queue_rule() -> None:
    p = policy(Rule(QUEUE, queue="q"), Rule(CAMPAIGN, campaign="c"))
    assert p.resolve("c", "q") is CAMPAIGN


def test_combined_rule_needs_both_fields() -> None:
    p = policy(Rule(BOTH, campaign="c", queue="q"))
    assert p.resolve("c", None) is None
    assert p.resolve(None, "q") is None
    assert p.resolve("c", "x") is None


def test_could_be_in_scope_treats_unknown_fields_as_wildcards() -> None:
    p = policy(Rule(BOTH, campaign="c", queue="q"))
    assert p.could_be_in_scope(None, None)
    assert p.could_be_in_scope("c", None)
    assert p.could_be_in_scope(None, "q")
    assert p.could_be_in_scope("c", "q")
    assert not p.could_be_in_scope("x", None)
    assert not p.could_be_in_scope(None, "x")
    assert not p.could_be_in_scope("c", "x")


def test_could_be_in_scope_with_single_field_rules() -> None:
    p = policy(Rule(CAMPAIGN, campaign="c"), Rule(QUEUE, queue="q"))
    assert p.could_be_in_scope("x", None)  # the queue could still be q
    assert p.could_be_in_scope(None, "x")  # the campaign could still be c
    assert p.could_be_in_scope("x", "q")
    assert not p.could_be_in_scope("x", "y")


names = st.sampled_from(["a", "b", "c"])
rules_st = st.lists(
    st.builds(
        Rule,
        code=st.builds(WrapupCode, st.sampled_from(["w1", "w2", "w3"]), st.just("L")),
        campaign=st.none() | names,
        queue=st.none() | names,
    ).filter(lambda r: r.campaign is not None or r.queue is not None),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(rules_st, st.none() | names, st.none() | names, names, names)
def test_scope_is_consistent_with_resolve(
    rules: list[Rule], campaign: str | None, queue: str | None, fill_c: str, fill_q: str
) -> None:
    """Knowing more never resolves what could not be in scope; known fields agree exactly."""
    p = Policy(tuple(rules))
    if campaign is not None and queue is not None:
        assert p.could_be_in_scope(campaign, queue) == (p.resolve(campaign, queue) is not None)
    full = (campaign or fill_c, queue or fill_q)
    if p.resolve(*full) is not None:
        assert p.could_be_in_scope(campaign, queue)
    if p.resolve(campaign, queue) is not None:
        assert p.could_be_in_scope(campaign, queue)


def test_from_json_accepts_the_documented_shape() -> None:
    raw = orjson.dumps(
        {
            "rules": [
                {"campaign": "c-ren", "code": {"id": "wc-ren", "label": "Renewal"}},
                {"queue": "q-bill", "code": {"id": "wc-bill", "label": "Billing"}},
                {"campaign": "c-p", "queue": "q-s", "code": {"id": "wc-p", "label": "Promo"}},
            ]
        }
    )
    p = Policy.from_json(raw)
    assert p.rules == (
        Rule(WrapupCode("wc-ren", "Renewal"), campaign="c-ren"),
        Rule(WrapupCode("wc-bill", "Billing"), queue="q-bill"),
        Rule(WrapupCode("wc-p", "Promo"), campaign="c-p", queue="q-s"),
    )
    assert Policy.from_json(raw.decode()) == p


def test_from_json_accepts_a_bare_list() -> None:
    p = Policy.from_json('[{"queue": "q", "code": {"id": "w", "label": "L"}}]')
    assert p.resolve(None, "q") == WrapupCode("w", "L")


GOOD: dict[str, Any] = {"queue": "q", "code": {"id": "w", "label": "L"}}


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"{}", "at least one rule"),
        (b'{"rules": []}', "at least one rule"),
        (b'{"rules": {}}', "at least one rule"),
        (b"42", "at least one rule"),
        (orjson.dumps({"rules": [GOOD, "x"]}), "rules[1] must be an object"),
        (orjson.dumps({"rules": [{"code": GOOD["code"]}]}), "rules[0] names neither"),
        (orjson.dumps({"rules": [{**GOOD, "campaign": ""}]}), "rules[0].campaign must be"),
        (orjson.dumps({"rules": [{**GOOD, "queue": 5}]}), "rules[0].queue must be"),
        (orjson.dumps({"rules": [GOOD, {"queue": "q2"}]}), "rules[1].code must be an object"),
        (orjson.dumps({"rules": [{"queue": "q", "code": "w"}]}), "rules[0].code must be"),
        (
            orjson.dumps({"rules": [{"queue": "q", "code": {"label": "L"}}]}),
            "rules[0].code needs a non-empty id",
        ),
        (
            orjson.dumps({"rules": [{"queue": "q", "code": {"id": "w", "label": ""}}]}),
            "rules[0].code.label must be",
        ),
        (
            orjson.dumps({"rules": [{"queue": "q", "code": {"id": 1, "label": "L"}}]}),
            "rules[0].code.id must be",
        ),
        (
            orjson.dumps({"rules": [GOOD, {**GOOD, "code": {"id": "w2", "label": "L2"}}]}),
            "rules[1] repeats rules[0]",
        ),
    ],
)
def test_from_json_errors_name_the_bad_part(raw: bytes, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        Policy.from_json(raw)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_policy_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="not valid JSON"):
        Policy.from_json("nope")


def test_rules_for_different_keys_are_not_repeats() -> None:
    p = Policy.from_json(
        orjson.dumps(
            {
                "rules": [
                    {"campaign": "c", "code": {"id": "1", "label": "1"}},
                    {"queue": "c", "code": {"id": "2", "label": "2"}},
                    {"campaign": "c", "queue": "c", "code": {"id": "3", "label": "3"}},
                ]
            }
        )
    )
    assert len(p.rules) == 3
