"""The continuity guard: a hole in a partition's offsets is re-read, in order, once."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.continuity import ARMED_RECORDS, ContinuityGuard, Verdict

TP = ("events", 0)


def started(at: int | None) -> ContinuityGuard:
    guard = ContinuityGuard()
    guard.restart(TP, at)
    return guard


def test_consecutive_records_are_processed() -> None:
    guard = started(5)
    assert [guard.observe(TP, o).verdict for o in (5, 6, 7)] == [Verdict.PROCESS] * 3
    assert guard.commit_cap(TP) is None


def test_a_hole_after_a_rebalance_rewinds_to_the_first_missing_offset() -> None:
    """The failure seen in CI: 177 processed, then 568 arrives; 178-567 were skipped."""
    guard = started(177)
    assert guard.observe(TP, 177).verdict is Verdict.PROCESS
    step = guard.observe(TP, 568)
    assert step.verdict is Verdict.REWIND and step.seek_to == 178
    assert guard.commit_cap(TP) == 178  # nothing past the hole is committed
    # Records fetched before the seek arrive still: passed over, they come again.
    assert guard.observe(TP, 569).verdict is Verdict.PASS_OVER
    assert guard.observe(TP, 570).verdict is Verdict.PASS_OVER
    assert guard.observe(TP, 100).verdict is Verdict.PASS_OVER  # older: processed already
    # The re-read.
    for offset in range(178, 568):
        assert guard.observe(TP, offset).verdict is Verdict.PROCESS
        assert guard.commit_cap(TP) == offset + 1
    assert guard.observe(TP, 568).verdict is Verdict.PROCESS
    assert guard.commit_cap(TP) is None  # past the hole: commits are free again
    assert guard.observe(TP, 569).verdict is Verdict.PROCESS


def test_the_first_record_after_a_restart_is_checked_against_the_restart_offset() -> None:
    guard = started(10)
    step = guard.observe(TP, 50)
    assert step.verdict is Verdict.REWIND and step.seek_to == 10
    assert guard.observe(TP, 10).verdict is Verdict.PROCESS


def test_records_fetched_before_the_seek_to_committed_are_not_a_gap() -> None:
    """Seen in CI after a restart: record 0 (fetched from the beginning before the seek),
    then the committed offset 44. Neither the early record nor stale ones after the
    restart may pull the expectation back and turn the seek into a 'gap'."""
    guard = ContinuityGuard()
    guard.forget()
    assert guard.observe(TP, 0).verdict is Verdict.PROCESS  # nothing known yet
    guard.restart(TP, 44)
    assert [guard.observe(TP, o).verdict for o in (1, 2, 3)] == [Verdict.PROCESS] * 3
    assert guard.observe(TP, 44).verdict is Verdict.PROCESS
    assert guard.observe(TP, 45).verdict is Verdict.PROCESS


def test_an_unknown_restart_offset_checks_from_the_first_record() -> None:
    guard = started(None)
    assert guard.observe(TP, 7).verdict is Verdict.PROCESS
    assert guard.observe(TP, 9).seek_to == 8


def test_a_real_gap_costs_one_rewind_then_is_accepted() -> None:
    """Offsets that do not exist (compaction, transaction markers): the re-read starts
    past the rewind point, and the guard moves on without asking again."""
    guard = started(0)
    guard.observe(TP, 0)
    assert guard.observe(TP, 3).seek_to == 1
    assert guard.observe(TP, 3).verdict is Verdict.PROCESS  # re-read starts at 3 again
    assert guard.observe(TP, 4).verdict is Verdict.PROCESS
    assert guard.commit_cap(TP) is None


def test_re_reading_earlier_offsets_is_not_a_gap() -> None:
    guard = started(0)
    for offset in (0, 1, 2, 1, 2, 3):
        assert guard.observe(TP, offset).verdict is Verdict.PROCESS


def test_partitions_are_independent_and_forget_resets_them() -> None:
    guard = started(0)
    other = ("events", 1)
    guard.restart(other, 100)
    guard.observe(TP, 0)
    guard.observe(other, 100)
    assert guard.observe(TP, 1).verdict is Verdict.PROCESS
    assert guard.observe(other, 101).verdict is Verdict.PROCESS
    assert guard.observe(other, 105).seek_to == 102
    guard.forget()
    assert guard.commit_cap(other) is None
    assert guard.observe(TP, 7).verdict is Verdict.PROCESS  # nothing known: no check
    assert guard.observe(TP, 8).verdict is Verdict.PROCESS


def test_checks_stop_after_the_armed_records() -> None:
    guard = started(0)
    for offset in range(ARMED_RECORDS):
        guard.observe(TP, offset)
    assert guard.observe(TP, ARMED_RECORDS + 5).verdict is Verdict.PROCESS
    guard.forget()  # a rebalance arms it again
    guard.restart(TP, 0)
    guard.observe(TP, 0)
    assert guard.observe(TP, 5).verdict is Verdict.REWIND


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 50), st.lists(st.tuples(st.integers(1, 40), st.integers(0, 30)),
                                    max_size=5), st.integers(80, 120))
def test_every_offset_is_processed_in_order_whatever_holes_the_consumer_makes(
    committed: int, holes: list[tuple[int, int]], length: int
) -> None:
    """Model a consumer that drops runs of records (each hole once), honours seeks and
    delivers records fetched before a seek: the processed offsets are exactly
    committed..end-1, in order, and nothing past an unprocessed offset is committed.
    (A hole is noticed when a later record arrives: every hole here has one after it.)"""
    end = committed + length
    guard = started(committed)
    dropped = {}
    for at, length in holes:
        dropped.setdefault(committed + at, length)
    processed: list[int] = []
    position, in_flight = committed, 0
    for _ in range(10 * (end + 10)):  # bounded
        if position >= end:
            break
        hole = dropped.pop(position, 0)
        if hole:
            in_flight = 2  # the consumer also hands over two records fetched earlier
            position += hole
        step = guard.observe(TP, position)
        if step.verdict is Verdict.PROCESS:
            processed.append(position)
            position += 1
        elif step.verdict is Verdict.REWIND:
            assert step.seek_to is not None
            for extra in range(position + 1, min(position + 1 + in_flight, end)):
                assert guard.observe(TP, extra).verdict is Verdict.PASS_OVER
            position = step.seek_to
        cap = guard.commit_cap(TP)
        done = processed[-1] + 1 if processed else committed
        assert cap is None or cap <= done
    assert processed == list(range(committed, end))
