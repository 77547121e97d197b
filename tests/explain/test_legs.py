"""``wrapup explain`` of an interaction with two agent legs: each leg's events, decisions,
outcome and table state, and one verdict per leg."""

from __future__ import annotations

from dataclasses import dataclass

from streams.events import Event, EventType
from streams.explain.found import Found, LegState, Recorded, Seen
from streams.explain.gather import _on_state
from streams.explain.timeline import build, render, to_json
from streams.join import InteractionState, JoinRules, Status
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy, Rule, WrapupCode
from streams.worker.table import encode_state

SALES = WrapupCode("wc-sales", "Sales")
SUPPORT = WrapupCode("wc-support", "Support")
RULES = JoinRules(Policy((Rule(SALES, queue="q-sales"), Rule(SUPPORT, queue="q-support"))),
                  pending_ttl=60)
T0 = 1_795_600_000.0


def seen(offset: int, kind: EventType, leg: str, queue: str, by: str | None = None) -> Seen:
    at = T0 + offset
    return Seen(offset, at, Event(f"e{offset}", kind, "conv-1", at, queue_id=queue,
                                  wrapped_by=by, leg_id=leg))


def transfer() -> Found:
    """Agent A (sales) wraps with our code; the call moves to agent B (support), who wraps
    before we could."""
    applied = DeliveryReport("conv-1", Outcome.APPLIED, "posted", attempts=1,
                             code_id=SALES.id, first_attempt_at=T0 + 3.1,
                             finished_at=T0 + 3.2, last_status=200, leg_id="a")
    skipped = DeliveryReport("conv-1", Outcome.SKIPPED, "wrapped_by_agent", source="join",
                             finished_at=T0 + 5, leg_id="b")
    done_b = InteractionState("conv-1", Status.DONE, T0, T0 + 999, outcome=Outcome.SKIPPED,
                              reason="wrapped_by_agent", leg_id="b")
    return Found("conv-1", "events", 1, T0 - 60, None, window_records=6, events=[
        seen(1, EventType.ENDED, "a", "q-sales"),
        seen(2, EventType.ENDED, "b", "q-support"),
        seen(3, EventType.WRAPPING_UP, "a", "q-sales"),
        seen(5, EventType.WRAPPED, "b", "q-support", by="agent"),
        seen(6, EventType.WRAPPING_UP, "b", "q-support"),
    ], outcomes=[Recorded(T0 + 3.3, applied), Recorded(T0 + 5.1, skipped)],
        leg_states={"b": LegState(T0 + 5, done_b)})


def test_each_leg_has_its_own_decisions_outcome_and_verdict() -> None:
    tl = build(transfer(), RULES, T0 + 10)
    legs = [(e.data.get("leg"), e.kind, e.data.get("reason")) for e in tl.entries]
    assert legs == [("a", "event", "waiting"), ("b", "event", "waiting"),
                    ("a", "event", "paired"), ("a", "api", None), ("a", "outcome", "posted"),
                    ("b", "event", "wrapped_by_agent"), ("b", "outcome", "wrapped_by_agent"),
                    ("b", "event", "after_final"), ("b", "state", None)]
    assert "leg a: wrapping-up (queue q-sales) -> post: both events in; rule queue " \
           "q-sales -> wc-sales" in tl.entries[2].text
    assert tl.final == ("leg a: applied: posted; leg b: skipped: the agent wrapped it up "
                        "first: not posted")
    assert tl.header.endswith("5 record(s), 2 legs")
    doc = to_json(tl)
    assert doc["final"]["legs"]["a"]["outcome"] == "applied"
    assert doc["final"]["legs"]["b"]["outcome"] == "skipped"
    assert "  leg b: table state: done, skipped (wrapped_by_agent)" in render(tl)


def test_a_leg_without_an_outcome_yet_says_so_alone() -> None:
    f = transfer()
    f.outcomes = f.outcomes[:1]
    f.leg_states = {}
    tl = build(f, RULES, T0 + 10)
    assert tl.final.startswith("leg a: applied: posted; leg b: ")
    assert "leg b: skipped" not in tl.final  # b's verdict comes from its own records only


@dataclass
class Rec:
    key: bytes
    value: bytes | None
    timestamp: int


def test_changelog_records_are_filed_by_leg() -> None:
    f = Found("conv-1", "events", 1, T0, None)
    state = InteractionState("conv-1", Status.DISPATCHING, T0, T0 + 9, leg_id="a",
                             code_id=SALES.id)
    _on_state(f, Rec(b"conv-1/a", encode_state(state), round(T0 * 1000)))
    _on_state(f, Rec(b"conv-1/b", None, round(T0 * 1000)))
    assert f.state is None and not f.state_deleted  # nothing under the bare interaction ID
    assert f.leg_states["a"] == LegState(T0, state)
    assert f.leg_states["b"] == LegState(T0, None)
    assert f.legs() == ["a", "b"]
    assert f.for_leg("b").state_deleted and f.for_leg("a").state == state
