"""The join transitions: exactly one POST per eligible interaction, whatever the event order."""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, EventType
from streams.join import (
    Action,
    InteractionState,
    JoinRules,
    Status,
    Step,
    decide,
    expire,
    record_outcome,
)
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy, Rule, WrapupCode

CAMPAIGN_CODE = WrapupCode("wc-c1", "Campaign c1")
QUEUE_CODE = WrapupCode("wc-q1", "Queue q1")
BOTH_CODE = WrapupCode("wc-c2q2", "Campaign c2 in queue q2")
POLICY = Policy(
    (
        Rule(CAMPAIGN_CODE, campaign="c1"),
        Rule(QUEUE_CODE, queue="q1"),
        Rule(BOTH_CODE, campaign="c2", queue="q2"),
    )
)
TTL = 600.0
RETENTION = 10_000.0
RULES = JoinRules(POLICY, pending_ttl=TTL, retention=RETENTION, default_acw=120.0)
T0 = 1_700_000_000.0
IID = "int-1"

ENDED, WRAPPING_UP, WRAPPED = EventType.ENDED, EventType.WRAPPING_UP, EventType.WRAPPED


def ev(
    type_: EventType,
    *,
    iid: str = IID,
    campaign: str | None = "c1",
    queue: str | None = None,
    at: float = T0,
    source: str | None = None,
    code: str | None = None,
    acw_deadline: float | None = None,
) -> Event:
    return Event(
        event_id=f"{iid}:{type_.value}:{at}",
        type=type_,
        interaction_id=iid,
        occurred_at=at,
        campaign_id=campaign,
        queue_id=queue,
        agent_id="a-7",
        acw_deadline=acw_deadline,
        wrapup_code_id=code,
        wrapped_by=source,
    )


def run(
    events: list[Event], state: InteractionState | None = None, now: float = T0
) -> tuple[InteractionState | None, list[Step]]:
    """Feed events one second apart; return the final state and every step."""
    steps = []
    for i, event in enumerate(events):
        step = decide(state, event, now + i, RULES)
        steps.append(step)
        state = step.state
    return state, steps


def dispatching() -> InteractionState:
    state, steps = run([ev(ENDED), ev(WRAPPING_UP)])
    assert steps[-1].decision.action is Action.POST
    assert state is not None
    return state


# --- examples --------------------------------------------------------------------------------


def test_pair_posts_the_resolved_code_with_a_deadline() -> None:
    state, steps = run([ev(ENDED), ev(WRAPPING_UP, acw_deadline=T0 + 90)])
    assert [s.decision.reason for s in steps] == ["waiting", "paired"]
    decision = steps[1].decision
    assert decision.action is Action.POST
    assert decision.code == CAMPAIGN_CODE
    assert decision.deadline == T0 + 90
    assert state is not None
    assert state.status is Status.DISPATCHING
    assert state.code == CAMPAIGN_CODE
    assert state.paired_at == T0 + 1
    assert state.ended_at == T0 and state.wrapping_up_at == T0


def test_deadline_defaults_to_wrapping_up_plus_default_acw() -> None:
    _, steps = run([ev(WRAPPING_UP, at=T0 + 5), ev(ENDED)])
    assert steps[1].decision.deadline == T0 + 5 + RULES.default_acw


def test_an_acw_deadline_already_past_still_leaves_the_minimum_retry_window() -> None:
    """Clock skew: events stamped well in the past (a slow bridge clock, a backlog) give
    an ACW deadline that has passed when the worker pairs; not-ready retries still get
    ``min_retry_window`` from the pairing."""
    stale = T0 - 3600.0
    state, steps = run([ev(ENDED, at=stale), ev(WRAPPING_UP, at=stale, acw_deadline=stale + 30)])
    assert steps[1].decision.deadline == T0 + 1 + RULES.min_retry_window
    assert state is not None and state.deadline(RULES) == T0 + 1 + RULES.min_retry_window


