"""The outcomes ledger as a replay reads it, and the summary it reports."""

from __future__ import annotations

from collections import Counter

import orjson

from streams.outcomes import DeliveryReport, Outcome
from streams.replay.ledger import Ledger
from streams.replay.summary import Summary


def report(iid: str, outcome: Outcome, reason: str = "r") -> bytes:
    return DeliveryReport(iid, outcome, reason).encode()


def test_the_last_record_per_interaction_wins_and_only_done_or_skipped_is_final() -> None:
    ledger = Ledger()
    ledger.add(b"a", report("a", Outcome.FAILED, "deadline_exceeded"))
    ledger.add(b"a", report("a", Outcome.APPLIED, "posted"))
    ledger.add(b"b", report("b", Outcome.ALREADY_APPLIED, "readback_same_code"))
    ledger.add(b"c", report("c", Outcome.SKIPPED, "wrapped_by_agent"))
    ledger.add(b"d", report("d", Outcome.FAILED, "unauthorized"))
    ledger.add(b"e", report("e", Outcome.EXPIRED, "missing_ended"))
    ledger.add(b"f", report("f", Outcome.APPLIED))
    ledger.add(b"f", None)  # tombstone
    assert ledger.final("a") == (Outcome.APPLIED, "posted")
    assert ledger.final("b") == (Outcome.ALREADY_APPLIED, "readback_same_code")
    assert ledger.final("c") == (Outcome.SKIPPED, "wrapped_by_agent")
    assert ledger.final("d") is None and ledger.final("e") is None
    assert ledger.final("f") is None and ledger.final("never") is None
    assert len(ledger) == 5 and ledger.records == 8


def test_malformed_records_are_counted_and_ignored() -> None:
    ledger = Ledger()
    ledger.add(b"a", b"not json")
    ledger.add(b"b", orjson.dumps({"outcome": "exploded"}))
    ledger.add(b"c", orjson.dumps([1]))
    ledger.add(None, report("x", Outcome.APPLIED))
    assert ledger.malformed == 4 and len(ledger) == 0


def test_summary_table_and_json_carry_every_bucket() -> None:
    s = Summary("events", 1_790_000_000.0, None, 1_789_998_200.0, dry_run=False,
                events_scanned=1000, events_in_window=800, pairs_found=10, posted=5,
                already_done=Counter({"ledger_applied": 2}),
                skipped=Counter({"wrapped_by_agent": 2}), failed=Counter({"not_found": 1}),
                rejected=Counter({"not_json": 3}), scan_seconds=0.5)
    doc = s.to_dict()
    assert (doc["pairs_found"], doc["already_done"], doc["posted"], doc["skipped"],
            doc["failed"]) == (10, 2, 5, 2, 1)
    assert doc["events_per_second"] == 2000.0 and doc["until"] is None
    assert not s.ok
    table = s.table()
    for label in ("events scanned", "pairs found", "already done", "posted", "skipped",
                  "wrapped_by_agent", "failed", "not_found"):
        assert label in table
    assert "would post" not in table
