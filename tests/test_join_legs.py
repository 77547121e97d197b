"""The join per agent leg: any interleaving of several legs' events, one POST per eligible leg."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.events import Event, EventType, leg_key, split_leg_key
from streams.join import Action, InteractionState, JoinRules, Status, decide, record_outcome
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy, Rule, WrapupCode

Q1_CODE = WrapupCode("wc-q1", "Queue q1")
Q2_CODE = WrapupCode("wc-q2", "Queue q2")
POLICY = Policy((Rule(Q1_CODE, queue="q1"), Rule(Q2_CODE, queue="q2")))
QUEUES = ["q1", "q2", "q9"]  # q9: no rule, out of scope
RULES = JoinRules(POLICY, pending_ttl=600.0, retention=10_000.0, default_acw=120.0)
T0 = 1_700_000_000.0
IID = "conv-1"
ENDED, WRAPPING_UP, WRAPPED = EventType.ENDED, EventType.WRAPPING_UP, EventType.WRAPPED


def leg_event(type_: EventType, leg: str | None, queue: str | None, at: float, *,
              by: str | None = None, code: str | None = None,
              communication: str | None = None) -> Event:
    return Event(f"{IID}:{leg}:{type_.value}:{at}", type_, IID, at, agent_id=f"a-{leg}",
                 queue_id=queue, wrapup_code_id=code, wrapped_by=by, leg_id=leg,
                 communication_id=communication, media_type="calls" if communication else None)


@dataclass(frozen=True)
class PlannedLeg:
    leg_id: str
    queue: str
    types: tuple[EventType, ...]  # this leg's events (duplicates included), any order
    communications: tuple[str | None, ...]  # per event: the communication ID it carries


@st.composite
def legs_and_order(draw: st.DrawFn) -> tuple[list[PlannedLeg], list[tuple[int, int]]]:
    """Two or three legs' events, and one interleaving: (leg index, event index) pairs."""
    legs = []
    for n in range(draw(st.integers(2, 3))):
        types = [ENDED] * draw(st.integers(1, 2)) + [WRAPPING_UP] * draw(st.integers(1, 2))
        if draw(st.booleans()):
            types.append(WRAPPED)  # the agent wraps this leg (before or after our pair)
        comms = tuple(draw(st.none() | st.just(f"comm-{n}")) for _ in types)
        legs.append(PlannedLeg(f"p-{n}", draw(st.sampled_from(QUEUES)), tuple(types), comms))
    slots = [(i, j) for i, leg in enumerate(legs) for j in range(len(leg.types))]
    return legs, list(draw(st.permutations(slots)))


def events_in(legs: list[PlannedLeg], order: list[tuple[int, int]]) -> list[Event]:
    out = []
    for k, (i, j) in enumerate(order):
        leg = legs[i]
        by = "agent" if leg.types[j] is WRAPPED else None
        out.append(leg_event(leg.types[j], leg.leg_id, leg.queue, T0 + k, by=by,
                             code="wc-agent" if by else None,
                             communication=leg.communications[j]))
    return out


def fold(events: list[Event], table: dict[str, InteractionState], start: float
         ) -> list[tuple[str, Action]]:
    """``decide`` over a dict keyed by ``event.key`` (the worker's table); the actions."""
    actions = []
    for k, event in enumerate(events):
        step = decide(table.get(event.key), event, start + k, RULES)
        if step.state is None:
            table.pop(event.key, None)
        else:
            table[event.key] = step.state
        actions.append((event.key, step.decision.action))
    return actions


def expected_posts(legs: list[PlannedLeg], order: list[tuple[int, int]]) -> set[str]:
    """Legs in scope whose pair completes before the agent wraps them."""
    eligible = set()
    for i, leg in enumerate(legs):
        if POLICY.resolve(None, leg.queue) is None:
            continue
        seen: set[EventType] = set()
        for li, j in order:
            if li != i:
                continue
            if leg.types[j] is WRAPPED:
                break
            seen.add(leg.types[j])
            if seen == {ENDED, WRAPPING_UP}:
                eligible.add(leg_key(IID, leg.leg_id))
                break
    return eligible


def first_communication(leg: PlannedLeg, arrivals: list[int]) -> str | None:
    """The first communication ID the leg's events bring before its state is final (a
    wrap by the agent before the pair is; nothing merges after that)."""
    seen: set[EventType] = set()
    for j in arrivals:
        if leg.communications[j] is not None:
            return leg.communications[j]
        if leg.types[j] is WRAPPED and seen != {ENDED, WRAPPING_UP}:
            return None
        seen.add(leg.types[j])
    return None


