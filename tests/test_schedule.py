"""The expiry index: keys fall due at (never before) their time, per partition."""

from __future__ import annotations

from streams.schedule import ExpiryIndex


def test_nothing_is_due_before_it_is_built_or_before_its_time() -> None:
    index = ExpiryIndex()
    index.schedule(0, b"a", 10.0)  # not built: ignored
    assert not index.is_built(0) and index.pop_due(0, 100.0) == []
    index.rebuild(0, [(b"a", 10.2), (b"b", 11.0)])
    assert index.pop_due(0, 10.1) == []
    assert index.pop_due(0, 10.99) == []  # a.expires_at=10.2 is in the bucket of second 11
    assert sorted(index.pop_due(0, 11.0)) == [b"a", b"b"]
    assert len(index) == 0


def test_due_keys_in_time_order_deduplicated_and_limited() -> None:
    index = ExpiryIndex()
    index.rebuild(1, [])
    for i in range(10):
        index.schedule(1, f"k{i}".encode(), 100.0 + i)
    index.schedule(1, b"k0", 101.0)  # a second entry of one key
    assert len(index) == 11
    first = index.pop_due(1, 104.0, limit=3)
    assert len(first) == 3 and set(first) <= {b"k0", b"k1", b"k2"}
    rest = index.pop_due(1, 200.0)
    assert set(first) | set(rest) == {f"k{i}".encode() for i in range(10)}
    assert len(rest) == len(set(rest))
    assert index.pop_due(1, 1e9) == []


def test_partitions_are_apart_and_forgotten() -> None:
    index = ExpiryIndex()
    index.rebuild(0, [(b"a", 1.0)])
    index.rebuild(1, [(b"b", 1.0)])
    assert index.pop_due(0, 5.0) == [b"a"]
    index.forget([1])
    assert not index.is_built(1) and index.pop_due(1, 5.0) == []
