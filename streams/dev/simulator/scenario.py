"""The simulated contact center: campaigns, queues, valid codes, and the matching policy.

The simulator and the worker must agree on which codes exist: the platform answers 400
to a code that is not valid for the interaction's queue, and the worker posts the code
the policy names. :meth:`Scenario.policy_json` renders the policy the worker should use
(the default scenario's is checked in as ``examples/policy.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.policy import Policy, Rule, WrapupCode

# The code the platform applies when the after-call-work timer runs out.
ACW_TIMEOUT_CODE = WrapupCode("wc-acw-timeout", "ACW timeout - default")


@dataclass(frozen=True, slots=True)
class Campaign:
    """An outbound/inbound campaign: its queues and share of the traffic."""

    id: str
    queues: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Queue:
    """A queue and the codes its agents pick from in the UI."""

    id: str
    agent_codes: tuple[WrapupCode, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Campaigns, queues and the in-scope mapping (the policy) of one simulated center."""

    campaigns: tuple[Campaign, ...]
    queues: tuple[Queue, ...]
    rules: tuple[Rule, ...]
    acw_timeout_code: WrapupCode = ACW_TIMEOUT_CODE

    def __post_init__(self) -> None:
        known = {q.id for q in self.queues}
        for campaign in self.campaigns:
            missing = set(campaign.queues) - known
            if missing:
                raise ValueError(f"campaign {campaign.id} uses unknown queues {sorted(missing)}")

    @property
    def policy(self) -> Policy:
        return Policy(self.rules)

    def queue(self, queue_id: str) -> Queue:
        for queue in self.queues:
            if queue.id == queue_id:
                return queue
        raise KeyError(queue_id)

    def valid_codes(self, queue_id: str) -> dict[str, WrapupCode]:
        """Codes the platform accepts for an interaction of this queue, by id.

        The queue's agent codes, the ACW default, and every policy code whose rule can
        apply to the queue (so the worker's code is always valid where it is in scope).
        """
        codes = {c.id: c for c in self.queue(queue_id).agent_codes}
        codes[self.acw_timeout_code.id] = self.acw_timeout_code
        for rule in self.rules:
            if rule.queue is None or rule.queue == queue_id:
                codes[rule.code.id] = rule.code
        return codes

    def policy_document(self) -> dict[str, object]:
        """The policy in the worker's JSON shape (see :mod:`streams.policy`)."""
        rules: list[dict[str, object]] = []
        for rule in self.rules:
            item: dict[str, object] = {}
            if rule.campaign is not None:
                item["campaign"] = rule.campaign
            if rule.queue is not None:
                item["queue"] = rule.queue
            item["code"] = {"id": rule.code.id, "label": rule.code.label}
            rules.append(item)
        return {"rules": rules}

    def policy_json(self) -> bytes:
        return orjson.dumps(self.policy_document(), option=orjson.OPT_INDENT_2) + b"\n"

    def write_policy(self, path: Path | str) -> Path:
        """Write :meth:`policy_json` to ``path`` (parents created); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.policy_json())
        return target


def _codes(prefix: str, *labels: str) -> tuple[WrapupCode, ...]:
    return tuple(
        WrapupCode(f"wc-{prefix}-{label.lower().replace(' ', '-')}", label) for label in labels
    )


def default_scenario() -> Scenario:
    """Four campaigns over four queues; c-survey on q-support and c-promo off q-sales are
    out of scope, everything else maps to a code."""
    return Scenario(
        campaigns=(
            Campaign("c-renewals", ("q-sales", "q-retention"), weight=4),
            Campaign("c-collections", ("q-billing",), weight=3),
            Campaign("c-promo", ("q-sales", "q-support"), weight=2),
            Campaign("c-survey", ("q-support", "q-billing"), weight=1),
        ),
        queues=(
            Queue("q-sales", _codes("sales", "Sale", "No sale", "Callback")),
            Queue("q-retention", _codes("retention", "Retained", "Churned")),
            Queue("q-billing", _codes("billing", "Paid", "Promise to pay", "Dispute")),
            Queue("q-support", _codes("support", "Resolved", "Escalated")),
        ),
        rules=(
            Rule(WrapupCode("wc-renewal", "Renewal - auto"), campaign="c-renewals"),
            Rule(WrapupCode("wc-collections", "Collections - auto"), campaign="c-collections"),
            Rule(WrapupCode("wc-promo", "Promo - auto"), campaign="c-promo", queue="q-sales"),
            Rule(WrapupCode("wc-billing", "Billing - auto"), queue="q-billing"),
        ),
    )
