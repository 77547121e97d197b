"""The worker's per-partition bookkeeping: one pass indexes every assigned partition,
one index entry per key, counts by status, inherited deliveries taken once."""

from __future__ import annotations

from streams.join import InteractionState, Status
from streams.worker.partitions import PartitionBook
from streams.worker.table import encode_state


def _state(iid: str, partition: int, status: Status, expires_at: float) -> InteractionState:
    return InteractionState(iid, status, 0.0, expires_at, partition)


def _items(*states: InteractionState) -> list[tuple[bytes, bytes]]:
    return [(s.interaction_id.encode(), encode_state(s)) for s in states]


def test_one_pass_indexes_every_assigned_partition() -> None:
    book = PartitionBook()
    book.assigned({0, 1})
    items = _items(_state("a", 0, Status.PENDING, 10.0),
                   _state("b", 1, Status.DISPATCHING, 20.0),
                   _state("c", 2, Status.DONE, 5.0))  # not ours
    scanned: list[int] = []

    def counting() -> list[tuple[bytes, bytes]]:
        scanned.append(1)
        return items

    assert book.ensure_built(0, counting())  # indexed: the worker trims the heap after
    assert not book.ensure_built(1, counting())  # built by the first pass: not scanned
    assert book.index.is_built(0) and book.index.is_built(1)
    assert book.totals() == {Status.PENDING: 1, Status.DISPATCHING: 1}
    assert book.take_inherited(1) == [b"b"]
    assert book.take_inherited(1) is None
    assert book.take_inherited(0) == []
    assert book.index.pop_due(0, 100.0) == [b"a"]
    assert book.index.pop_due(1, 100.0) == [b"b"]


def test_one_entry_per_key_unless_the_expiry_comes_sooner() -> None:
    book = PartitionBook()
    book.assigned({0})
    book.ensure_built(0, [])
    pending = _state("a", 0, Status.PENDING, 100.0)
    book.changed(0, b"a", None, pending)
    later = pending._replace(status=Status.DISPATCHING, expires_at=500.0)
    book.changed(0, b"a", pending, later)  # later expiry: the early entry will do
    assert len(book.index) == 1
    sooner = later._replace(status=Status.DONE, expires_at=50.0)
    book.changed(0, b"a", later, sooner)
    assert len(book.index) == 2
    assert book.totals() == {Status.DONE: 1, Status.PENDING: 0, Status.DISPATCHING: 0}


def test_a_new_assignment_forgets_lost_partitions_and_rebuilds() -> None:
    book = PartitionBook()
    book.assigned({0, 1})
    book.ensure_built(0, _items(_state("a", 0, Status.DONE, 1.0),
                                _state("b", 1, Status.DONE, 1.0)))
    assert book.assigned({1}) == [0]
    assert not book.index.is_built(1)
    assert book.totals() == {Status.DONE: 1}
