"""The timeline of one interaction: what arrived, what the join decides, what happened.

Pure: :func:`build` re-runs the join's :func:`~streams.join.decide` over the events
found, in offset order (each at its record time, the nearest thing to when the worker
read it), with the current policy; :func:`render` prints it for a person and
:func:`to_json` for a script. An interaction with named agent legs is shown leg by leg
(each leg's events, decisions, outcomes and state, prefixed ``leg <id>:``), with one
verdict per leg.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.explain.found import DeadLetter, Found, Seen
from streams.join import Action, InteractionState, JoinRules, Status, decide, expire
from streams.replay.timespec import format_time

# What a reason label means, for a person (labels not listed are shown as they are).
REASONS = {
    "waiting": "waiting for the partner event",
    "waiting_context": "paired, but campaign/queue not known well enough to pick a rule",
    "duplicate": "a duplicate: nothing to do",
    "after_final": "after the final outcome: ignored",
    "out_of_scope": "no policy rule can match: out of scope, nothing kept",
    "wrapped_by_agent": "the agent wrapped it up first: not posted",
    "wrapped_by_platform": "the platform wrapped it up first: not posted",
    "wrapped_by_other": "wrapped up by someone else first: not posted",
    "wrapped_by_unknown": "wrapped up (by whom unknown) first: not posted",
    "missing_ended": "the ended event never arrived",
    "missing_wrapping_up": "the wrapping-up event never arrived",
    "missing_context": "paired, but no rule could be chosen",
    "dispatch_unresolved": "its delivery never reported an outcome",
}


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of the timeline."""

    at: float | None
    kind: str  # event, rejected, decision, api, outcome, dead-letter, state, note
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Timeline:
    """The entries in time order and the one-line verdict."""

    interaction_id: str
    header: str
    entries: tuple[Entry, ...]
    final: str
    final_data: dict[str, Any]


def _why(reason: str) -> str:
    return REASONS.get(reason, reason)


def _rule_text(rules: JoinRules, campaign: str | None, queue: str | None) -> str:
    rule = rules.policy.rule_for(campaign, queue)
    if rule is None:
        return f"no rule for campaign {campaign} / queue {queue}"
    names = [f"{k} {v}" for k, v in (("campaign", rule.campaign), ("queue", rule.queue)) if v]
    return f"rule {' + '.join(names)} -> {rule.code.id} ({rule.code.label!r})"


def build(found: Found, rules: JoinRules, now: float) -> Timeline:
    """The timeline of ``found`` under ``rules`` (the policy live now) at time ``now``."""
    legs = found.legs()
    if all(leg is None for leg in legs):
        return _build_one(found, rules, now)
    entries = [_rejected(seen) for seen in found.events if seen.event is None]
    entries += [_dead_letter(dl) for dl in found.dead_letters]
    tail: list[Entry] = []  # table states and notes: after the timed entries, by leg
    finals: list[str] = []
    finals_data: dict[str, Any] = {}
    for leg in legs:
        name = leg if leg is not None else "-"
        one = _build_one(found.for_leg(leg), rules, now)
        for e in one.entries:
            entry = Entry(e.at, e.kind, f"leg {name}: {e.text}", {**e.data, "leg": leg})
            (tail if e.kind in ("state", "note") else entries).append(entry)
        finals.append(f"leg {name}: {one.final}")
        finals_data[name] = one.final_data
    entries.sort(key=lambda x: (x.at is None, x.at or 0.0))
    header = _header(found) + f", {len(legs)} legs"
    return Timeline(found.interaction_id, header, tuple(entries + tail), "; ".join(finals),
                    {"legs": finals_data})


def _header(found: Found) -> str:
    window = f"{format_time(found.since)} .. " + (format_time(found.until) if found.until
                                                  else "end")
    return (f"interaction {found.interaction_id}: {found.events_topic} partition "
            f"{found.partition}, window {window}, {len(found.events)} record(s)")


def _rejected(seen: Seen) -> Entry:
    return Entry(seen.at, "rejected", f"record rejected: {seen.rejected}",
                 {"offset": seen.offset, "reason": seen.rejected})


def _dead_letter(dl: DeadLetter) -> Entry:
    detail = f" ({dl.detail})" if dl.detail else ""
    return Entry(dl.at, "dead-letter", f"{dl.kind} dead letter: {dl.reason}{detail}",
                 {"letter": dl.kind, "reason": dl.reason, "source": dl.source,
                  "detail": dl.detail})


