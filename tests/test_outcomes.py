"""Delivery reports: the outcomes-topic record round-trips and malformed input is a ValueError."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.outcomes import DeliveryReport, Outcome

texts = st.text(st.characters(codec="utf-8"), max_size=30)
times = st.none() | st.floats(allow_nan=False, allow_infinity=False)

reports = st.builds(
    DeliveryReport,
    interaction_id=texts,
    outcome=st.sampled_from(Outcome),
    reason=texts,
    attempts=st.integers(0, 1000),
    code_id=st.none() | texts,
    decided_at=times,
    first_attempt_at=times,
    finished_at=times,
    last_status=st.none() | st.integers(100, 599),
    source=texts,
)


@settings(max_examples=200, deadline=None)
@given(reports)
def test_encode_decode_round_trip(report: DeliveryReport) -> None:
    assert DeliveryReport.decode(report.encode()) == report


def test_encoding_is_plain_json_with_the_outcome_value() -> None:
    report = DeliveryReport("int-1", Outcome.ALREADY_APPLIED, "read_back", attempts=2,
                            code_id="wc-1", last_status=409)
    doc = orjson.loads(report.encode())
    assert doc["outcome"] == "already_applied"
    assert doc["interaction_id"] == "int-1"
    assert doc["last_status"] == 409
    assert doc["source"] == "worker"


def test_decode_fills_defaults_for_missing_optional_fields() -> None:
    report = DeliveryReport.decode(b'{"interaction_id": "i", "outcome": "applied", "reason": "ok"}')
    assert report == DeliveryReport("i", Outcome.APPLIED, "ok")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"\xff",
        b"[]",
        b'"applied"',
        b"null",
        b"42",
        b"{}",
        b'{"interaction_id": "i", "reason": "r"}',
        b'{"interaction_id": "i", "outcome": "exploded", "reason": "r"}',
        b'{"interaction_id": "i", "outcome": null, "reason": "r"}',
        b'{"interaction_id": "i", "outcome": ["applied"], "reason": "r"}',
        b'{"outcome": "applied", "reason": "r"}',
        b'{"interaction_id": "i", "outcome": "applied", "reason": "r", "token": "x"}',
    ],
)
def test_decode_malformed_raises_value_error(raw: bytes) -> None:
    with pytest.raises(ValueError):
        DeliveryReport.decode(raw)


@pytest.mark.parametrize(
    ("outcome", "done"),
    [(Outcome.APPLIED, True), (Outcome.ALREADY_APPLIED, True), (Outcome.SKIPPED, False),
     (Outcome.FAILED, False), (Outcome.EXPIRED, False)],
)
def test_done_means_our_code_is_on_the_interaction(outcome: Outcome, done: bool) -> None:
    assert outcome.done is done


@settings(max_examples=200, deadline=None)
@given(reports, st.none() | st.text(st.characters(codec="utf-8"), min_size=1, max_size=30))
def test_a_legs_report_round_trips_with_its_leg(report: DeliveryReport,
                                                 leg_id: str | None) -> None:
    leg_report = replace(report, leg_id=leg_id)
    decoded = DeliveryReport.decode(leg_report.encode())
    assert decoded == leg_report and decoded.leg_id == leg_id
    assert decoded.key == (report.interaction_id if leg_id is None
                           else f"{report.interaction_id}/{leg_id}")


def test_a_record_without_a_leg_is_the_interactions_only_leg_and_encodes_as_before() -> None:
    old = b'{"interaction_id": "i", "outcome": "applied", "reason": "ok"}'
    assert DeliveryReport.decode(old).leg_id is None
    single = DeliveryReport("i", Outcome.APPLIED, "ok")
    assert "leg_id" not in orjson.loads(single.encode())  # byte for byte the old record
    leg = orjson.loads(DeliveryReport("i", Outcome.APPLIED, "ok", leg_id="p-1").encode())
    assert leg["leg_id"] == "p-1"
