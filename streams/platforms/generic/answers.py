"""The generic dialect's answers: what a 409 body says, and what an interaction GET says.

A 409 to a wrap-up POST is either "not ready yet" (the exact message below; retry) or
"already wrapped" (never overwrite: read back whose code is on it). Anything else is
settled by a GET. The GET's document is read leniently: a ``state`` (or ``status``)
field, and the code under ``wrapupCode.id`` (or ``wrapup.code.id`` / ``wrapupCodeId``).
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.platforms.base import Conflict, WrapupView

NOT_READY_MESSAGE = "The interaction is not in a state that allows wrap-up."
WRAPPED_STATES = frozenset({"wrapped", "wrapped-up", "wrapped_up", "wrapup-complete"})
WRAPPING_UP_STATES = frozenset({"wrapping-up", "wrapping_up", "wrapup", "acw", "wrapping"})


def classify_conflict(body: bytes) -> Conflict:
    """Classify a 409 by its body: the exact not-ready message, or any mention of "already"."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    texts: list[str] = []
    if isinstance(doc, dict):
        texts = [v for k, v in doc.items() if isinstance(v, str) and k != "id"]
        if doc.get("message") == NOT_READY_MESSAGE:
            return Conflict.NOT_READY
    elif body:
        texts = [body.decode("utf-8", "replace")]
    if any(NOT_READY_MESSAGE in t for t in texts):
        return Conflict.NOT_READY
    if any("already" in t.lower() for t in texts):
        return Conflict.ALREADY_WRAPPED
    return Conflict.OTHER


def interaction_view(doc: Any) -> WrapupView | None:
    """The view of an interaction document; None when it is not a JSON object."""
    if not isinstance(doc, dict):
        return None
    state = doc.get("state", doc.get("status"))
    state = state if isinstance(state, str) else None
    word = (state or "").lower()
    code_id = _code_id(doc)
    wrapped = code_id is not None or word in WRAPPED_STATES
    return WrapupView(wrapped, code_id, not wrapped and word in WRAPPING_UP_STATES, state)


def _code_id(doc: dict[str, Any]) -> str | None:
    candidates: list[Any] = [doc.get("wrapupCodeId")]
    for key in ("wrapupCode", "wrapup"):
        value = doc.get(key)
        if isinstance(value, dict):
            candidates.append(value.get("id"))
            code = value.get("code")
            candidates.append(code.get("id") if isinstance(code, dict) else code)
        elif isinstance(value, str):
            candidates.append(value)
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            return candidate
    return None
