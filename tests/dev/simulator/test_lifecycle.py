"""The platform state machine of one interaction (pure: the clock is an argument)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.dev.simulator.lifecycle import (
    By,
    Lifecycle,
    PostResult,
    State,
    Timeline,
    post_wrapup,
    settle,
)
from streams.policy import WrapupCode

OURS = WrapupCode("wc-ours", "Ours")
AGENT = WrapupCode("wc-agent", "Agent's")
ACW = WrapupCode("wc-acw", "ACW default")


def make(agent_at: float | None = None) -> Lifecycle:
    timeline = Timeline(
        created_at=0.0,
        ended_at=10.0,
        wrapping_up_at=12.0,
        acw_deadline=42.0,
        agent_wrap_at=agent_at,
        agent_code=AGENT if agent_at is not None else None,
    )
    return Lifecycle(timeline, ACW)


def test_states_follow_the_timeline() -> None:
    lc = make()
    assert lc.state_at(-1) is State.ABSENT
    assert lc.state_at(5) is State.ACTIVE
    assert lc.state_at(10) is State.ENDED
    assert lc.state_at(11.999) is State.ENDED
    assert lc.state_at(12) is State.WRAPPING_UP
    assert lc.state_at(41.9) is State.WRAPPING_UP
    assert lc.state_at(42) is State.WRAPPED


@pytest.mark.parametrize("now", [5.0, 10.0, 11.9])
def test_post_before_wrapping_up_is_not_ready_and_changes_nothing(now: float) -> None:
    lc, result, _ = post_wrapup(make(), now, OURS)
    assert result is PostResult.NOT_READY
    assert lc.wrap is None
    assert lc.state_at(13) is State.WRAPPING_UP


def test_post_while_wrapping_up_applies_once() -> None:
    lc, result, transitions = post_wrapup(make(), 12.5, OURS)
    assert result is PostResult.APPLIED
    assert lc.wrap is not None and lc.wrap.by is By.API and lc.wrap.code == OURS
    assert [t.state for t in transitions] == [State.ENDED, State.WRAPPING_UP, State.WRAPPED]
    lc2, again, more = post_wrapup(lc, 13.0, OURS)
    assert again is PostResult.ALREADY_WRAPPED
    assert more == [] and lc2.wrap == lc.wrap


def test_agent_pick_wins_over_a_later_post_and_acw_never_fires() -> None:
    lc = make(agent_at=20.0)
    lc, result, transitions = post_wrapup(lc, 25.0, OURS)
    assert result is PostResult.ALREADY_WRAPPED
    assert lc.wrap is not None and lc.wrap.by is By.AGENT and lc.wrap.at == 20.0
    assert transitions[-1].state is State.WRAPPED and transitions[-1].at == 20.0
    assert settle(lc, 100.0)[1] == []


def test_post_before_the_agent_wins_and_the_agent_pick_is_ignored() -> None:
    lc, result, _ = post_wrapup(make(agent_at=20.0), 15.0, OURS)
    assert result is PostResult.APPLIED
    lc, later = settle(lc, 30.0)
    assert later == []
    assert lc.wrap is not None and lc.wrap.by is By.API


def test_acw_timeout_applies_the_default_code() -> None:
    lc, transitions = settle(make(), 50.0)
    assert lc.wrap is not None and lc.wrap.by is By.PLATFORM and lc.wrap.code == ACW
    assert [t.at for t in transitions] == [10.0, 12.0, 42.0]


def test_agent_pick_after_the_acw_deadline_never_happens() -> None:
    lc, _ = settle(make(agent_at=60.0), 70.0)
    assert lc.wrap is not None and lc.wrap.by is By.PLATFORM


def test_timeline_is_validated() -> None:
    with pytest.raises(ValueError):
        Timeline(0, 10, 9, 20)
    with pytest.raises(ValueError):
        Timeline(0, 10, 12, 20, agent_wrap_at=11, agent_code=AGENT)


@given(st.lists(st.floats(min_value=-5, max_value=60), max_size=12), st.booleans())
def test_each_transition_is_emitted_once_and_in_order(times: list[float], agent: bool) -> None:
    lc = make(agent_at=30.0 if agent else None)
    emitted: list[State] = []
    for now in [*sorted(times), 100.0]:
        lc, out = settle(lc, now)
        emitted.extend(t.state for t in out)
        assert lc.next_due() is None or lc.next_due() >= 0
    assert emitted == [State.ENDED, State.WRAPPING_UP, State.WRAPPED]
    assert lc.next_due() is None


@given(st.lists(st.floats(min_value=0, max_value=60), min_size=1, max_size=10))
def test_at_most_one_post_is_ever_applied(posts: list[float]) -> None:
    lc = make(agent_at=25.0)
    applied = 0
    for now in sorted(posts):
        lc, result, _ = post_wrapup(lc, now, OURS)
        applied += result is PostResult.APPLIED
        expected = lc.state_at(now)
        assert expected is not State.WRAPPING_UP or result is PostResult.APPLIED
    assert applied <= 1
