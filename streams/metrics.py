"""Every Prometheus metric the service exports, defined in one place.

Names follow Prometheus conventions: base units (``_seconds``), counters end in
``_total``, and labels are bounded (event type, result, reason, outcome, status
class, endpoint, partition) — never an interaction, leg, agent or contact ID. The join's
unit is the agent leg: counts and gauges of "interactions" below count legs (one per
interaction where a platform has one leg per interaction).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

# Buckets chosen per quantity: decisions are sub-10 ms to seconds, API calls
# tens of ms to tens of seconds, pairing waits and end-to-end latency up to minutes.
DECISION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
WAIT_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)

EVENTS = Counter(
    "wrapup_events_total",
    "Platform events consumed, by event type and result (accepted, ignored, rejected).",
    ["type", "result"],
)
EVENTS_REJECTED = Counter(
    "wrapup_events_rejected_total",
    "Events that failed validation, by reason; each is dead-lettered.",
    ["reason"],
)
JOIN_DECISIONS = Counter(
    "wrapup_join_decisions_total",
    "Join transitions, by action (none, post, cancel, publish) and reason.",
    ["action", "reason"],
)
PAIRS_COMPLETED = Counter(
    "wrapup_pairs_completed_total",
    "Agent legs whose ended and wrapping-up events have both arrived (in scope).",
)
EXPIRED = Counter(
    "wrapup_expired_total",
    "Pending agent legs that expired unpaired, by what was missing.",
    ["missing"],
)
PENDING = Gauge(
    "wrapup_pending_interactions",
    "Agent legs waiting for their partner event, on this worker.",
)
TABLE_ENTRIES = Gauge(
    "wrapup_table_entries",
    "Agent legs held in the join table on this worker, by status.",
    ["status"],
)
DECISION_LATENCY = Histogram(
    "wrapup_decision_latency_seconds",
    "From the second of the pair being processed to the wrap-up POST being sent.",
    buckets=DECISION_BUCKETS,
)
PAIRING_WAIT = Histogram(
    "wrapup_pairing_wait_seconds",
    "From the first event of a pair being seen to the second (processing time).",
    buckets=WAIT_BUCKETS,
)
END_TO_END_LATENCY = Histogram(
    "wrapup_end_to_end_latency_seconds",
    "From the leg's ended event (event time) to the wrap-up being applied.",
    buckets=WAIT_BUCKETS,
)
API_REQUESTS = Counter(
    "wrapup_api_requests_total",
    "Contact-center API requests, by endpoint (wrapup, interaction, token) and status "
    "(HTTP code, or timeout / connect_error).",
    ["endpoint", "status", "status_class"],
)
API_REQUEST_DURATION = Histogram(
    "wrapup_api_request_duration_seconds",
    "Duration of contact-center API requests, by endpoint and status class.",
    ["endpoint", "status_class"],
    buckets=REQUEST_BUCKETS,
)
CONFLICTS = Counter(
    "wrapup_conflicts_total",
    "409 answers to wrap-up POSTs, by reason (not_ready, already_wrapped, other).",
    ["reason"],
)
RETRIES = Counter(
    "wrapup_retries_total",
    "Wrap-up attempts retried, by reason (not_ready, rate_limited, server_error, timeout, "
    "connection, unauthorized).",
    ["reason"],
)
OUTCOMES = Counter(
    "wrapup_outcomes_total",
    "Final wrap-up outcomes (applied, already_applied, skipped, failed, expired), by reason.",
    ["outcome", "reason"],
)
IN_FLIGHT = Gauge(
    "wrapup_dispatch_in_flight",
    "Wrap-up deliveries currently running on this worker.",
)
TOKEN_REFRESHES = Counter(
    "wrapup_token_refreshes_total",
    "OAuth2 access-token fetches, by result (ok, error).",
    ["result"],
)
RATE_LIMIT_WAITS = Counter(
    "wrapup_rate_limit_waits_total",
    "Requests that had to wait, by limiter (client token bucket, server Retry-After).",
    ["source"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "wrapup_rate_limit_wait_seconds_total",
    "Seconds spent waiting for rate limits, by limiter (client, server).",
    ["source"],
)
DEAD_LETTERS = Counter(
    "wrapup_dead_letters_total",
    "Records written to the dead-letter topic, by kind (event, delivery) and reason.",
    ["kind", "reason"],
)
REBALANCES = Counter(
    "wrapup_rebalances_total",
    "Partition assignments received by this worker.",
)
SOURCE_HOLES = Counter(
    "wrapup_source_holes_total",
    "Holes in a source partition (records Faust skipped after a rebalance) read and processed.",
    ["source"],
)
for _source in ("events", "outcomes"):
    SOURCE_HOLES.labels(_source)  # exported at 0 from the start: rare, but graphed
EVENTS_CLOCK_SKEWED = Counter(
    "wrapup_events_clock_skewed_total",
    "Events whose timestamp was further than WRAPUP_CLOCK_SKEW_WARN_SECONDS from the "
    "worker's clock when read, by direction (past: a slow bridge clock or a backlog; "
    "future: a fast clock).",
    ["direction"],
)
for _direction in ("past", "future"):
    EVENTS_CLOCK_SKEWED.labels(_direction)
READY = Gauge(
    "wrapup_ready",
    "1 when this worker has its partitions assigned and its table recovered.",
)
CONSUMER_LAG = Gauge(
    "wrapup_consumer_lag_messages",
    "Messages behind the partition's high-water mark, per assigned source partition.",
    ["topic", "partition"],
)
POLICY_INFO = Gauge(
    "wrapup_policy_info",
    "1 for the policy version (a short content hash) this worker applies now.",
    ["version"],
)
POLICY_RELOADS = Counter(
    "wrapup_policy_reloads_total",
    "Changed policy files seen, by result (applied, refused: invalid, the old policy stays).",
    ["result"],
)
for _result in ("applied", "refused"):
    POLICY_RELOADS.labels(_result)


@cache
def child(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, bound once: the per-event counters' children (label
    sets are bounded, see the module docstring; ``labels()`` locks and builds a key)."""
    return metric.labels(*labels)
