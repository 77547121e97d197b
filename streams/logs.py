"""Structured logs: one JSON object per line, and one line per wrap-up outcome.

Interaction IDs belong here, not in metric labels. Every line carries ``ts`` (UTC,
ISO-8601), ``level``, ``logger`` and ``msg`` plus the record's extra fields. Fields whose
names look like credentials, and bearer tokens inside text, are redacted before writing.

Use :func:`configure_logging` in a plain process, or pass :func:`dict_config` to Faust's
worker (``logging_config=``) so mode's own set-up installs the same formatter.
"""

from __future__ import annotations

import logging
import logging.config
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

import orjson

from streams.outcomes import DeliveryReport, Outcome

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REDACTED = "[redacted]"

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}
_SECRET_KEY = re.compile(r"secret|token|password|passwd|authorization|api[_-]?key|cookie", re.I)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")
# AWS: a session token in a canonical request or a header dump, a SigV4 signature.
_AWS = re.compile(r"(?i)\b(x-amz-security-token[:=]\s*|signature=)[A-Za-z0-9._~+/=%-]+")
# botocore logs canonical requests (signed header values: the session token) at DEBUG.
QUIETED = {"botocore": "INFO"}

OUTCOME_LOGGER = "wrapup.outcome"


def _redact_text(text: str) -> str:
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _AWS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def _redact(key: str, value: Any) -> Any:
    if _SECRET_KEY.search(key) and value is not None:
        return REDACTED
    if isinstance(value, str):
        return _redact_text(value)
    if isinstance(value, dict):
        return {str(k): _redact(str(k), v) for k, v in value.items()}
    return value


def _default(value: Any) -> Any:
    """orjson fallback: enums by value, anything else as its text."""
    if isinstance(value, Outcome):
        return value.value
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON (no newlines inside, ever)."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _redact_text(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and key not in doc:
                doc[key] = _redact(key, value)
        if record.exc_info:
            doc["exc"] = _redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(doc, default=_default).decode()


def _check_level(level: str) -> str:
    name = level.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    return name


def dict_config(level: str = "INFO", stream: str = "ext://sys.stderr") -> dict[str, Any]:
    """A :func:`logging.config.dictConfig` dict: JSON lines on ``stream`` at ``level``."""
    name = _check_level(level)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": stream}
        },
        "root": {"level": name, "handlers": ["json"]},
        "loggers": {logger: {"level": _at_least(name, floor)}
                    for logger, floor in QUIETED.items()},
    }


def _at_least(name: str, floor: str) -> str:
    return name if LEVELS.index(name) >= LEVELS.index(floor) else floor


def configure_logging(level: str = "INFO", stream: IO[str] | None = None) -> None:
    """Send every log record to ``stream`` (default stderr) as JSON lines, at ``level``.

    Replaces the root logger's handlers, so calling it twice does not duplicate lines.
    """
    name = _check_level(level)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(name)
    for logger, floor in QUIETED.items():
        logging.getLogger(logger).setLevel(_at_least(name, floor))


def _level_for(outcome: Outcome) -> int:
    if outcome is Outcome.FAILED:
        return logging.ERROR
    if outcome is Outcome.EXPIRED:
        return logging.WARNING
    return logging.INFO


def log_outcome(report: DeliveryReport, **context: Any) -> None:
    """Log one line for a final wrap-up outcome, with the interaction ID (and the leg ID,
    where there is one) and its details.

    ``context`` adds fields (e.g. ``campaign_id``, ``partition``; ``None`` values are
    left out); latencies are derived from the report's timestamps when present.
    Failures log at ERROR, expiries at WARNING, the rest at INFO.
    """
    fields: dict[str, Any] = {
        "interaction_id": report.interaction_id,
        **({"leg_id": report.leg_id} if report.leg_id is not None else {}),
        "outcome": report.outcome.value,
        "reason": report.reason,
        "attempts": report.attempts,
        "code_id": report.code_id,
        "last_status": report.last_status,
        "source": report.source,
    }
    if report.decided_at is not None and report.finished_at is not None:
        fields["latency_seconds"] = round(report.finished_at - report.decided_at, 6)
    if report.decided_at is not None and report.first_attempt_at is not None:
        fields["decision_latency_seconds"] = round(report.first_attempt_at - report.decided_at, 6)
    fields.update({k: v for k, v in context.items() if v is not None})
    logging.getLogger(OUTCOME_LOGGER).log(
        _level_for(report.outcome),
        "wrap-up %s (%s)", report.outcome.value, report.reason or "-",
        extra=fields,
    )