@settings(max_examples=400, deadline=None)
@given(legs_and_order())
def test_any_interleaving_of_legs_posts_once_per_eligible_leg(
    scenario: tuple[list[PlannedLeg], list[tuple[int, int]]],
) -> None:
    legs, order = scenario
    events = events_in(legs, order)
    table: dict[str, InteractionState] = {}
    actions = fold(events, table, T0)
    posts = [key for key, action in actions if action is Action.POST]
    assert sorted(posts) == sorted(expected_posts(legs, order))  # once each, none for others
    for i, leg in enumerate(legs):
        key = leg_key(IID, leg.leg_id)
        code = POLICY.resolve(None, leg.queue)
        state = table.get(key)
        if code is None:
            assert state is None  # out of scope by its own queue: nothing kept
            continue
        assert state is not None and state.leg_id == leg.leg_id and state.queue_id == leg.queue
        assert state.key == key and split_leg_key(key) == (IID, leg.leg_id)
        if key in posts:
            assert state.code == code  # the leg's own queue's code
        comm = first_communication(leg, [j for li, j in order if li == i])
        assert state.communication_id == comm
        assert state.media_type == ("calls" if comm else None)

    # The same events again (at-least-once delivery): still no second POST.
    again = fold(events, dict(table), T0 + 50)
    assert [a for _, a in again if a is Action.POST] == []

    # With every dispatched leg's outcome recorded, replaying everything posts nothing.
    for key, state in list(table.items()):
        if state.status is Status.DISPATCHING:
            iid, leg_id = split_leg_key(key)
            report = DeliveryReport(iid, Outcome.APPLIED, "applied", attempts=1,
                                    code_id=state.code_id, leg_id=leg_id)
            assert report.key == key
            done = record_outcome(table.get(report.key), report, T0 + 100, RULES).state
            assert done is not None and done.status is Status.DONE and done.leg_id == leg_id
            table[key] = done
    replayed = fold(events, table, T0 + 200)
    assert all(a is Action.NONE for _, a in replayed)


def test_a_single_leg_interaction_is_keyed_by_its_id_as_before() -> None:
    event = leg_event(ENDED, None, "q1", T0)
    assert event.key == IID
    step = decide(None, event, T0, RULES)
    assert step.state is not None and step.state.key == IID and step.state.leg_id is None


def test_a_later_event_fills_the_legs_communication_and_media() -> None:
    state = decide(None, leg_event(ENDED, "p-1", "q1", T0), T0, RULES).state
    assert state is not None and state.communication_id is None
    state = decide(state, leg_event(WRAPPING_UP, "p-1", "q1", T0 + 1, communication="c-1"),
                   T0 + 1, RULES).state
    assert state is not None
    assert (state.communication_id, state.media_type) == ("c-1", "calls")
    kept = decide(state, leg_event(ENDED, "p-1", "q1", T0 + 2, communication="c-2"),
                  T0 + 2, RULES).state
    assert kept is not None and kept.communication_id == "c-1"  # the first one wins


def dispatching(leg: str = "p-1") -> InteractionState:
    state = decide(None, leg_event(ENDED, leg, "q1", T0), T0, RULES).state
    step = decide(state, leg_event(WRAPPING_UP, leg, "q1", T0 + 1), T0 + 1, RULES)
    assert step.decision.action is Action.POST and step.state is not None
    return step.state


def test_an_unattributed_wrap_with_our_code_is_our_echo() -> None:
    for by in (None, "unknown", "UNKNOWN"):
        step = decide(dispatching(), leg_event(WRAPPED, "p-1", "q1", T0 + 2, by=by,
                                               code=Q1_CODE.id), T0 + 2, RULES)
        assert step.decision.action is Action.NONE and step.decision.reason == "duplicate"


def test_an_unattributed_wrap_with_another_or_no_code_cancels() -> None:
    for code in ("wc-other", None):
        step = decide(dispatching(), leg_event(WRAPPED, "p-1", "q1", T0 + 2, code=code),
                      T0 + 2, RULES)
        assert step.decision.action is Action.CANCEL
        assert step.decision.reason == "wrapped_by_unknown"


def test_the_agent_wrapping_one_leg_leaves_the_other_to_post() -> None:
    table: dict[str, InteractionState] = {}
    actions = fold([leg_event(ENDED, "a", "q1", T0), leg_event(ENDED, "b", "q2", T0),
                    leg_event(WRAPPED, "a", "q1", T0, by="agent", code="wc-x"),
                    leg_event(WRAPPING_UP, "a", "q1", T0), leg_event(WRAPPING_UP, "b", "q2", T0)],
                   table, T0)
    assert [a for _, a in actions] == [Action.NONE, Action.NONE, Action.PUBLISH, Action.NONE,
                                       Action.POST]
    assert table[f"{IID}/b"].code == Q2_CODE
    assert table[f"{IID}/a"].outcome is Outcome.SKIPPED


def test_a_published_skip_names_its_leg() -> None:
    state = decide(None, leg_event(ENDED, "p-2", "q1", T0), T0, RULES).state
    step = decide(state, leg_event(WRAPPED, "p-2", "q1", T0 + 1, by="agent"), T0 + 1, RULES)
    assert step.decision.report is not None
    assert step.decision.report.leg_id == "p-2" and step.decision.report.key == f"{IID}/p-2"
