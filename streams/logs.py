"""Structured JSON logs: one object per line; IDs belong here, never in metric labels."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

from streams.outcomes import DeliveryReport

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record and its ``extra`` fields as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr as JSON lines at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


_outcome_log = logging.getLogger("wrapup.outcome")


def log_outcome(report: DeliveryReport, **context: Any) -> None:
    """One line per final outcome, with the interaction ID and timings."""
    latency = None
    if report.finished_at is not None and report.decided_at is not None:
        latency = round(report.finished_at - report.decided_at, 4)
    _outcome_log.info(
        "wrap-up %s", report.outcome.value,
        extra={
            "interaction_id": report.interaction_id,
            "outcome": report.outcome.value,
            "reason": report.reason,
            "attempts": report.attempts,
            "code_id": report.code_id,
            "last_status": report.last_status,
            "latency_seconds": latency,
            "logged_at": round(time.time(), 3),
            **{k: v for k, v in context.items() if v is not None},
        },
    )
