"""Which interactions are in scope, and which wrap-up code each one gets.

A policy is a list of rules, each matching a campaign, a queue, or both, and naming
a code. The most specific matching rule wins (campaign+queue, then campaign, then
queue). The document is JSON, from a file or an environment variable::

    {"rules": [
        {"campaign": "c-renewals", "code": {"id": "wc-renewal", "label": "Renewal - auto"}},
        {"queue": "q-billing", "code": {"id": "wc-billing", "label": "Billing - auto"}},
        {"campaign": "c-promo", "queue": "q-sales", "code": {"id": "wc-promo", "label": "Promo"}}
    ]}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson


class PolicyError(ValueError):
    """The policy document is malformed; the message says where."""


@dataclass(frozen=True, slots=True)
class WrapupCode:
    """A disposition code as the platform API expects it."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class Rule:
    """One mapping: interactions of this campaign and/or queue get ``code``."""

    code: WrapupCode
    campaign: str | None = None
    queue: str | None = None

    def matches(self, campaign: str | None, queue: str | None) -> bool:
        """True when every field the rule names equals the interaction's."""
        return (self.campaign is None or self.campaign == campaign) and (
            self.queue is None or self.queue == queue
        )

    def could_match(self, campaign: str | None, queue: str | None) -> bool:
        """Like :meth:`matches`, treating an unknown (None) field as a wildcard."""
        return (self.campaign is None or campaign is None or self.campaign == campaign) and (
            self.queue is None or queue is None or self.queue == queue
        )

    @property
    def specificity(self) -> int:
        return (2 if self.campaign is not None else 0) + (1 if self.queue is not None else 0)


_MEMO_LIMIT = 4096  # distinct (campaign, queue) pairs remembered per policy


@dataclass(frozen=True, slots=True)
class Policy:
    """An ordered set of rules; pure lookups, no I/O.

    Lookups are memoized per (campaign, queue): the join asks for every event, and the
    answer depends only on the rules. The memo is bounded and invisible to callers.
    """

    rules: tuple[Rule, ...]
    _memo: dict[tuple[str | None, str | None], tuple[bool, WrapupCode | None]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def resolve(self, campaign: str | None, queue: str | None) -> WrapupCode | None:
        """The code for an interaction, or None when it is out of scope."""
        return self._lookup(campaign, queue)[1]

    def could_be_in_scope(self, campaign: str | None, queue: str | None) -> bool:
        """False only when no rule can match, whatever the unknown fields turn out to be."""
        return self._lookup(campaign, queue)[0]

    def _lookup(self, campaign: str | None,
                queue: str | None) -> tuple[bool, WrapupCode | None]:
        """(could be in scope, code), computed once per (campaign, queue)."""
        key = (campaign, queue)
        answer = self._memo.get(key)
        if answer is None:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            answer = self._memo[key] = (
                any(rule.could_match(campaign, queue) for rule in self.rules),
                self._best(campaign, queue),
            )
        return answer

    def rule_for(self, campaign: str | None, queue: str | None) -> Rule | None:
        """The rule that decides an interaction's code (the most specific match), or None."""
        best: Rule | None = None
        for rule in self.rules:
            if rule.matches(campaign, queue) and (
                best is None or rule.specificity > best.specificity
            ):
                best = rule
        return best

    def _best(self, campaign: str | None, queue: str | None) -> WrapupCode | None:
        best = self.rule_for(campaign, queue)
        return best.code if best is not None else None

    @classmethod
    def from_json(cls, raw: bytes | str) -> Policy:
        """Parse a policy document; raises :class:`PolicyError` naming the bad part."""
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise PolicyError(f"not valid JSON: {exc}") from None
        items = doc.get("rules") if isinstance(doc, dict) else doc
        if not isinstance(items, list) or not items:
            raise PolicyError('expected {"rules": [...]} with at least one rule')
        rules = tuple(_rule(i, item) for i, item in enumerate(items))
        seen: dict[tuple[str | None, str | None], int] = {}
        for i, rule in enumerate(rules):
            first = seen.setdefault((rule.campaign, rule.queue), i)
            if first != i:
                # Equal specificity: which code wins would depend on the order of the file.
                raise PolicyError(f"rules[{i}] repeats rules[{first}]'s campaign and queue")
        return cls(rules)


def _rule(index: int, item: Any) -> Rule:
    where = f"rules[{index}]"
    if not isinstance(item, dict):
        raise PolicyError(f"{where} must be an object")
    campaign = _opt_str(item, "campaign", where)
    queue = _opt_str(item, "queue", where)
    if campaign is None and queue is None:
        raise PolicyError(f"{where} names neither a campaign nor a queue")
    code = item.get("code")
    if not isinstance(code, dict):
        raise PolicyError(f"{where}.code must be an object with id and label")
    code_id = _opt_str(code, "id", f"{where}.code")
    label = _opt_str(code, "label", f"{where}.code")
    if code_id is None or label is None:
        raise PolicyError(f"{where}.code needs a non-empty id and label")
    return Rule(WrapupCode(code_id, label), campaign=campaign, queue=queue)


def _opt_str(obj: dict[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}.{key} must be a non-empty string")
    return value
