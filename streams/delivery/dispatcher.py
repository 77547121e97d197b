"""Delivering one wrap-up: POST, classify the answer, retry or read back, report.

Exactly-once in effect rests on the platform never overwriting a wrap-up (a POST on a
wrapped interaction is a 409) and on reading back whose code is on it: ours means
``already_applied`` (an earlier attempt landed, e.g. one whose answer timed out), another
means ``skipped`` (the agent or the ACW timeout chose). The loop:

* 2xx: applied. 400 / 403 / 404 (and other 4xx): failed, permanent.
* 409 not ready: retry. 409 already wrapped, or unclear: GET, then decide as above
  (unclear and still wrapping-up counts as not ready).
* 401: the API client refreshes the OAuth2 token and re-sends once; a 401 even so is
  retried with backoff within the attempts (a token revoked under us); a static
  token's 401 is permanent.
* 429: wait ``Retry-After`` (the whole process pauses), else backoff.
* 5xx, timeouts, connection errors: backoff.

Retries use exponential backoff with full jitter and stop at ``api_max_attempts`` or at
the job's deadline (a retry that would start after it is not made), but the first attempt
is always made, however late. ``readback_first`` (resumed deliveries, replay) GETs before
any POST. A set ``job.cancelled`` event stops the delivery before an attempt or during a
wait: skipped, ``cancelled_wrapped``. HTTP trouble never raises; task cancellation does.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from streams import metrics
from streams.config import Settings
from streams.delivery.api import ApiClient, Exchange
from streams.delivery.auth import ClientCredentials, StaticToken, TokenSource
from streams.delivery.backoff import full_jitter, parse_retry_after
from streams.delivery.bearer import BearerAuth
from streams.delivery.pacing import Pacing
from streams.delivery.ratelimit import RateLimiter
from streams.delivery.readback import Conflict, InteractionView, classify_conflict, view
from streams.delivery.templates import Templates
from streams.delivery.waits import Sleep, wait
from streams.outcomes import DeliveryReport, Outcome
from streams.policy import WrapupCode

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5  # seconds: first retry waits up to this
BACKOFF_CAP = 15.0  # seconds: no single backoff wait is longer
READBACK_TRIES = 4  # GETs before a resumed delivery gives up reading back and POSTs
_PERMANENT = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}


class ApiError(Exception):
    """An interaction read-back failed (only :meth:`Dispatcher.get_interaction` raises it)."""

    def __init__(self, reason: str, status: int | None) -> None:
        suffix = f" ({status})" if status else ""
        super().__init__(f"interaction read-back failed: {reason}{suffix}")
        self.reason = reason
        self.status = status


@dataclass
class DeliveryJob:
    """One wrap-up to deliver. ``deadline`` is wall-clock epoch seconds (the ACW end)."""

    interaction_id: str
    code: WrapupCode
    deadline: float
    decided_at: float | None = None
    readback_first: bool = False
    cancelled: asyncio.Event | None = None


@dataclass
class _Run:
    """Mutable progress of one delivery."""

    job: DeliveryJob
    posts: int = 0  # wrap-up POSTs issued (the report's ``attempts``)
    tries: int = 0  # attempts counted against max_attempts (POSTs and failed token fetches)
    first_attempt_at: float | None = None
    last_status: int | None = None


@dataclass(frozen=True, slots=True)
class _Retry:
    """Try again after ``delay`` seconds (None: backoff); ``reason`` is a metric label."""

    reason: str
    delay: float | None = None


class Dispatcher:
    """Delivers wrap-ups over one shared :class:`ApiClient`; safe for concurrent deliveries."""

    def __init__(
        self,
        api: ApiClient,
        templates: Templates,
        *,
        max_attempts: int = 8,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rand: random.Random | None = None,
        backoff_base: float = BACKOFF_BASE,
        backoff_cap: float = BACKOFF_CAP,
        source: str = "worker",
    ) -> None:
        self.api = api
        self.templates = templates
        self.max_attempts = max(1, max_attempts)
        self.source = source
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rand = rand or random.Random()
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        source: str = "worker",
        **kwargs: Any,
    ) -> Dispatcher:
        """Build the dispatcher (and the process's one HTTP client) from settings.

        ``transport`` (an ``httpx.AsyncBaseTransport``), the clocks and ``sleep`` are for
        tests; ``kwargs`` go to the constructor (e.g. ``backoff_base``).
        """
        limiter = RateLimiter(settings.api_rate_limit, clock=monotonic)
        client = ApiClient.build_client(
            settings.api_base_url,
            timeout=settings.api_timeout,
            connect_timeout=settings.api_connect_timeout,
            max_connections=settings.api_max_connections,
            pacing=Pacing(limiter, sleep),
            transport=transport,
        )
        tokens: TokenSource = StaticToken(settings.api_token)
        if settings.oauth_client_id and settings.oauth_client_secret:
            tokens = ClientCredentials(
                client, settings.oauth_token_url or "/oauth/token", settings.oauth_client_id,
                settings.oauth_client_secret, clock=monotonic,
            )
        api = ApiClient(client, BearerAuth(tokens), limiter)
        templates = Templates(
            settings.api_wrapup_path, settings.api_interaction_path, settings.api_body_template
        )
        return cls(
            api,
            templates,
            max_attempts=settings.api_max_attempts,
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            source=source,
            **kwargs,
        )

    async def aclose(self) -> None:
        """Close the HTTP client (its connection pool)."""
        await self.api.aclose()

    async def get_interaction(self, interaction_id: str) -> dict[str, Any] | None:
        """The platform's interaction document, None if it does not exist (404).

        Raises :class:`ApiError` when the platform cannot be asked or answers otherwise.
        """
        exchange = await self.api.send(
            "interaction", "GET", self.templates.interaction_path(interaction_id)
        )
        if exchange.response is None:
            raise ApiError(exchange.error or "transport_error", None)
        if exchange.status == 404:
            return None
        if exchange.status is None or not 200 <= exchange.status < 300:
            raise ApiError("unexpected_status", exchange.status)
        try:
            doc = orjson.loads(exchange.response.content)
        except orjson.JSONDecodeError:
            raise ApiError("malformed_response", exchange.status) from None
        if not isinstance(doc, dict):
            raise ApiError("malformed_response", exchange.status)
        return doc

    async def deliver(self, job: DeliveryJob) -> DeliveryReport:
        """Deliver ``job`` and report how it ended; never raises for HTTP trouble."""
        run = _Run(job)
        try:
            return await self._deliver(run)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the worker's delivery task
            log.error("delivery of %s crashed: %s", job.interaction_id, type(exc).__name__,
                      exc_info=True)
            return self._report(run, Outcome.FAILED, "internal_error")

    async def _deliver(self, run: _Run) -> DeliveryReport:
        job = run.job
        if job.readback_first:
            report = await self._readback_first(run)
            if report is not None:
                return report
        while True:
            if _is_set(job.cancelled):
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
            run.tries += 1
            step = await self._attempt(run)
            if isinstance(step, DeliveryReport):
                return step
            if run.tries >= self.max_attempts:
                return await self._give_up(run, "attempts_exhausted", step.reason)
            delay = step.delay
            if delay is None:
                delay = full_jitter(
                    run.tries, base=self._backoff_base, cap=self._backoff_cap, rand=self._rand
                )
            if self._clock() + delay > job.deadline:
                return await self._give_up(run, "deadline_exceeded", step.reason)
            metrics.RETRIES.labels(reason=step.reason).inc()
            log.debug("%s: retry in %.2fs (%s)", job.interaction_id, delay, step.reason)
            if not await wait(self._sleep, delay, job.cancelled):
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")

    async def _attempt(self, run: _Run) -> DeliveryReport | _Retry:
        """One POST and, if it says so, one read-back: a final report or a retry."""
        job = run.job
        exchange = await self._send(
            run, "wrapup", "POST", self.templates.wrapup_path(job.interaction_id),
            self.templates.body(job.code),
        )
        failure = self._failure(run, exchange)
        if failure is not None:
            return failure
        assert exchange.response is not None
        status = exchange.response.status_code
        if 200 <= status < 300:
            return self._report(run, Outcome.APPLIED, "posted")
        if status == 409:
            conflict = classify_conflict(exchange.response.content)
            metrics.CONFLICTS.labels(reason=conflict.value).inc()
            if conflict is Conflict.NOT_READY:
                return _Retry("not_ready")
            return await self._settle_conflict(run, conflict)
        if status == 429:
            return self._rate_limited(exchange)
        if status >= 500 or status == 408:
            return _Retry("server_error")
        if status == 401 and self.api.auth.refreshable:
            # Still 401 with a freshly fetched token: a token revoked or rotated under us
            # (or a platform-side cache) — back off and retry within the attempts.
            return _Retry("unauthorized")
        return self._report(run, Outcome.FAILED, _PERMANENT.get(status, "client_error"))

    async def _settle_conflict(self, run: _Run, conflict: Conflict) -> DeliveryReport | _Retry:
        """After a 409 that may mean "already wrapped": read back and decide."""
        exchange = await self._send(
            run, "interaction", "GET", self.templates.interaction_path(run.job.interaction_id)
        )
        failure = self._failure(run, exchange)
        if failure is not None:
            return failure if isinstance(failure, DeliveryReport) else _Retry("readback_failed")
        assert exchange.response is not None
        status = exchange.response.status_code
        if 200 <= status < 300:
            current = _view(exchange)
            report = self._verdict(run, current)
            if report is not None:
                return report
            if conflict is Conflict.ALREADY_WRAPPED:
                log.warning("%s: 409 says wrapped but read-back shows no code (state %s)",
                            run.job.interaction_id, current.state)
            return _Retry("not_ready")
        if status == 404:
            return self._report(run, Outcome.FAILED, "not_found")
        if status in (400, 401, 403):
            return self._report(run, Outcome.FAILED, _PERMANENT[status])
        if status == 429:
            return self._rate_limited(exchange)
        return _Retry("readback_failed")

    async def _readback_first(self, run: _Run) -> DeliveryReport | None:
        """GET before POSTing: a final report if a code is already on the interaction.

        A transient failure (no response, 5xx, 429) is retried a few times with backoff
        before giving up and POSTing: the resumed delivery may well have landed before
        the crash, and a POST after an applied wrap-up is what this read-back avoids.
        """
        for tries in range(1, READBACK_TRIES + 1):
            exchange = await self._send(
                run, "interaction", "GET",
                self.templates.interaction_path(run.job.interaction_id),
            )
            if exchange.error == "cancelled":
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
            status = exchange.response.status_code if exchange.response is not None else None
            if status is not None and 200 <= status < 300:
                return self._verdict(run, _view(exchange))
            if status == 404:
                return self._report(run, Outcome.FAILED, "not_found")
            if status is not None and status < 500 and status not in (408, 429):
                return None  # a definite answer that is not "wrapped": POST
            delay = full_jitter(tries, base=self._backoff_base, cap=self._backoff_cap,
                                rand=self._rand)
            if status == 429:
                retry = self._rate_limited(exchange)
                delay = retry.delay if retry.delay is not None else delay
            metrics.RETRIES.labels(reason="readback_failed").inc()
            if tries < READBACK_TRIES and not await wait(self._sleep, delay, run.job.cancelled):
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
        return None  # still unknown: the POST is safe (a wrapped interaction answers 409)

    def _verdict(self, run: _Run, current: InteractionView) -> DeliveryReport | None:
        if current.code_id == run.job.code.id:
            return self._report(run, Outcome.ALREADY_APPLIED, "readback_same_code")
        if current.code_id is not None:
            return self._report(run, Outcome.SKIPPED, "wrapped_by_other_code")
        if current.wrapped:
            return self._report(run, Outcome.SKIPPED, "wrapped_without_code")
        return None

    async def _send(
        self, run: _Run, endpoint: str, method: str, path: str, content: bytes | None = None
    ) -> Exchange:
        if run.first_attempt_at is None:
            run.first_attempt_at = self._clock()
        headers = {"Content-Type": "application/json"} if content is not None else None
        exchange = await self.api.send(
            endpoint, method, path, content=content, headers=headers, cancelled=run.job.cancelled
        )
        if exchange.response is not None:
            run.last_status = exchange.response.status_code
        if endpoint == "wrapup":
            run.posts += exchange.sent
        log.debug("%s: %s %s -> %s", run.job.interaction_id, method, endpoint,
                  exchange.status or exchange.error)
        return exchange

    def _failure(self, run: _Run, exchange: Exchange) -> DeliveryReport | _Retry | None:
        """The step for a request that got no response (None when it did)."""
        if exchange.response is not None:
            return None
        if exchange.error == "cancelled":
            return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
        if not exchange.retryable:
            return self._report(run, Outcome.FAILED, exchange.error or "transport_error")
        reasons = {"timeout": "timeout", "connect_error": "connection"}
        return _Retry(reasons.get(exchange.error or "", exchange.error or "transport_error"))

    def _rate_limited(self, exchange: Exchange) -> _Retry:
        assert exchange.response is not None
        delay = parse_retry_after(exchange.response.headers.get("Retry-After"), self._clock())
        if delay is not None:
            self.api.limiter.pause_until(self._monotonic() + delay)
            metrics.RATE_LIMIT_WAITS.labels(source="server").inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(source="server").inc(delay)
        return _Retry("rate_limited", delay)

    async def _give_up(self, run: _Run, reason: str, last: str) -> DeliveryReport:
        """Out of attempts or time: one last read-back, so an interaction that someone
        (or an earlier lost response of ours) did wrap is reported as such, not failed."""
        last_status = run.last_status  # the failure's, not the read-back's
        exchange = await self._send(
            run, "interaction", "GET", self.templates.interaction_path(run.job.interaction_id)
        )
        response = exchange.response
        if response is not None and 200 <= response.status_code < 300:
            verdict = self._verdict(run, _view(exchange))
            if verdict is not None:
                return verdict
        run.last_status = last_status
        if last == "unauthorized":
            reason = "unauthorized"
        log.warning("%s: giving up (%s) after %d attempts, last: %s",
                    run.job.interaction_id, reason, run.tries, last)
        return self._report(run, Outcome.FAILED, reason)

    def _report(self, run: _Run, outcome: Outcome, reason: str) -> DeliveryReport:
        return DeliveryReport(
            interaction_id=run.job.interaction_id,
            outcome=outcome,
            reason=reason,
            attempts=run.posts,
            code_id=run.job.code.id,
            decided_at=run.job.decided_at,
            first_attempt_at=run.first_attempt_at,
            finished_at=self._clock(),
            last_status=run.last_status,
            source=self.source,
        )


def _view(exchange: Exchange) -> InteractionView:
    assert exchange.response is not None
    try:
        return view(orjson.loads(exchange.response.content))
    except orjson.JSONDecodeError:
        return view(None)


def _is_set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()