@settings(max_examples=200, deadline=None)
@given(st.floats(-7200, 7200), st.none() | st.floats(-7200, 7200), st.floats(0, 600))
def test_the_post_deadline_is_never_sooner_than_the_minimum_window_after_pairing(
    stamp_offset: float, acw_offset: float | None, window: float,
) -> None:
    rules = JoinRules(POLICY, pending_ttl=TTL, retention=RETENTION, min_retry_window=window)
    at = T0 + stamp_offset
    acw = None if acw_offset is None else at + acw_offset
    first = decide(None, ev(ENDED, at=at), T0, rules)
    step = decide(first.state, ev(WRAPPING_UP, at=at, acw_deadline=acw), T0 + 1, rules)
    assert step.decision.action is Action.POST and step.decision.deadline is not None
    assert step.decision.deadline >= T0 + 1 + window
    assert step.state is not None and step.state.deadline(rules) == step.decision.deadline
    natural = acw if acw is not None else at + rules.default_acw
    assert step.decision.deadline == max(natural, T0 + 1 + window)


def test_context_from_the_first_event_is_kept() -> None:
    state, steps = run([ev(ENDED, campaign="c2", queue=None), ev(WRAPPING_UP, queue="q2")])
    assert steps[1].decision.code == BOTH_CODE
    assert state is not None
    assert (state.campaign_id, state.queue_id) == ("c2", "q2")


def test_out_of_scope_first_event_keeps_no_state() -> None:
    state, steps = run([ev(ENDED, campaign="c9", queue="q9")])
    assert state is None
    assert steps[0].decision.reason == "out_of_scope"


def test_context_arriving_later_drops_the_pending_state() -> None:
    state, steps = run([ev(ENDED, campaign=None), ev(ENDED, campaign="c9", queue="q9")])
    assert steps[0].state is not None
    assert state is None
    assert steps[1].decision.reason == "out_of_scope"


def test_wrapped_with_out_of_scope_context_keeps_no_state() -> None:
    state, steps = run(
        [ev(ENDED, campaign=None), ev(WRAPPED, campaign="c9", queue="q9", source="agent")]
    )
    assert state is None
    assert steps[1].decision.action is Action.NONE


def test_pair_without_context_waits_for_it() -> None:
    _, steps = run(
        [ev(ENDED, campaign=None), ev(WRAPPING_UP, campaign=None), ev(ENDED, queue="q1")]
    )
    assert steps[1].decision.reason == "waiting_context"
    assert steps[1].state is not None and steps[1].state.status is Status.PENDING
    assert steps[2].decision.action is Action.POST
    assert steps[2].decision.code == CAMPAIGN_CODE  # campaign rule beats the queue rule


def test_pair_without_context_expires_as_missing_context() -> None:
    state, _ = run([ev(ENDED, campaign=None), ev(WRAPPING_UP, campaign=None)])
    assert state is not None
    step = expire(state, T0 + TTL, RULES)
    assert step.decision.reason == "missing_context"
    assert step.decision.report is not None
    assert step.decision.report.outcome is Outcome.EXPIRED


@pytest.mark.parametrize(
    ("source", "label"),
    [("agent", "agent"), ("platform", "platform"), (None, "unknown"), ("supervisor", "other")],
)
def test_wrapped_before_pairing_publishes_skipped(source: str | None, label: str) -> None:
    state, steps = run(
        [ev(ENDED), ev(WRAPPED, source=source, code="wc-x"), ev(WRAPPING_UP), ev(ENDED)]
    )
    expected = f"wrapped_by_{label}"
    decision = steps[1].decision
    assert decision.action is Action.PUBLISH
    assert decision.reason == expected
    assert decision.report is not None
    assert decision.report.outcome is Outcome.SKIPPED
    assert decision.report.reason == expected
    assert decision.report.source == "join"
    assert decision.report.interaction_id == IID
    assert [s.decision.reason for s in steps[2:]] == ["after_final", "after_final"]
    assert all(s.decision.action is Action.NONE for s in steps[2:])
    assert state is not None and state.status is Status.DONE
    assert state.wrapped_by == source


def test_wrapped_as_first_event_publishes_skipped() -> None:
    _, steps = run([ev(WRAPPED, source="agent"), ev(ENDED), ev(WRAPPING_UP)])
    assert steps[0].decision.action is Action.PUBLISH
    assert [s.decision.action for s in steps[1:]] == [Action.NONE, Action.NONE]


