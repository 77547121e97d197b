"""The replay plan: the join core folded over scanned records, window and look-back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.join import JoinRules
from streams.policy import Policy, Rule, WrapupCode
from streams.replay.plan import Plan, Planner

RENEWAL = WrapupCode("wc-renewal", "Renewal - auto")
RULES = JoinRules(policy=Policy((Rule(RENEWAL, campaign="c-renewals"),)), pending_ttl=600.0,
                  default_acw=120.0)
T0 = 1_790_000_000.0


@dataclass(frozen=True)
class Rec:
    """A scanned record (the fields aiokafka's ConsumerRecord has that the plan reads)."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def ev(kind: str, iid: str, at: float, *, campaign: str = "c-renewals", **data: object) -> bytes:
    body: dict[str, object] = {"id": iid, "campaignId": campaign, "queueId": "q-sales", **data}
    return orjson.dumps({"id": f"{iid}:{kind}:{at}", "type": f"interaction:{kind}",
                         "timestamp": round(at * 1000), "data": body})


def records(*items: tuple[str, str, float] | tuple[str, str, float, dict[str, object]],
            start: int = 0) -> list[Rec]:
    """(kind, iid, seconds after T0[, data]) -> records at offsets start, start+1, ..."""
    out = []
    for i, item in enumerate(items):
        kind, iid, dt = item[0], item[1], item[2]
        data: dict[str, object] = dict(item[3]) if len(item) > 3 else {}
        campaign = str(data.pop("campaign", "c-renewals"))
        at = T0 + dt
        out.append(Rec(start + i, round(at * 1000), iid.encode(),
                       ev(kind, iid, at, campaign=campaign, **data)))
    return out


def plan_of(recs: Sequence[Rec], mark: int = 0, partition: int = 0) -> Plan:
    planner = Planner(RULES, {partition: mark})
    planner.feed(partition, recs)
    return planner.result()


def ids(plan: Plan) -> list[str]:
    return [c.interaction_id for c in plan.candidates]


def test_a_pair_in_the_window_is_a_candidate_with_the_join_s_code_and_deadline() -> None:
    plan = plan_of(records(("ended", "a", 0), ("wrapping-up", "a", 1.5)), partition=3)
    [c] = plan.candidates
    assert (c.interaction_id, c.partition, c.code, c.skip_reason) == ("a", 3, RENEWAL, None)
    assert c.paired_at == T0 + 1.5
    assert c.deadline == T0 + 1.5 + RULES.default_acw  # no acwDeadline: wrapping-up + default
    assert plan.events_scanned == plan.events_in_window == 2


def test_the_first_event_may_be_in_the_look_back_the_second_must_be_in_the_window() -> None:
    recs = records(
        ("ended", "straddles", 0),          # offset 0: look-back
        ("ended", "before", 1),             # 1: look-back
        ("wrapping-up", "before", 2),       # 2: look-back: paired before the window
        ("wrapping-up", "straddles", 10),   # 3: window
        ("wrapping-up", "before", 11),      # 4: window: a duplicate, not a new pair
    )
    plan = plan_of(recs, mark=3)
    assert ids(plan) == ["straddles"]
    assert plan.pairs_before_window == 1
    assert plan.events_scanned == 5 and plan.events_in_window == 2
    assert plan.decisions["duplicate"] == 1


def test_the_pending_ttl_is_measured_in_record_time() -> None:
    late = RULES.pending_ttl + 1
    plan = plan_of(records(("ended", "slow", 0), ("wrapping-up", "slow", late),
                           ("ended", "ok", 0), ("wrapping-up", "ok", RULES.pending_ttl - 1)))
    assert ids(plan) == ["ok"]
    assert plan.decisions["missing_wrapping_up"] == 1  # expired when its partner came


def test_wrapped_by_someone_else_after_pairing_marks_the_candidate_skipped() -> None:
    plan = plan_of(records(
        ("ended", "agent", 0), ("wrapping-up", "agent", 1),
        ("wrapped", "agent", 5, {"source": "agent", "wrapupCode": {"id": "wc-sale"}}),
        ("ended", "ours", 0), ("wrapping-up", "ours", 1),
        ("wrapped", "ours", 2, {"source": "api", "wrapupCode": {"id": "wc-renewal"}}),
    ))
    assert {c.interaction_id: c.skip_reason for c in plan.candidates} == {
        "agent": "wrapped_by_agent", "ours": None}  # our own echo cancels nothing


def test_wrapped_before_the_pair_completes_is_never_a_candidate() -> None:
    plan = plan_of(records(
        ("wrapping-up", "w", 0),
        ("wrapped", "w", 1, {"source": "platform", "wrapupCode": {"id": "wc-acw-timeout"}}),
        ("ended", "w", 2),
    ))
    assert ids(plan) == []
    assert plan.decisions["wrapped_by_platform"] == 1
    assert plan.decisions["after_final"] == 1


def test_records_the_worker_rejects_are_counted_and_not_joined() -> None:
    recs = [
        Rec(0, round(T0 * 1000), b"x", b"not json"),
        Rec(1, round(T0 * 1000), b"other-key", ev("ended", "k", T0)),
        Rec(2, round(T0 * 1000), b"k", ev("wrapping-up", "k", T0)),
        Rec(3, round(T0 * 1000), b"c", orjson.dumps({
            "type": "interaction:connected", "timestamp": 1, "data": {"id": "c"}})),
        Rec(4, round(T0 * 1000), None, ev("ended", "unkeyed", T0)),
        Rec(5, round(T0 * 1000), None, ev("wrapping-up", "unkeyed", T0)),
    ]
    plan = plan_of(recs)
    assert ids(plan) == ["unkeyed"]  # a null key is not a mismatch (as in the worker)
    assert plan.rejected == {"not_json": 1, "key_mismatch": 1, "ignored": 1}
    assert plan.unpaired == {"missing_ended": 1}


def test_unkeyed_topics_join_across_partitions() -> None:
    planner = Planner(RULES, {0: 0, 1: 0}, keyed=False)
    planner.feed(0, [Rec(0, round(T0 * 1000), b"random", ev("ended", "u", T0))])
    planner.feed(1, [Rec(0, round(T0 * 1000) + 5, b"other", ev("wrapping-up", "u", T0))])
    [c] = planner.result().candidates
    assert (c.interaction_id, c.partition) == ("u", 1)


def test_out_of_scope_and_unpaired_interactions_are_reported_not_posted() -> None:
    plan = plan_of(records(
        ("ended", "oos", 0, {"campaign": "c-other"}),
        ("wrapping-up", "oos", 1, {"campaign": "c-other"}),
        ("ended", "half", 0),
        ("wrapping-up", "other-half", 0),
    ))
    assert ids(plan) == []
    assert plan.decisions["out_of_scope"] == 2
    assert plan.unpaired == {"missing_wrapping_up": 1, "missing_ended": 1}


# ------------------------------------------------------------------ properties

@st.composite
def streams_(draw: st.DrawFn) -> tuple[list[Rec], int, dict[str, bool]]:
    """Ended/wrapping-up events (some duplicated, some missing) of a few interactions,
    interleaved; each interaction's own order is arbitrary. Returns records, window mark
    and which interactions are in scope."""
    n = draw(st.integers(1, 8))
    scope = {f"i{k}": draw(st.booleans()) for k in range(n)}
    per: list[list[str]] = []
    for iid in scope:
        kinds = draw(st.lists(st.sampled_from(["ended", "wrapping-up"]), max_size=4))
        per.append([f"{k}|{iid}" for k in kinds])
    merged: list[str] = []
    while any(per):
        lane = draw(st.sampled_from([p for p in per if p]))
        merged.append(lane.pop(0))
    mark = draw(st.integers(0, len(merged)))
    recs = []
    for offset, item in enumerate(merged):
        kind, iid = item.split("|")
        campaign = "c-renewals" if scope[iid] else "c-other"
        at = T0 + offset
        recs.append(Rec(offset, round(at * 1000), iid.encode(),
                        ev(kind, iid, at, campaign=campaign)))
    return recs, mark, scope


@settings(max_examples=150, deadline=None)
@given(streams_())
def test_candidates_are_exactly_the_in_scope_pairs_completed_in_the_window(
    case: tuple[list[Rec], int, dict[str, bool]],
) -> None:
    recs, mark, scope = case
    expected = []
    seen: dict[str, set[str]] = {}
    for r in recs:
        doc = orjson.loads(r.value or b"")
        iid, kind = doc["data"]["id"], doc["type"].split(":")[1]
        before = seen.setdefault(iid, set())
        if len(before) < 2:
            before.add(kind)
            if len(before) == 2 and scope[iid] and r.offset >= mark:
                expected.append(iid)
    assert ids(plan_of(recs, mark=mark)) == expected


@settings(max_examples=60, deadline=None)
@given(streams_(), st.lists(st.integers(1, 5), min_size=1, max_size=10))
def test_batch_boundaries_do_not_change_the_plan(
    case: tuple[list[Rec], int, dict[str, bool]], sizes: list[int],
) -> None:
    recs, mark, _scope = case
    whole = plan_of(recs, mark=mark)
    planner = Planner(RULES, {0: mark})
    i = 0
    for size in sizes * (len(recs) // len(sizes) + 1):
        if i >= len(recs):
            break
        planner.feed(0, recs[i:i + size])
        i += size
    split = planner.result()
    assert split.candidates == whole.candidates
    assert split.decisions == whole.decisions and split.unpaired == whole.unpaired
    assert split.events_scanned == whole.events_scanned == len(recs)


def test_plans_of_disjoint_partitions_merge_into_the_plan_of_all() -> None:
    p0 = records(("ended", "a", 0), ("wrapping-up", "a", 2), ("ended", "x", 0))
    p1 = records(("wrapping-up", "b", 0), ("ended", "b", 1), ("ended", "y", 5))
    whole = Planner(RULES, {0: 0, 1: 0})
    whole.feed(0, p0)
    whole.feed(1, p1)
    parts = []
    for partition, recs in ((0, p0), (1, p1)):
        planner = Planner(RULES, {partition: 0})
        planner.feed(partition, recs)
        parts.append(planner.result())
    merged = Plan.merge(parts)
    expected = whole.result()
    assert [c.interaction_id for c in merged.candidates] == ["b", "a"]  # pairing order
    assert sorted(merged.candidates, key=lambda c: c.interaction_id) == sorted(
        expected.candidates, key=lambda c: c.interaction_id)
    assert (merged.events_scanned, merged.decisions, merged.unpaired) == (
        expected.events_scanned, expected.decisions, expected.unpaired)


def test_a_plan_survives_the_trip_between_processes() -> None:
    recs = records(("ended", "a", 0), ("wrapping-up", "a", 2), ("ended", "x", 0),
                   ("wrapping-up", "b", 0), ("ended", "b", 1),
                   ("wrapped", "b", 3, {"source": "agent", "wrapupCode": {"id": "wc-o"}}),
                   ("ended", "o", 0, {"campaign": "c-other"}))
    recs.append(Rec(len(recs), round(T0 * 1000), b"k", b"not json"))
    plan = plan_of(recs)
    back = Plan.from_bytes(plan.to_bytes())
    assert back == plan
    assert [c.skip_reason for c in back.candidates] == [None, "wrapped_by_agent"]
    assert back.candidates[0].code is back.candidates[1].code  # one object per code
    assert back.rejected == {"not_json": 1} and back.unpaired == {"missing_wrapping_up": 1}
    assert Plan.from_bytes(Plan().to_bytes()) == Plan()


def test_a_plan_s_repr_counts_its_candidates_instead_of_listing_them() -> None:
    # asyncio.run() formats its task's result when it finishes (CPython 3.11): a scan
    # process that returned a plan listing 400,000 candidates spent a second on it.
    recs = [rec for i in range(2000)
            for rec in records(("ended", f"i{i}", 0), ("wrapping-up", f"i{i}", 1),
                               start=2 * i)]
    plan = plan_of(recs)
    assert plan.pairs_found == 2000
    assert repr(plan) == "Plan(candidates=2000, events_scanned=4000, events_in_window=4000)"
