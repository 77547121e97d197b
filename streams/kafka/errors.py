"""Errors of the Kafka plumbing: neutral (neither replay's nor the worker's), one line each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Awaitable, Callable

from aiokafka.errors import (
    AuthenticationFailedError,
    AuthenticationMethodNotSupported,
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailed,
    UnsupportedSaslMechanismError,
)


class KafkaAccessError(Exception):
    """Talking to Kafka failed; the message is one line fit for an operator."""


class KafkaAdminError(KafkaAccessError):
    """The broker is unreachable, or a topic could not be created or described."""


class KafkaReadError(KafkaAccessError):
    """A bounded read could not start, failed or stalled."""


class KafkaToolError(KafkaAccessError):
    """A Kafka Java tool could not run or exited non-zero."""


async def start_client(
    start: Awaitable[None],
    close: Callable[[], Awaitable[object]],
    bootstrap_servers: str,
    timeout: float,
    error: type[KafkaAccessError],
) -> None:
    """Await a client's ``start`` within ``timeout``; on failure ``close`` it and raise
    ``error("cannot reach Kafka at …: <why>")`` (aiokafka's own traceback logs are muted
    meanwhile: the one line says it, naming a TLS or SASL failure when that was the cause).
    """
    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    causes = _Causes()
    quiet.setLevel(logging.ERROR)
    quiet.addHandler(causes)
    propagate, quiet.propagate = quiet.propagate, False
    try:
        await asyncio.wait_for(start, timeout)
    except (KafkaError, OSError, TimeoutError) as exc:
        with contextlib.suppress(Exception):  # best effort after a failed start
            await close()
        why = describe_failure([*causes.errors, exc])
        raise error(f"cannot reach Kafka at {bootstrap_servers}: {why}") from None
    finally:
        quiet.removeHandler(causes)
        quiet.propagate = propagate
        quiet.setLevel(level)


class _Causes(logging.Handler):
    """Collects the exceptions aiokafka logs (and swallows) while a client bootstraps."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.errors: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        self.errors.extend(a for a in args if isinstance(a, BaseException))
        if record.exc_info and record.exc_info[1] is not None:
            self.errors.append(record.exc_info[1])


def describe_failure(errors: list[BaseException]) -> str:
    """One line for why a connection failed: the first TLS or SASL cause found, else the
    last error's type. Fixed texts only: never an error's message, which could echo
    what a client sent."""
    for exc in errors:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return ("TLS: the broker's certificate is not trusted or does not match the host "
                    f"({exc.verify_message}); check WRAPUP_KAFKA_SSL_CA_FILE "
                    "(and WRAPUP_KAFKA_SSL_CHECK_HOSTNAME)")
        if isinstance(exc, SaslAuthenticationFailed | AuthenticationFailedError):
            return ("SASL authentication failed; check WRAPUP_KAFKA_SASL_USERNAME, "
                    "WRAPUP_KAFKA_SASL_PASSWORD and WRAPUP_KAFKA_SASL_MECHANISM")
        if isinstance(exc, UnsupportedSaslMechanismError | AuthenticationMethodNotSupported):
            return ("the broker does not offer this SASL mechanism; check "
                    "WRAPUP_KAFKA_SASL_MECHANISM")
        if isinstance(exc, ssl.SSLError):
            reason = exc.reason or type(exc).__name__
            return (f"TLS handshake failed ({reason}); is this a TLS port, and does it "
                    "want a client certificate (WRAPUP_KAFKA_SSL_CERT_FILE)?")
    for exc in errors:
        if isinstance(exc, ConnectionResetError | BrokenPipeError) or (
                isinstance(exc, KafkaConnectionError) and "closed" in str(exc).lower()):
            return ("the broker closed the connection during the handshake; does "
                    "WRAPUP_KAFKA_SECURITY_PROTOCOL match this listener (TLS, SASL)?")
    last = errors[-1] if errors else None
    return type(last).__name__ if last is not None else "unknown error"