@pytest.mark.parametrize(
    ("source", "code"),
    [("agent", "wc-c1"), ("platform", None), ("api", "wc-other"), ("supervisor", "wc-c1")],
)
def test_wrapped_by_someone_else_during_dispatch_cancels(source: str, code: str | None) -> None:
    state = dispatching()
    step = decide(state, ev(WRAPPED, source=source, code=code), T0 + 5, RULES)
    assert step.decision.action is Action.CANCEL
    assert step.decision.reason.startswith("wrapped_by_")
    assert step.state is not None
    assert step.state.status is Status.DISPATCHING
    assert step.state.wrapped_by == source


@pytest.mark.parametrize(
    ("source", "code"), [("api", "wc-c1"), ("api", None), ("wrapup-bridge", "wc-c1"),
                         ("API", "wc-c1")]
)
def test_our_own_echo_does_not_cancel(source: str, code: str | None) -> None:
    state = dispatching()
    step = decide(state, ev(WRAPPED, source=source, code=code), T0 + 5, RULES)
    assert step.decision.action is Action.NONE
    assert step.decision.reason == "duplicate"


def test_record_outcome_makes_state_final_and_first_outcome_wins() -> None:
    state = dispatching()
    applied = DeliveryReport(IID, Outcome.APPLIED, "applied", attempts=1, code_id="wc-c1")
    step = record_outcome(state, applied, T0 + 10, RULES)
    assert step.decision.action is Action.NONE and step.decision.reason == "recorded"
    assert step.state is not None
    assert step.state.status is Status.DONE
    assert step.state.outcome is Outcome.APPLIED
    assert step.state.expires_at == T0 + 10 + RETENTION
    failed = DeliveryReport(IID, Outcome.FAILED, "server_error")
    again = record_outcome(step.state, failed, T0 + 11, RULES)
    assert again.decision.reason == "duplicate_outcome"
    assert again.state == step.state


def test_record_outcome_without_state_remembers_it() -> None:
    report = DeliveryReport(IID, Outcome.APPLIED, "applied", code_id="wc-c1")
    step = record_outcome(None, report, T0, RULES)
    assert step.state is not None
    assert step.state.status is Status.DONE
    assert step.state.code_id == "wc-c1"
    state, steps = run([ev(ENDED), ev(WRAPPING_UP)], step.state, T0 + 1)
    assert [s.decision.reason for s in steps] == ["after_final", "after_final"]
    assert state == step.state


def test_record_outcome_on_pending_state_prevents_a_post() -> None:
    state, _ = run([ev(ENDED)])
    report = DeliveryReport(IID, Outcome.ALREADY_APPLIED, "read_back")
    final = record_outcome(state, report, T0 + 1, RULES).state
    _, steps = run([ev(WRAPPING_UP)], final, T0 + 2)
    assert steps[0].decision.action is Action.NONE


@pytest.mark.parametrize(
    ("first", "missing"), [(ENDED, "missing_wrapping_up"), (WRAPPING_UP, "missing_ended")]
)
def test_pending_expires_after_ttl_counted_by_what_is_missing(
    first: EventType, missing: str
) -> None:
    state, _ = run([ev(first)])
    assert state is not None
    assert state.expires_at == T0 + TTL
    early = expire(state, T0 + TTL - 0.001, RULES)
    assert early.state == state and early.decision.reason == "not_due"
    step = expire(state, T0 + TTL, RULES)
    assert step.decision.action is Action.PUBLISH
    assert step.decision.reason == missing
    report = step.decision.report
    assert report is not None
    assert (report.interaction_id, report.outcome, report.reason) == (
        IID, Outcome.EXPIRED, missing
    )
    assert report.finished_at == T0 + TTL
    assert report.source == "join"
    assert step.state is not None and step.state.status is Status.DONE
    # The partner arriving late is swallowed.
    late = decide(step.state, ev(WRAPPING_UP if first is ENDED else ENDED), T0 + TTL + 1, RULES)
    assert late.decision.action is Action.NONE
    assert late.decision.reason == "after_final"


