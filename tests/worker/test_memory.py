"""The heap trimmer: once per pause in traffic, never while records flow."""

from __future__ import annotations

from streams.worker.memory import HeapTrimmer, _load_trim


def _trimmer() -> tuple[HeapTrimmer, list[int]]:
    calls: list[int] = []

    def trim(pad: int) -> int:
        calls.append(pad)
        return 1

    return HeapTrimmer(trim), calls


def test_trims_on_the_first_quiet_tick_after_traffic_and_only_once() -> None:
    heap, calls = _trimmer()
    assert not heap.tick()  # quiet from the start: nothing was freed
    for _ in range(3):
        heap.processed()
    assert not heap.tick()  # records flowed in this interval
    assert heap.tick()  # the first quiet one
    assert calls == [0]
    assert not heap.tick() and not heap.tick()  # still quiet: once per pause
    heap.processed()
    assert not heap.tick()
    assert heap.tick()
    assert calls == [0, 0] and heap.trims == 2


def test_never_while_records_flow() -> None:
    heap, calls = _trimmer()
    for _ in range(50):
        heap.processed()
        assert not heap.tick()
    assert calls == []


def test_glibc_trim_is_found_and_callable_here() -> None:
    trim = _load_trim()
    assert trim is not None  # this machine runs glibc (Debian), as the image does
    assert trim(0) in (0, 1)


def test_a_trim_on_demand_settles_the_pause_it_would_have_waited_for() -> None:
    heap, calls = _trimmer()
    heap.processed()
    assert not heap.tick()
    assert heap.trim()  # after a bulk load, say
    assert not heap.tick()  # nothing freed since: no second trim
    assert calls == [0] and heap.trims == 1
