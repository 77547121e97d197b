"""JSON log lines: one object per line, extra fields kept, secrets redacted, one line per
outcome carrying the interaction ID."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import orjson
import pytest

from streams.logs import REDACTED, configure_logging, dict_config, log_outcome
from streams.outcomes import DeliveryReport, Outcome


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    buffer = io.StringIO()
    configure_logging("INFO", stream=buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    text = buffer.getvalue()
    assert text.endswith("\n")
    return [orjson.loads(line) for line in text.splitlines()]


def test_one_json_object_per_line_with_the_base_fields(stream: io.StringIO) -> None:
    logging.getLogger("wrapup.test").info("hello %s\nworld", "there", extra={"partition": 3})
    [doc] = lines(stream)
    assert doc["msg"] == "hello there\nworld" and doc["level"] == "info"
    assert doc["logger"] == "wrapup.test" and doc["partition"] == 3
    assert doc["ts"].endswith("Z")
    assert abs(datetime.fromisoformat(doc["ts"]).timestamp() - datetime.now().timestamp()) < 60


def test_level_is_configurable(stream: io.StringIO) -> None:
    configure_logging("warning", stream=stream)
    log = logging.getLogger("wrapup.test")
    log.info("hidden")
    log.warning("shown")
    assert [d["msg"] for d in lines(stream)] == ["shown"]
    assert len(logging.getLogger().handlers) == 1, "reconfiguring must not duplicate lines"
    with pytest.raises(ValueError, match="TRACE"):
        configure_logging("TRACE")


def test_exceptions_stay_on_one_line(stream: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("wrapup.test").exception("failed")
    [doc] = lines(stream)
    assert "RuntimeError: boom" in doc["exc"] and doc["level"] == "error"


def test_secrets_are_redacted(stream: io.StringIO) -> None:
    logging.getLogger("wrapup.test").warning(
        "sent Authorization: Bearer abc.def-123",
        extra={"client_secret": "s3cr3t", "access_token": "tok", "headers":
               {"Authorization": "Basic dXNlcjpwYXNz", "accept": "json"},
               "detail": "token was bearer xyz"},
    )
    [doc] = lines(stream)
    text = orjson.dumps(doc).decode()
    for secret in ("abc.def-123", "s3cr3t", "tok\"", "dXNlcjpwYXNz", "xyz"):
        assert secret not in text
    assert doc["client_secret"] == REDACTED and doc["access_token"] == REDACTED
    assert doc["headers"] == {"Authorization": REDACTED, "accept": "json"}
    assert doc["msg"] == f"sent Authorization: Bearer {REDACTED}"


def test_aws_session_tokens_and_signatures_are_redacted(stream: io.StringIO) -> None:
    logging.getLogger("wrapup.test").warning(
        "CanonicalRequest:\nPOST\n/contact/attributes\n\nhost:connect.x\n"
        "x-amz-security-token:IQoJb3JpZ2luX2VjE+abc/def==\n; Authorization: AWS4-HMAC-SHA256 "
        "Credential=ASIA/20261202/us-east-1/connect/aws4_request, SignedHeaders=host, "
        "Signature=" + "ab" * 32)
    [doc] = lines(stream)
    assert "IQoJb3JpZ2luX2VjE" not in doc["msg"] and "ab" * 32 not in doc["msg"]
    assert f"x-amz-security-token:{REDACTED}" in doc["msg"]


def test_botocore_never_logs_below_info_whatever_the_level() -> None:
    """botocore's DEBUG lines hold canonical requests: the session token's value."""
    saved = logging.getLogger().handlers[:], logging.getLogger().level
    try:
        configure_logging("DEBUG", stream=io.StringIO())
        assert logging.getLogger("botocore.auth").getEffectiveLevel() == logging.INFO
        assert dict_config("DEBUG")["loggers"]["botocore"]["level"] == "INFO"
        assert dict_config("ERROR")["loggers"]["botocore"]["level"] == "ERROR"
    finally:
        logging.getLogger().handlers[:] = saved[0]
        logging.getLogger().setLevel(saved[1])
        logging.getLogger("botocore").setLevel(logging.NOTSET)


def test_log_outcome_one_line_per_outcome_with_the_interaction_id(stream: io.StringIO) -> None:
    applied = DeliveryReport("ia-1", Outcome.APPLIED, "ok", attempts=2, code_id="c1",
                             decided_at=100.0, first_attempt_at=100.004, finished_at=100.25,
                             last_status=200)
    failed = DeliveryReport("ia-2", Outcome.FAILED, "server_error", attempts=8, last_status=503)
    expired = DeliveryReport("ia-3", Outcome.EXPIRED, "missing_ended")
    log_outcome(applied, campaign_id="camp-1", queue_id=None, partition=2)
    log_outcome(failed)
    log_outcome(expired)
    docs = lines(stream)
    assert [(d["interaction_id"], d["outcome"], d["level"]) for d in docs] == [
        ("ia-1", "applied", "info"), ("ia-2", "failed", "error"), ("ia-3", "expired", "warning")]
    first = docs[0]
    assert first["logger"] == "wrapup.outcome" and first["msg"] == "wrap-up applied (ok)"
    assert (first["reason"], first["attempts"], first["code_id"], first["last_status"]) == (
        "ok", 2, "c1", 200)
    assert first["latency_seconds"] == pytest.approx(0.25)
    assert first["decision_latency_seconds"] == pytest.approx(0.004)
    assert first["campaign_id"] == "camp-1" and first["partition"] == 2
    assert "queue_id" not in first, "None context is left out"
    assert "latency_seconds" not in docs[1]


def test_dict_config_installs_the_same_formatter(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        logging.config.dictConfig(dict_config("DEBUG", stream="ext://sys.stdout"))
        logging.getLogger("wrapup.test").debug("via dictConfig", extra={"n": 1})
        doc = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert (doc["msg"], doc["n"], doc["level"]) == ("via dictConfig", 1, "debug")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def test_log_outcome_names_the_leg_where_there_is_one(stream: io.StringIO) -> None:
    log_outcome(DeliveryReport("conv-1", Outcome.APPLIED, "posted", leg_id="part-b"))
    log_outcome(DeliveryReport("int-1", Outcome.APPLIED, "posted"))
    leg, single = lines(stream)
    assert (leg["interaction_id"], leg["leg_id"]) == ("conv-1", "part-b")
    assert single["interaction_id"] == "int-1" and "leg_id" not in single