def test_overdue_pending_state_expires_even_if_no_tick_ran() -> None:
    state, _ = run([ev(ENDED)])
    step = decide(state, ev(WRAPPING_UP), T0 + TTL + 5, RULES)
    assert step.decision.action is Action.PUBLISH
    assert step.decision.reason == "missing_wrapping_up"
    assert step.state is not None and step.state.status is Status.DONE


def test_done_state_is_forgotten_after_retention() -> None:
    state, _ = run([ev(ENDED), ev(WRAPPED, source="agent")])
    assert state is not None and state.status is Status.DONE
    assert expire(state, state.expires_at - 1, RULES).state == state
    step = expire(state, state.expires_at, RULES)
    assert step.state is None
    assert step.decision.action is Action.NONE
    assert step.decision.reason == "forgotten"


def test_unresolved_dispatch_expires_after_deadline_and_retention() -> None:
    state = dispatching()
    assert expire(state, state.expires_at - 1, RULES).decision.reason == "not_due"
    step = expire(state, state.expires_at, RULES)
    assert step.decision.action is Action.PUBLISH
    assert step.decision.reason == "dispatch_unresolved"
    assert step.state is not None and step.state.status is Status.DONE


# --- property: one interaction, any multiset of events in any order ----------------------------

CAMPAIGNS = ["c1", "c2", "c3"]
QUEUES = ["q1", "q2", "q3"]


@dataclass(frozen=True)
class Planned:
    type: EventType
    with_context: bool


@st.composite
def event_plans(draw: st.DrawFn) -> list[Planned]:
    plan = [Planned(ENDED, draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))]
    plan += [Planned(WRAPPING_UP, draw(st.booleans())) for _ in range(draw(st.integers(0, 3)))]
    return list(draw(st.permutations(plan)))


def build(plan: list[Planned], campaign: str, queue: str, start: float) -> list[Event]:
    return [
        ev(
            p.type,
            campaign=campaign if p.with_context else None,
            queue=queue if p.with_context else None,
            at=start + i,
        )
        for i, p in enumerate(plan)
    ]


def pairing_index(plan: list[Planned]) -> int | None:
    """Index of the first event after which both types and the context have been seen."""
    seen: set[EventType] = set()
    context = False
    for i, p in enumerate(plan):
        seen.add(p.type)
        context = context or p.with_context
        if len(seen) == 2 and context:
            return i
    return None


@settings(max_examples=300, deadline=None)
@given(event_plans(), st.sampled_from(CAMPAIGNS), st.sampled_from(QUEUES))
def test_exactly_one_post_iff_paired_and_in_scope(
    plan: list[Planned], campaign: str, queue: str
) -> None:
    expected_code = POLICY.resolve(campaign, queue)
    events = build(plan, campaign, queue, T0)
    state, steps = run(events)
    posts = [i for i, s in enumerate(steps) if s.decision.action is Action.POST]
    paired_at = pairing_index(plan)
    if expected_code is not None and paired_at is not None:
        assert posts == [paired_at]
        assert steps[paired_at].decision.code == expected_code
        assert state is not None and state.status is Status.DISPATCHING
    else:
        assert posts == []
    assert all(s.decision.action in (Action.NONE, Action.POST) for s in steps)

    seen: set[EventType] = set()
    for i, (p, step) in enumerate(zip(plan, steps, strict=True)):
        if expected_code is None and p.with_context:
            # Out of scope and the event says so: nothing is kept.
            assert step.state is None
            assert step.decision.reason == "out_of_scope"
            seen.clear()
            continue
        if step.state is None:
            seen.clear()
            continue
        if p.type in seen and i not in posts:
            assert step.decision.reason == "duplicate"
        seen.add(p.type)

    if not posts:
        return
    # After the final outcome, replaying everything changes nothing.
    assert state is not None
    report = DeliveryReport(IID, Outcome.APPLIED, "applied", attempts=1, code_id=state.code_id)
    final = record_outcome(state, report, T0 + 100, RULES).state
    again, replayed = run(events, final, T0 + 200)
    assert [s.decision.reason for s in replayed] == ["after_final"] * len(events)
    assert all(s.decision.action is Action.NONE for s in replayed)
    assert again is not None and again.status is Status.DONE


