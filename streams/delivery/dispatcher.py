"""Delivering one wrap-up: POST, classify the answer, retry or read back, report.

Exactly-once in effect rests on the platform never overwriting a wrap-up (a POST on a
wrapped leg is refused) and on reading back whose code is on it: ours means
``already_applied`` (an earlier attempt landed, e.g. one whose answer timed out), another
means ``skipped`` (the agent or the ACW timeout chose). The platform seam
(:mod:`streams.platforms`) builds the requests and says what each answer means; this
loop acts on it:

* applied: done. Permanent (400 / 403 / 404, other 4xx): failed.
* not ready: retry. Already wrapped, or unclear: read back, then decide as above
  (no code on it yet counts as not ready).
* unauthorized: the auth flow has already refreshed the token and re-sent once; a 401
  even so is retried with backoff within the attempts (a token revoked under us); a
  static token's 401 is permanent.
* rate limited: wait ``Retry-After`` (the whole process pauses), else backoff.
* transient (5xx, 408, timeouts, connection errors): backoff.

Read-backs all go through one path, :meth:`Dispatcher._read_back`, whose table of
answers is :mod:`.readback`'s. What the readings mean to each caller:

* before a resumed POST (``readback_first``): a code on it is final; none: POST;
  ``NOT_FOUND``: failed; ``REFUSED``: POST (its own answer decides); ``RETRY``: up to
  ``READBACK_TRIES`` read-backs with backoff (or the server's delay), then POST — a
  wrapped leg refuses the POST, so that is safe.
* after an already-wrapped / unclear POST answer: a code is final; none: retry the
  POST as not ready; ``NOT_FOUND`` / ``REFUSED``: failed; ``RETRY``: retry the POST.
* before giving up: only a code on it changes the report.
* before every POST when the platform's write may overwrite a wrap-up already set
  (``reads_before_write``: CXone, Connect): as after a conflict, but no code means POST now
  (its limiter slot booked with the read's; a re-send waits at most ``GUARD_WINDOW``).

Retries use exponential backoff with full jitter and stop at ``api_max_attempts`` or at
the job's deadline (a retry that would start after it is not made), but the first attempt
is always made, however late. A set ``job.cancelled`` event stops the delivery before an
attempt or during a wait: skipped, ``cancelled_wrapped``. HTTP trouble never raises;
task cancellation does.
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

from streams import metrics, platforms
from streams.config import Settings
from streams.delivery.api import ApiClient, Exchange
from streams.delivery.backoff import full_jitter
from streams.delivery.job import DeliveryJob
from streams.delivery.pacing import Pacing
from streams.delivery.ratelimit import RateLimiter
from streams.delivery.readback import ReadBack, Reading, reading_of
from streams.delivery.waits import Sleep, wait
from streams.outcomes import DeliveryReport, Outcome
from streams.platforms import ApiRequest, ApiSide, Conflict, Leg, Verdict, WrapupView

log = logging.getLogger(__name__)

BACKOFF_BASE = 0.5  # seconds: first retry waits up to this
BACKOFF_CAP = 15.0  # seconds: no single backoff wait is longer
READBACK_TRIES = 4  # GETs before a resumed delivery gives up reading back and POSTs
GUARD_WINDOW = 0.25  # seconds a guarded write may wait for the limiter after its read
_TRANSPORT_REASONS = {"timeout": "timeout", "connect_error": "connection",
                      "deferred": "rate_limited"}


class ApiError(Exception):
    """An interaction read-back failed (only :meth:`Dispatcher.get_interaction` raises it)."""

    def __init__(self, reason: str, status: int | None) -> None:
        suffix = f" ({status})" if status else ""
        super().__init__(f"interaction read-back failed: {reason}{suffix}")
        self.reason = reason
        self.status = status


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
        platform: ApiSide,
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
        self.platform = platform
        self.templates = _ReadbackPaths(platform)
        self._guard = platforms.reads_before_write(platform)
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
            ca_file=settings.api_ca_file,
        )
        platform = platforms.load(settings)
        api = ApiClient(client, platform.api.auth(client, clock=monotonic), limiter)
        return cls(
            api,
            platform.api,
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

    async def probe(self, leg: Leg | str) -> Exchange:
        """One read-back request as is (replay checks reachability and credentials)."""
        return await self.api.request(self.platform.readback_request(
            Leg(leg) if isinstance(leg, str) else leg))

    async def get_interaction(self, leg: Leg | str) -> dict[str, Any] | None:
        """The platform's document of a leg (a bare ID: the interaction's only leg),
        None if it does not exist (404).

        Raises :class:`ApiError` when the platform cannot be asked or answers otherwise.
        """
        found = await self._read_back(Leg(leg) if isinstance(leg, str) else leg)
        if found.reading is Reading.NOT_FOUND:
            return None
        if found.reading is not Reading.SEEN or found.response is None:
            if found.reason == "malformed_response" or found.status is None:
                raise ApiError(found.reason, found.status)
            raise ApiError("unexpected_status", found.status)
        try:
            doc = orjson.loads(found.response.content)
        except orjson.JSONDecodeError:
            doc = None
        if not isinstance(doc, dict):
            raise ApiError("malformed_response", found.status)
        return doc

    async def deliver(self, job: DeliveryJob) -> DeliveryReport:
        """Deliver ``job`` and report how it ended; never raises for HTTP trouble."""
        run = _Run(job)
        try:
            return await self._deliver(run)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not kill the worker's delivery task
            log.error("delivery of %s crashed: %s", job.key, type(exc).__name__,
                      exc_info=True, extra=job.log_extra)
            return self._report(run, Outcome.FAILED, "internal_error")

    async def _deliver(self, run: _Run) -> DeliveryReport:
        job = run.job
        if job.readback_first and not self._guard:  # the guard reads before every POST
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
            delay = step.delay if step.delay is not None else self._backoff(run.tries)
            if self._clock() + delay > job.deadline:
                return await self._give_up(run, "deadline_exceeded", step.reason)
            metrics.RETRIES.labels(reason=step.reason).inc()
            log.debug("%s: retry in %.2fs (%s)", job.key, delay, step.reason)
            if not await wait(self._sleep, delay, job.cancelled):
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")

    async def _attempt(self, run: _Run) -> DeliveryReport | _Retry:
        """One POST and, if its answer says so, one read-back: a final report or a retry."""
        job = run.job
        booked = None
        if self._guard:  # the write's slot first: it follows its read without queueing
            booked = self.api.limiter.book()
            guarded = await self._read_and_decide(run)
            if guarded is not None:
                return guarded
        exchange = await self._send(self.platform.wrapup_request(job.leg, job.code), run,
                                    max_wait=GUARD_WINDOW if self._guard else None,
                                    booked_at=booked)
        if exchange.response is None:
            if exchange.error == "cancelled":
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
            error = exchange.error or "transport_error"
            if not exchange.retryable:
                return self._report(run, Outcome.FAILED, error)
            return _Retry(_TRANSPORT_REASONS.get(error, error))
        answer = self.platform.classify(exchange.response, self._clock())
        if answer.conflict is not None:
            metrics.CONFLICTS.labels(reason=answer.conflict.value).inc()
        verdict = answer.verdict
        if verdict is Verdict.APPLIED:
            return self._report(run, Outcome.APPLIED, answer.reason)
        if verdict is Verdict.READ_BACK:
            return await self._settle_conflict(run, answer.conflict)
        if verdict is Verdict.RATE_LIMITED:
            return _Retry("rate_limited", self._pause(answer.retry_after))
        if verdict in (Verdict.NOT_READY, Verdict.TRANSIENT) or (
            verdict is Verdict.UNAUTHORIZED and self.api.auth.refreshable
        ):
            # Still 401 after the flow's refresh: a token revoked or rotated under us (or
            # a platform-side cache) — back off and retry within the attempts.
            return _Retry(answer.reason)
        return self._report(run, Outcome.FAILED, answer.reason)

    async def _settle_conflict(
        self, run: _Run, conflict: Conflict | None
    ) -> DeliveryReport | _Retry:
        """After an answer that may mean "already wrapped": read back and decide."""
        decided = await self._read_and_decide(run)
        if decided is not None:
            return decided
        if conflict is Conflict.ALREADY_WRAPPED:
            log.warning("%s: 409 says wrapped but read-back shows no code", run.job.key,
                        extra=run.job.log_extra)
        return _Retry("not_ready")

    async def _read_and_decide(self, run: _Run) -> DeliveryReport | _Retry | None:
        """Read back: a final report (a code on it, or a definite refusal), a retry (no
        answer yet), or None (no code on it: a POST may go)."""
        found = await self._read_back(run.job.leg, run)
        if found.reading is Reading.CANCELLED:
            return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
        if found.reading is Reading.SEEN:
            assert found.view is not None
            return self._verdict(run, found.view)
        if found.reading is Reading.RETRY:
            if found.reason == "rate_limited":
                return _Retry("rate_limited", found.delay)
            return _Retry("readback_failed")
        return self._report(run, Outcome.FAILED, found.reason)  # NOT_FOUND, REFUSED

    async def _readback_first(self, run: _Run) -> DeliveryReport | None:
        """Read back before POSTing: a final report if a code is already on the leg.

        A read-back that gets no answer is retried a few times with backoff before the
        POST: the resumed delivery may well have landed before the crash, and a POST
        after an applied wrap-up is what this read-back avoids.
        """
        for tries in range(1, READBACK_TRIES + 1):
            found = await self._read_back(run.job.leg, run)
            if found.reading is Reading.CANCELLED:
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
            if found.reading is Reading.SEEN:
                assert found.view is not None
                return self._verdict(run, found.view)
            if found.reading is Reading.NOT_FOUND:
                return self._report(run, Outcome.FAILED, found.reason)
            if found.reading is Reading.REFUSED:
                return None  # a definite answer that says nothing of a wrap-up: POST
            delay = found.delay if found.delay is not None else self._backoff(tries)
            metrics.RETRIES.labels(reason="readback_failed").inc()
            if tries < READBACK_TRIES and not await wait(self._sleep, delay, run.job.cancelled):
                return self._report(run, Outcome.SKIPPED, "cancelled_wrapped")
        return None  # still unknown: the POST is safe (a wrapped leg refuses it)

    async def _give_up(self, run: _Run, reason: str, last: str) -> DeliveryReport:
        """Out of attempts or time: one last read-back, so a leg that someone (or an
        earlier lost response of ours) did wrap is reported as such, not failed."""
        last_status = run.last_status  # the failure's, not the read-back's
        found = await self._read_back(run.job.leg, run)
        if found.reading is Reading.SEEN:
            assert found.view is not None
            verdict = self._verdict(run, found.view)
            if verdict is not None:
                return verdict
        run.last_status = last_status
        if last == "unauthorized":
            reason = "unauthorized"
        log.warning("%s: giving up (%s) after %d attempts, last: %s",
                    run.job.key, reason, run.tries, last, extra=run.job.log_extra)
        return self._report(run, Outcome.FAILED, reason)

    async def _read_back(self, leg: Leg, run: _Run | None = None) -> ReadBack:
        """The one read-back path: send the platform's read-back request, read the answer
        with :func:`~streams.delivery.readback.reading_of`; a 429's delay pauses the
        process."""
        exchange = await self._send(self.platform.readback_request(leg), run)
        found = reading_of(exchange, self.platform, refreshable=self.api.auth.refreshable,
                           now=self._clock())
        if found.reason == "rate_limited":
            self._pause(found.delay)
        return found

    def _verdict(self, run: _Run, current: WrapupView) -> DeliveryReport | None:
        if current.code_id == run.job.code.id:
            return self._report(run, Outcome.ALREADY_APPLIED, "readback_same_code")
        if current.code_id is not None:
            return self._report(run, Outcome.SKIPPED, "wrapped_by_other_code")
        if current.wrapped:
            return self._report(run, Outcome.SKIPPED, "wrapped_without_code")
        return None

    async def _send(self, request: ApiRequest, run: _Run | None,
                    max_wait: float | None = None, booked_at: float | None = None
                    ) -> Exchange:
        if run is None:
            return await self.api.request(request)
        if run.first_attempt_at is None:
            run.first_attempt_at = self._clock()
        exchange = await self.api.request(request, cancelled=run.job.cancelled,
                                          max_wait=max_wait, booked_at=booked_at)
        if exchange.response is not None:
            run.last_status = exchange.response.status_code
        if request.endpoint == "wrapup":
            run.posts += exchange.sent
        log.debug("%s: %s %s -> %s", run.job.key, request.method, request.endpoint,
                  exchange.status or exchange.error)
        return exchange

    def _pause(self, delay: float | None) -> float | None:
        """The server asked for ``delay`` seconds (429): hold every request that long."""
        if delay is not None:
            self.api.limiter.pause_until(self._monotonic() + delay)
            metrics.RATE_LIMIT_WAITS.labels(source="server").inc()
            metrics.RATE_LIMIT_WAIT_SECONDS.labels(source="server").inc(delay)
        return delay

    def _backoff(self, retry: int) -> float:
        return full_jitter(retry, base=self._backoff_base, cap=self._backoff_cap,
                           rand=self._rand)

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
            leg_id=run.job.leg_id,
        )


class _ReadbackPaths:
    """``Dispatcher.templates`` as replay's probe uses it (until it calls ``probe``)."""

    def __init__(self, platform: ApiSide) -> None:
        self._platform = platform

    def interaction_path(self, interaction_id: str) -> str:
        return self._platform.readback_request(Leg(interaction_id)).path


def _is_set(event: asyncio.Event | None) -> bool:
    return event is not None and event.is_set()
