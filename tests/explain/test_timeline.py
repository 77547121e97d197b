"""The timeline, pure: decisions re-run with the current policy, verdicts, rendering."""

from __future__ import annotations

from streams.events import Event, EventType
from streams.explain.found import DeadLetter, Found, Recorded, Seen
from streams.explain.timeline import build, render, to_json
from streams.join import JoinRules
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import Policy

POLICY = Policy.from_json(b'{"rules": [{"campaign": "c-1", "code": {"id": "wc-1", '
                          b'"label": "One"}}, {"campaign": "c-1", "queue": "q-1", '
                          b'"code": {"id": "wc-11", "label": "One-one"}}]}')
RULES = JoinRules(POLICY, pending_ttl=60)
T0 = 1_795_600_000.0


def seen(offset: int, kind: EventType, at: float, campaign: str | None = "c-1",
         queue: str | None = "q-1", by: str | None = None) -> Seen:
    return Seen(offset, at, Event(f"e{offset}", kind, "i-1", at, queue_id=queue,
                                  campaign_id=campaign, wrapped_by=by))


def found(*events: Seen, **more: object) -> Found:
    f = Found("i-1", "events", 2, T0 - 3600, None, window_records=10, events=list(events))
    for name, value in more.items():
        setattr(f, name, value)
    return f


def test_a_pair_shows_the_most_specific_rule_the_call_and_the_outcome() -> None:
    report = DeliveryReport("i-1", Outcome.APPLIED, "posted", attempts=2, code_id="wc-11",
                            decided_at=T0 + 1, first_attempt_at=T0 + 1.1,
                            finished_at=T0 + 1.5, last_status=200)
    tl = build(found(seen(5, EventType.ENDED, T0), seen(7, EventType.WRAPPING_UP, T0 + 1),
                     outcomes=[Recorded(T0 + 1.6, report)]), RULES, T0 + 10)
    kinds = [e.kind for e in tl.entries]
    assert kinds == ["event", "event", "api", "outcome"]
    assert "rule campaign c-1 + queue q-1 -> wc-11 ('One-one')" in tl.entries[1].text
    assert tl.entries[2].text == "POST wrap-up wc-11: 2 attempt(s), last answer 200"
    assert tl.final == "applied: posted"
    text = render(tl)
    assert text.splitlines()[0].startswith("interaction i-1: events partition 2, window ")
    assert "  2026-11-25T09:46:41.100Z  api         POST wrap-up wc-11" in text
    assert text.endswith("final: applied: posted")
    doc = to_json(tl)
    assert doc["final"] == {"text": "applied: posted", "outcome": "applied",
                            "reason": "posted", "code": "wc-11"}
    assert doc["timeline"][1]["action"] == "post" and doc["timeline"][1]["code"] == "wc-11"


def test_out_of_scope_names_what_no_rule_matched() -> None:
    tl = build(found(seen(1, EventType.ENDED, T0, campaign="c-9", queue="q-9")), RULES, T0)
    assert "no rule for campaign c-9 / queue q-9" in tl.entries[0].text
    assert tl.final_data["outcome"] == "out_of_scope"


def test_a_lone_event_past_its_ttl_is_shown_expiring_with_what_was_missing() -> None:
    tl = build(found(seen(1, EventType.ENDED, T0)), RULES, T0 + 61)
    assert [e.kind for e in tl.entries] == ["event", "decision"]
    assert tl.entries[1].text == "publish: the wrapping-up event never arrived"
    assert tl.entries[1].at == T0 + 60
    pending = build(found(seen(1, EventType.ENDED, T0)), RULES, T0 + 5)
    assert pending.final_data["reason"] == "pending"


def test_a_wrap_by_the_agent_is_a_skip() -> None:
    tl = build(found(seen(1, EventType.ENDED, T0), seen(2, EventType.WRAPPED, T0 + 1, by="agent")),
               RULES, T0 + 2)
    assert tl.entries[1].data["reason"] == "wrapped_by_agent"


def test_a_rejected_record_and_its_dead_letter_make_a_dead_lettered_verdict() -> None:
    bad = Seen(3, T0, None, "not_json: invalid JSON")
    tl = build(found(bad, dead_letters=[DeadLetter(T0 + 0.2, "event", "not_json", "t/2",
                                                  "invalid JSON")]), RULES, T0 + 1)
    assert [e.kind for e in tl.entries] == ["rejected", "dead-letter"]
    assert tl.final == "dead-lettered: its event was rejected (not_json)"


def test_a_code_decided_under_an_earlier_policy_is_pointed_out() -> None:
    from streams.join import InteractionState, Status

    state = InteractionState("i-1", Status.DONE, T0, T0 + 99, code_id="wc-old")
    tl = build(found(seen(1, EventType.ENDED, T0), seen(2, EventType.WRAPPING_UP, T0 + 1),
                     state=state, state_at=T0 + 2), RULES, T0 + 3)
    assert tl.entries[-1].kind == "note"
    assert tl.entries[-1].text == ("decided with code wc-old under an earlier policy; the "
                                   "current policy gives wc-11")
    same = build(found(seen(1, EventType.ENDED, T0), seen(2, EventType.WRAPPING_UP, T0 + 1),
                       state=state._replace(code_id="wc-11"), state_at=T0 + 2), RULES, T0 + 3)
    assert all(e.kind != "note" for e in same.entries)