# --- property: several interactions interleaved with ticks -----------------------------------


@dataclass(frozen=True)
class PlannedInteraction:
    plan: list[Planned]
    campaign: str
    queue: str
    times: list[float]  # when each planned event arrives (processing time)


Timeline = list[tuple[float, int, Event | None]]


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Timeline, list[PlannedInteraction]]:
    """A timeline of (time, seq, event or None for a tick), and each interaction's plan."""
    timeline: Timeline = []
    interactions = []
    for n in range(draw(st.integers(1, 5))):
        plan = draw(event_plans())
        campaign, queue = draw(st.sampled_from(CAMPAIGNS)), draw(st.sampled_from(QUEUES))
        start = T0 + draw(st.integers(0, 300))
        offsets = draw(
            st.lists(st.integers(0, int(2 * TTL)), min_size=len(plan), max_size=len(plan))
        )
        times = [start + o for o in sorted(offsets)]
        for t, p in zip(times, plan, strict=True):
            context = p.with_context
            event = ev(p.type, iid=f"int-{n}", campaign=campaign if context else None,
                       queue=queue if context else None, at=t)
            timeline.append((t, len(timeline), event))
        interactions.append(PlannedInteraction(plan, campaign, queue, times))
    for t in draw(st.lists(st.integers(0, int(3 * TTL)), max_size=12)):
        timeline.append((T0 + t, len(timeline), None))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return timeline, interactions


@settings(max_examples=200, deadline=None)
@given(scenarios())
def test_posts_equal_interactions_paired_within_their_ttl(
    scenario: tuple[Timeline, list[PlannedInteraction]],
) -> None:
    timeline, interactions = scenario
    table: dict[str, InteractionState] = {}
    posts: dict[str, int] = {}
    for now, _, event in timeline:
        if event is None:
            for key in list(table):
                step = expire(table[key], now, RULES)
                assert step.decision.action in (Action.NONE, Action.PUBLISH)
                if step.state is None:
                    del table[key]
                else:
                    table[key] = step.state
            continue
        step = decide(table.get(event.interaction_id), event, now, RULES)
        if step.state is None:
            table.pop(event.interaction_id, None)
        else:
            table[event.interaction_id] = step.state
        if step.decision.action is Action.POST:
            posts[event.interaction_id] = posts.get(event.interaction_id, 0) + 1

    expected = 0
    for item in interactions:
        index = pairing_index(item.plan)
        if POLICY.resolve(item.campaign, item.queue) is None or index is None:
            continue
        if item.times[index] < item.times[0] + TTL:
            expected += 1
    assert all(count == 1 for count in posts.values()), posts
    assert sum(posts.values()) == expected


# --- property: state serialization -----------------------------------------------------------

texts = st.none() | st.text(st.characters(codec="utf-8"), max_size=20)
floats = st.floats(allow_nan=False, allow_infinity=False)
opt_floats = st.none() | floats


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        InteractionState,
        interaction_id=st.text(st.characters(codec="utf-8"), max_size=20),
        status=st.sampled_from(Status),
        first_seen_at=floats,
        expires_at=floats,
        partition=st.integers(-1, 10_000),
        ended_at=opt_floats,
        wrapping_up_at=opt_floats,
        wrapped_at=opt_floats,
        wrapped_by=texts,
        campaign_id=texts,
        queue_id=texts,
        agent_id=texts,
        acw_deadline=opt_floats,
        code_id=texts,
        code_label=texts,
        paired_at=opt_floats,
        outcome=st.none() | st.sampled_from(Outcome),
        reason=texts,
    )
)
def test_state_round_trips_through_json(state: InteractionState) -> None:
    assert InteractionState.from_dict(orjson.loads(orjson.dumps(state.to_dict()))) == state


def test_state_dict_is_plain_json() -> None:
    state = dispatching()._replace(outcome=Outcome.APPLIED)
    doc = orjson.loads(orjson.dumps(state.to_dict()))
    assert doc["status"] == "dispatching"
    assert doc["outcome"] == "applied"
    assert doc["code_id"] == "wc-c1"
