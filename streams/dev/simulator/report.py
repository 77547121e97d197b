"""Judging a side of the comparison from the platform's ledger, and the table of results.

An "interaction" here is a ledger key: an agent leg in a per-leg dialect (Genesys).

Pure: :func:`judge` scores one side, :func:`render` prints the sides next to each other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from streams.dev.simulator.ledger import Ledger, RequestRecord
from streams.dev.simulator.workload import Workload


@dataclass(frozen=True, slots=True)
class SideReport:
    """How one consumer did on the workload, from the platform's ledger."""

    side: str
    interactions: int
    in_scope: int
    applied_by_us: int
    wrong_code: int
    applied_out_of_scope: int
    max_applied_per_interaction: int
    not_ready_409: int
    not_ready_slow_transition: int  # ... for interactions whose transition > baseline delay
    already_wrapped_409: int
    other_failures: dict[str, int]  # 400/401/429/5xx/timeouts, by reason
    api_calls: int
    token_calls: int
    left_to_agent: int
    left_to_acw: int
    unwrapped: int  # in scope
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None
    duplicate_effective: int
    wall_seconds: float = 0.0
    wrapup_requests: int = 0  # every request to a wrap-up route (POST, or a dialect's PATCH)

    @property
    def calls_per_applied(self) -> float | None:
        return self.api_calls / self.applied_by_us if self.applied_by_us else None

    @property
    def wrapups_per_applied(self) -> float | None:
        return self.wrapup_requests / self.applied_by_us if self.applied_by_us else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def _api(r: RequestRecord) -> bool:
    """A request to one of the dialect's API routes (they all name an interaction; the
    token and discovery routes do not)."""
    return r.interaction_id is not None


def judge(side: str, workload: Workload, ledger: Ledger, *, speed: float = 1.0,
          baseline_delay: float = 2.5, wall_seconds: float = 0.0) -> SideReport:
    """Score one side from its ledger (latencies in simulated seconds)."""
    plan = workload.by_id()
    posts = ledger.posts()
    reasons = Counter(r.reason for r in posts)
    failures = Counter(
        r.reason for r in ledger.requests
        if _api(r) and r.reason not in ("applied", "ok", "not_ready", "already_wrapped",
                                        "no_wrapup", "credentials_issued")
    )
    slow = sum(
        1 for r in posts
        if r.reason == "not_ready" and r.interaction_id in plan
        and plan[r.interaction_id].transition > baseline_delay
    )
    ours = ledger.wrapped_by("api")
    wrong = sum(
        1 for w in ours
        if (p := plan.get(w.interaction_id)) is not None
        and p.expected_code is not None and p.expected_code.id != w.code_id
    )
    out_of_scope = sum(
        1 for w in ours if (p := plan.get(w.interaction_id)) is None or p.expected_code is None
    )
    in_scope = [p for p in workload.interactions if p.in_scope]
    by_in_scope = Counter(
        w.by for p in in_scope if (w := ledger.wrapup(p.interaction_id)) is not None
    )
    latencies = [w.latency * speed for w in ours]
    per_interaction = Counter(r.interaction_id for r in posts if r.reason == "applied")
    return SideReport(
        side=side,
        interactions=len(workload.interactions),
        in_scope=len(in_scope),
        applied_by_us=len(ours),
        wrong_code=wrong,
        applied_out_of_scope=out_of_scope,
        max_applied_per_interaction=max(per_interaction.values(), default=0),
        not_ready_409=reasons["not_ready"],
        not_ready_slow_transition=slow,
        already_wrapped_409=reasons["already_wrapped"],
        other_failures=dict(failures),
        api_calls=sum(1 for r in ledger.requests if _api(r)),
        token_calls=sum(1 for r in ledger.requests if not _api(r)),  # token, discovery
        left_to_agent=by_in_scope["agent"],
        left_to_acw=by_in_scope["platform"],
        unwrapped=sum(1 for p in in_scope if ledger.wrapup(p.interaction_id) is None),
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        latency_p99=percentile(latencies, 99),
        duplicate_effective=len(ledger.duplicate_wrapups),
        wall_seconds=wall_seconds,
        wrapup_requests=len(posts),
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f} ms"


def render(reports: Sequence[SideReport], *, title: str = "") -> str:
    """A plain-text table, one column per side."""
    rows: list[tuple[str, Callable[[SideReport], str]]] = [
        ("interactions (in scope)", lambda r: f"{r.interactions} ({r.in_scope})"),
        ("wrap-ups applied by us", lambda r: str(r.applied_by_us)),
        ("  wrong code / out of scope", lambda r: f"{r.wrong_code} / {r.applied_out_of_scope}"),
        ("  max applied per interaction", lambda r: str(r.max_applied_per_interaction)),
        ("409 not ready", lambda r: str(r.not_ready_409)),
        ("  of which transition > delay", lambda r: str(r.not_ready_slow_transition)),
        ("409 already wrapped", lambda r: str(r.already_wrapped_409)),
        ("other API failures", lambda r: ", ".join(
            f"{k} {v}" for k, v in sorted(r.other_failures.items())) or "0"),
        ("API calls (+ token calls)", lambda r: f"{r.api_calls} (+{r.token_calls})"),
        ("API calls per applied wrap-up", lambda r: "-" if r.calls_per_applied is None
         else f"{r.calls_per_applied:.2f}"),
        ("wrap-up requests per applied", lambda r: "-" if r.wrapups_per_applied is None
         else f"{r.wrapups_per_applied:.2f}"),
        ("in scope, left to the agent", lambda r: str(r.left_to_agent)),
        ("in scope, left to ACW timeout", lambda r: str(r.left_to_acw)),
        ("in scope, not wrapped at the end", lambda r: str(r.unwrapped)),
        ("latency wrapping-up→applied p50", lambda r: _ms(r.latency_p50)),
        ("                            p95", lambda r: _ms(r.latency_p95)),
        ("                            p99", lambda r: _ms(r.latency_p99)),
        ("effective wrap-ups > 1 (bug)", lambda r: str(r.duplicate_effective)),
        ("wall time", lambda r: f"{r.wall_seconds:.0f} s"),
    ]
    width = max(len(label) for label, _ in rows)
    cols = [[fn(r) for _, fn in rows] for r in reports]
    col_w = [max(len(r.side), *(len(c) for c in col)) for r, col in zip(reports, cols, strict=True)]
    lines = [title] if title else []
    lines.append(" " * width + " | " + " | ".join(
        r.side.rjust(w) for r, w in zip(reports, col_w, strict=True)))
    lines.append("-" * (width + sum(w + 3 for w in col_w)))
    for i, (label, _) in enumerate(rows):
        cells = [col[i].rjust(w) for col, w in zip(cols, col_w, strict=True)]
        lines.append(label.ljust(width) + " | " + " | ".join(cells))
    return "\n".join(lines)
