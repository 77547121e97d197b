"""The continuity guard: a hole in a partition's offsets is found, and never committed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.continuity import ARMED_RECORDS, ContinuityGuard, Hole

TP = ("events", 0)


def started(at: int | None) -> ContinuityGuard:
    guard = ContinuityGuard()
    guard.restart(TP, at)
    return guard


def test_consecutive_records_have_no_hole_and_commits_follow_them() -> None:
    guard = started(5)
    assert guard.commit_cap(TP) == 5
    assert [guard.observe(TP, o) for o in (5, 6, 7)] == [None] * 3
    assert guard.commit_cap(TP) == 8


def test_a_jump_after_a_rebalance_is_a_hole_and_commits_stay_behind_it() -> None:
    """The failure seen in CI: 177 processed, then 568 arrives; 178-567 were skipped."""
    guard = started(177)
    assert guard.observe(TP, 177) is None
    assert guard.observe(TP, 568) == Hole(178, 568)
    assert guard.commit_cap(TP) == 178  # nothing past the hole while it is filled
    for offset in range(178, 568):
        guard.processed(TP, offset)
        assert guard.commit_cap(TP) == offset + 1
    guard.processed(TP, 568)
    assert guard.observe(TP, 569) is None
    assert guard.commit_cap(TP) == 570


def test_the_first_record_after_a_restart_is_checked_against_the_restart_offset() -> None:
    guard = started(10)
    assert guard.observe(TP, 50) == Hole(10, 50)


def test_records_fetched_before_the_seek_to_committed_are_not_a_hole() -> None:
    """Seen in CI after a restart: record 0 (fetched from the beginning before Faust's
    seek to the committed offset), then 44. Neither the early record nor stale ones after
    the restart may pull the expectation back and turn the seek into a 'hole'."""
    guard = ContinuityGuard()
    assert guard.observe(TP, 0) is None  # nothing known yet
    guard.restart(TP, 44)
    assert [guard.observe(TP, o) for o in (1, 2, 3)] == [None] * 3
    assert guard.commit_cap(TP) == 44
    assert guard.observe(TP, 44) is None
    assert guard.observe(TP, 45) is None


def test_an_unknown_restart_offset_checks_from_the_first_record() -> None:
    guard = started(None)
    assert guard.commit_cap(TP) is None
    assert guard.observe(TP, 7) is None
    assert guard.observe(TP, 9) == Hole(8, 9)


def test_re_reading_earlier_offsets_is_not_a_hole() -> None:
    guard = started(0)
    assert [guard.observe(TP, o) for o in (0, 1, 2, 1, 2, 3)] == [None] * 6
    assert guard.commit_cap(TP) == 4


def test_partitions_are_independent_and_forget_resets_them() -> None:
    guard = started(0)
    other = ("events", 1)
    guard.restart(other, 100)
    assert guard.observe(TP, 0) is None and guard.observe(other, 100) is None
    assert guard.observe(other, 105) == Hole(101, 105)
    assert guard.observe(TP, 1) is None
    guard.forget()
    assert guard.commit_cap(other) is None
    assert guard.observe(TP, 7) is None  # nothing known: no check
    assert guard.observe(TP, 8) is None


def test_checks_stop_after_the_armed_records() -> None:
    guard = started(0)
    for offset in range(ARMED_RECORDS):
        assert guard.observe(TP, offset) is None
    assert guard.observe(TP, ARMED_RECORDS + 5) is None
    guard.forget()  # a rebalance arms it again
    guard.restart(TP, 0)
    assert guard.observe(TP, 5) == Hole(0, 5)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 50), st.lists(st.tuples(st.integers(1, 40), st.integers(1, 30)),
                                    max_size=5), st.integers(80, 120),
       st.integers(0, 60), st.integers(0, 4))
def test_every_offset_is_processed_in_order_whatever_holes_the_consumer_makes(
    committed: int, holes: list[tuple[int, int]], length: int, stale_from: int,
    stale_count: int,
) -> None:
    """Model a consumer that first hands over a few stale records (fetched before the
    seek), then drops runs of records; the shell fills each hole the guard reports.
    Every offset from the committed one is processed, new ones in order, and no commit
    ever passes an offset not yet processed. (A hole is noticed when a later record
    arrives: every hole here has one after it.)"""
    end = committed + length
    guard = ContinuityGuard()
    for offset in range(stale_from, stale_from + stale_count):  # one fetched run
        assert guard.observe(TP, offset) is None
    guard.restart(TP, committed)
    dropped = dict(sorted((committed + at, n) for at, n in holes))
    processed: list[int] = []
    position = committed
    while position < end:
        position += dropped.pop(position, 0)
        hole = guard.observe(TP, position)
        if hole is not None:
            assert guard.commit_cap(TP) == hole.start
            for offset in range(hole.start, hole.end):  # the shell reads them itself
                processed.append(offset)
                guard.processed(TP, offset)
            guard.processed(TP, position)
        processed.append(position)
        cap = guard.commit_cap(TP)
        assert cap is not None and cap <= processed[-1] + 1
        position += 1
    assert processed == list(range(committed, max(end, position)))


# --- the tail of a quiet partition: no later record reveals the hole ------------------------


def test_a_position_ahead_on_two_ticks_without_progress_is_a_tail_hole() -> None:
    guard = started(5)
    assert guard.observe(TP, 5) is None  # processed 5; 6..9 handed to Faust, never seen
    assert guard.check_tail(TP, 10) is None  # first sight: they may still be queued
    assert guard.check_tail(TP, 12) == Hole(6, 10)  # no progress since: a hole
    assert guard.commit_cap(TP) == 6  # never committed past it meanwhile
    assert guard.check_tail(TP, 12) is None  # reported once; a new suspicion starts


def test_progress_between_ticks_is_no_tail_hole() -> None:
    guard = started(0)
    assert guard.check_tail(TP, 50) is None
    for offset in range(0, 20):  # the stream is working through a backlog
        assert guard.observe(TP, offset) is None
    assert guard.check_tail(TP, 50) is None
    for offset in range(20, 50):
        assert guard.observe(TP, offset) is None
    assert guard.check_tail(TP, 50) is None  # caught up
    assert guard.check_tail(TP, 50) is None


def test_no_tail_check_without_an_expectation_or_a_position() -> None:
    guard = started(None)
    assert guard.check_tail(TP, 10) is None
    assert guard.check_tail(TP, 10) is None
    guard = started(3)
    assert guard.check_tail(TP, None) is None
    assert guard.check_tail(TP, None) is None


def test_a_restart_or_rebalance_drops_a_tail_suspicion() -> None:
    guard = started(3)
    assert guard.check_tail(TP, 9) is None
    guard.restart(TP, 3)  # Faust sought back to the committed offset
    assert guard.check_tail(TP, 9) is None  # a first sight again
    guard.forget()
    guard.restart(TP, 3)
    assert guard.check_tail(TP, 9) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 8)), max_size=30))
def test_a_tail_hole_is_found_by_the_second_stuck_tick_and_only_then(
    rounds: list[tuple[int, int]],
) -> None:
    """Each round: the stream processes some records, then a tick shows the position
    (processed plus some handed on but unseen). A hole is reported exactly when the
    position was ahead at the previous tick and nothing was processed since; it spans
    the expected offset to the earlier position."""
    guard = started(0)
    done = 0
    previous: tuple[int, int] | None = None  # (expected, position) at the last tick
    for processed, ahead in rounds:
        for offset in range(done, done + processed):
            guard.observe(TP, offset)
        done += processed
        position = done + ahead
        hole = guard.check_tail(TP, position)
        if previous is not None and previous[0] == done and previous[1] > done and ahead:
            assert hole == Hole(done, previous[1])
            previous = None
        else:
            assert hole is None
            previous = (done, position) if ahead else None
        assert guard.commit_cap(TP) == done
