"""Which wrap-ups a replay should deliver: the join core folded over scanned records.

Pure (no I/O, no clock). :class:`Planner` feeds every scanned record through
:func:`streams.join.decide`, the worker's own transition, with the record's Kafka
timestamp as ``now``, and keeps one :class:`~streams.join.InteractionState` per agent
leg in a dict keyed by ``Event.key`` (the worker's table, in memory). There is no other
join.

* A ``POST`` decision made at a record at or after the window start (per partition: the
  offset for ``--since``) makes the leg a :class:`Candidate`. Pairs completed
  in the look-back margin before the window belong to the previous window and are not
  candidates; the margin exists so that a pair whose first event precedes ``--since``
  is still found when its second event is inside the window.
* A later ``CANCEL`` (the agent or the platform wrapped it) marks the candidate skipped.
* Records the worker would reject (unparseable, or keyed by something other than the
  interaction ID) are counted and ignored, exactly as the worker ignores them.

``now`` is the record timestamp, not the wall clock: the pending TTL is measured between
the records' times, which is what a worker that was running at the time measured (it
processes a record moments after it is appended), so a replay pairs what a live worker
would have paired and expires what it would have expired. Terminal states are never
forgotten during a scan (the worker forgets them after the retention): that only makes
a replay more conservative.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, cast

import orjson

from streams.events import Event, Rejection, is_ignorable, leg_key, parse_event
from streams.join import Action, InteractionState, JoinRules, Status, decide, expire
from streams.policy import WrapupCode


class ScanRecord(Protocol):
    """The fields of a Kafka record the planner reads (aiokafka's ConsumerRecord fits)."""

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int: ...  # milliseconds

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


class Candidate(NamedTuple):
    """A leg's pair completed inside the window: deliver ``code`` unless ``skip_reason``
    is set."""

    interaction_id: str
    partition: int
    code: WrapupCode
    deadline: float  # the ACW deadline the join computed (event time, epoch seconds)
    paired_at: float  # timestamp of the record that completed the pair
    skip_reason: str | None = None  # e.g. wrapped_by_agent: a later event says it is wrapped
    leg_id: str | None = None  # None: the interaction's only leg
    communication_id: str | None = None
    media_type: str | None = None

    @property
    def key(self) -> str:
        """The leg key (:func:`streams.events.leg_key`): ledger and outcomes record key."""
        return leg_key(self.interaction_id, self.leg_id)


# A record value to events (one, several legs', none) or a rejection.
Decode = Callable[[bytes | None], Event | tuple[Event, ...] | Rejection]


_new_tuple = tuple.__new__  # a named tuple from a sequence, without its Python __new__
_PAIRING_ORDER = operator.attrgetter("paired_at", "partition")


@dataclass(repr=False)
class Plan:
    """What the scan found: candidates in pairing order, and counts for the summary."""

    candidates: list[Candidate] = field(default_factory=list)
    events_scanned: int = 0  # every record read, look-back margin included
    events_in_window: int = 0
    rejected: Counter[str] = field(default_factory=Counter)  # by reason (window and margin)
    decisions: Counter[str] = field(default_factory=Counter)  # join reasons, window records
    pairs_before_window: int = 0
    unpaired: Counter[str] = field(default_factory=Counter)  # still pending at the end

    @property
    def pairs_found(self) -> int:
        return len(self.candidates)

    def __repr__(self) -> str:
        # Counts, not the candidates: asyncio.run() builds the repr of its task, result
        # included, when it restores the SIGINT handler (CPython 3.11). A dataclass repr of
        # a million candidates took about a second at the end of every scan process.
        return (f"Plan(candidates={len(self.candidates)}, "
                f"events_scanned={self.events_scanned}, "
                f"events_in_window={self.events_in_window})")

    def to_bytes(self) -> bytes:
        """JSON for another process: candidates as arrays, codes by index (about ten
        times faster than pickling them)."""
        codes: dict[WrapupCode, int] = {}
        rows = []
        for c in self.candidates:
            index = codes.get(c.code)
            if index is None:
                index = codes[c.code] = len(codes)
            rows.append((c.interaction_id, c.partition, index, c.deadline, c.paired_at,
                         c.skip_reason, c.leg_id, c.communication_id, c.media_type))
        return orjson.dumps({
            "codes": [(code.id, code.label) for code in codes],
            "candidates": rows,
            "events_scanned": self.events_scanned,
            "events_in_window": self.events_in_window,
            "rejected": self.rejected,
            "decisions": self.decisions,
            "pairs_before_window": self.pairs_before_window,
            "unpaired": self.unpaired,
        })

    @classmethod
    def from_bytes(cls, raw: bytes) -> Plan:
        """Inverse of :meth:`to_bytes`."""
        doc = orjson.loads(raw)
        codes = [WrapupCode(code_id, label) for code_id, label in doc["codes"]]
        candidates = [
            _new_tuple(Candidate, (iid, partition, codes[index], deadline, paired_at, skip,
                                   *leg))
            for iid, partition, index, deadline, paired_at, skip, *leg in doc["candidates"]
        ]
        return cls(candidates=candidates, events_scanned=doc["events_scanned"],
                   events_in_window=doc["events_in_window"],
                   rejected=Counter(doc["rejected"]), decisions=Counter(doc["decisions"]),
                   pairs_before_window=doc["pairs_before_window"],
                   unpaired=Counter(doc["unpaired"]))

    @classmethod
    def merge(cls, plans: Sequence[Plan]) -> Plan:
        """One plan from plans of disjoint partitions (candidates in pairing order)."""
        out = cls()
        for plan in plans:
            out.candidates += plan.candidates
            out.events_scanned += plan.events_scanned
            out.events_in_window += plan.events_in_window
            out.pairs_before_window += plan.pairs_before_window
            out.rejected.update(plan.rejected)
            out.decisions.update(plan.decisions)
            out.unpaired.update(plan.unpaired)
        out.candidates.sort(key=_PAIRING_ORDER)
        return out


class Planner:
    """Folds batches of records (one partition per batch, in offset order) into a plan.

    ``decode`` turns a record value into events (one, several legs' or none) or a
    rejection: the generic parser unless told otherwise (a platform's events side)."""

    def __init__(
        self, rules: JoinRules, window_start: Mapping[int, int], *, keyed: bool = True,
        decode: Decode = parse_event,
    ) -> None:
        self.rules = rules
        self.window_start = dict(window_start)
        self.keyed = keyed
        self.decode = decode
        self.states: dict[str, InteractionState] = {}
        self._candidates: dict[str, Candidate] = {}
        self._skipped: dict[str, str] = {}
        self._plan = Plan()
        self._latest = 0.0

    def feed(self, partition: int, records: Sequence[ScanRecord]) -> None:
        """Fold one partition's records, in offset order."""
        rules, states, plan = self.rules, self.states, self._plan
        start = self.window_start.get(partition, 0)
        keyed = self.keyed
        post, cancel = Action.POST, Action.CANCEL
        candidates, skipped = self._candidates, self._skipped
        get_state, pop_state = states.get, states.pop
        reasons: list[str] = []  # decisions inside the window, counted once per batch
        rejected: list[str] = []
        in_window = 0
        latest = self._latest
        decode = self.decode
        for record in records:
            window = record.offset >= start
            decoded = decode(record.value)
            if type(decoded) is Event:
                events: tuple[Event, ...] = (decoded,)
            elif type(decoded) is tuple:
                events = cast("tuple[Event, ...]", decoded)
            else:
                assert isinstance(decoded, Rejection)
                rejected.append("ignored" if is_ignorable(decoded) else decoded.reason.value)
                in_window += window
                continue
            key = record.key
            if keyed and key is not None and any(key != e.interaction_id.encode()
                                                 for e in events):
                rejected.append("key_mismatch")
                in_window += window
                continue
            if not events:
                rejected.append("ignored")
                in_window += window
                continue
            now = record.timestamp / 1000.0
            if now > latest:
                latest = now
            in_window += window
            for event in events:
                lkey = event.key
                state, decision = decide(get_state(lkey), event, now, rules)
                if state is None:
                    pop_state(lkey, None)
                else:
                    states[lkey] = state
                action = decision.action
                if window:
                    reasons.append(decision.reason)
                    if action is post:
                        assert state is not None and decision.code is not None
                        assert decision.deadline is not None
                        candidates[lkey] = _new_tuple(Candidate, (
                            event.interaction_id, partition, decision.code, decision.deadline,
                            now, None, event.leg_id, state.communication_id, state.media_type))
                    elif action is cancel and lkey in candidates:
                        skipped.setdefault(lkey, decision.reason)
                elif action is post:
                    plan.pairs_before_window += 1
                elif action is cancel and lkey in candidates:
                    skipped.setdefault(lkey, decision.reason)
        plan.decisions.update(reasons)
        plan.rejected.update(rejected)
        plan.events_scanned += len(records)
        plan.events_in_window += in_window
        self._latest = latest

    def result(self) -> Plan:
        """The plan so far: candidates (with skip reasons) and pending states by reason."""
        plan = self._plan
        skipped = self._skipped
        plan.candidates = list(self._candidates.values())
        if skipped:
            plan.candidates = [c if c.key not in skipped
                               else c._replace(skip_reason=skipped[c.key])
                               for c in plan.candidates]
        plan.unpaired = Counter()
        for state in self.states.values():
            if state.status is Status.PENDING:
                # The reason the worker's expiry would give it (missing_ended, ...).
                at = max(state.expires_at, self._latest)
                plan.unpaired[expire(state, at, self.rules).decision.reason] += 1
        return plan