def _build_one(found: Found, rules: JoinRules, now: float) -> Timeline:
    """The timeline of one leg (or of an interaction that has only one)."""
    entries: list[Entry] = []
    state: InteractionState | None = None
    for seen in sorted(found.events, key=lambda s: s.offset):
        if seen.event is None:
            entries.append(_rejected(seen))
            continue
        e = seen.event
        step = decide(state, e, seen.at, rules)
        state, d = step.state, step.decision
        text = f"{d.action.value}: {_why(d.reason)}"
        if d.action is Action.POST and state is not None:
            text = f"post: both events in; {_rule_text(rules, state.campaign_id, state.queue_id)}"
        elif d.reason == "out_of_scope":
            text += f" ({_rule_text(rules, e.campaign_id, e.queue_id)})"
        context = ", ".join(f"{k} {v}" for k, v in (("campaign", e.campaign_id),
                                                     ("queue", e.queue_id),
                                                     ("by", e.wrapped_by)) if v)
        entries.append(Entry(seen.at, "event",
                             f"{e.type.value} ({context or 'no context'}) -> {text}",
                             {"offset": seen.offset, "type": e.type.value,
                              "occurred_at": e.occurred_at, "campaign": e.campaign_id,
                              "queue": e.queue_id, "wrapped_by": e.wrapped_by,
                              "action": d.action.value, "reason": d.reason,
                              "code": d.code.id if d.code else None}))
    if state is not None and state.status is Status.PENDING and now >= state.expires_at:
        d = expire(state, now, rules).decision
        entries.append(Entry(state.expires_at, "decision", f"{d.action.value}: {_why(d.reason)}",
                             {"action": d.action.value, "reason": d.reason}))
    for rec in found.outcomes:
        r = rec.report
        if r.attempts or r.first_attempt_at is not None:
            entries.append(Entry(
                r.first_attempt_at or rec.at, "api",
                f"POST wrap-up {r.code_id}: {r.attempts} attempt(s), last answer "
                f"{r.last_status if r.last_status is not None else 'none'}",
                {"attempts": r.attempts, "last_status": r.last_status, "code": r.code_id}))
        entries.append(Entry(r.finished_at or rec.at, "outcome",
                             f"{r.outcome.value}: {_why(r.reason)} (by the {r.source})",
                             {"outcome": r.outcome.value, "reason": r.reason,
                              "source": r.source, "code": r.code_id,
                              "decided_at": r.decided_at, "finished_at": r.finished_at}))
    entries += [_dead_letter(dl) for dl in found.dead_letters]
    entries.sort(key=lambda x: (x.at is None, x.at or 0.0))
    if found.state is not None:
        s = found.state
        entries.append(Entry(found.state_at, "state",
                             f"table state: {s.status.value}"
                             + (f", {s.outcome.value} ({s.reason})" if s.outcome else "")
                             + (f", code {s.code_id}" if s.code_id else "")
                             + f", kept until {format_time(s.expires_at)}",
                             {"state": s.to_dict()}))
    elif found.state_deleted:
        entries.append(Entry(found.state_at, "state", "table state: forgotten (retention over)"))
    note = _policy_note(found, state)
    if note is not None:
        entries.append(Entry(None, "note", note))
    final, final_data = _verdict(found, state)
    return Timeline(found.interaction_id, _header(found), tuple(entries), final, final_data)


def _policy_note(found: Found, folded: InteractionState | None) -> str | None:
    """When the recorded code differs from the re-run's: the policy changed since."""
    recorded = (found.state.code_id if found.state is not None else None) or next(
        (r.report.code_id for r in reversed(found.outcomes) if r.report.code_id), None)
    rerun = folded.code_id if folded is not None else None
    if recorded is None or recorded == rerun or not found.events:
        return None
    return (f"decided with code {recorded} under an earlier policy; the current policy "
            f"gives {rerun or 'no code'}")


def _verdict(found: Found, folded: InteractionState | None) -> tuple[str, dict[str, Any]]:
    if found.outcomes:
        r = found.outcomes[-1].report
        return (f"{r.outcome.value}: {_why(r.reason)}",
                {"outcome": r.outcome.value, "reason": r.reason, "code": r.code_id})
    kinds = {dl.kind for dl in found.dead_letters}
    if not any(s.event for s in found.events) and (found.events or "event" in kinds):
        reason = found.dead_letters[0].reason if found.dead_letters else "rejected"
        return (f"dead-lettered: its event was rejected ({reason})",
                {"outcome": "dead_lettered", "reason": reason, "code": None})
    events = [s.event for s in found.events if s.event is not None]
    if events and folded is None:
        return ("out of scope: no rule of the current policy matches",
                {"outcome": "out_of_scope", "reason": "out_of_scope", "code": None})
    state = found.state or folded
    if state is not None and state.status is Status.PENDING:
        return ("no outcome yet: pending, " + _why("waiting"),
                {"outcome": None, "reason": "pending", "code": None})
    if state is not None and state.status is Status.DISPATCHING:
        return (f"no outcome yet: delivery of {state.code_id} outstanding",
                {"outcome": None, "reason": "dispatching", "code": state.code_id})
    return ("no outcome recorded", {"outcome": None, "reason": None, "code": None})


def render(timeline: Timeline) -> str:
    """The timeline for a person: one line per entry, then the verdict."""
    lines = [timeline.header]
    for e in timeline.entries:
        when = format_time(e.at) if e.at is not None else " " * 24
        lines.append(f"  {when}  {e.kind:<11} {e.text}")
    lines.append(f"final: {timeline.final}")
    return "\n".join(lines)


def to_json(timeline: Timeline) -> dict[str, Any]:
    """The timeline as one JSON-ready object."""
    return {
        "interaction_id": timeline.interaction_id,
        "summary": timeline.header,
        "timeline": [{"at": e.at, "time": format_time(e.at) if e.at is not None else None,
                      "kind": e.kind, "text": e.text, **e.data} for e in timeline.entries],
        "final": {"text": timeline.final, **timeline.final_data},
    }
