"""The generic dialect's paths and wrap-up body, rendered from the configured templates.

The body template is JSON text with ``{codeId}`` / ``{codeLabel}`` placeholders inside
strings. It is parsed once with the placeholders swapped for sentinels, and values are
substituted into the parsed structure, so a label holding quotes, backslashes or braces
can never change the document's shape. Interaction IDs are percent-encoded into paths.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson

from streams.policy import WrapupCode

_ID = "\u2063wrapup-code-id\u2063"  # invisible separators: cannot occur in a real template
_LABEL = "\u2063wrapup-code-label\u2063"


class Templates:
    """Renders the wrap-up POST path and body and the interaction GET path."""

    def __init__(self, wrapup_path: str, interaction_path: str, body_template: str) -> None:
        for name, path in (("wrapup_path", wrapup_path), ("interaction_path", interaction_path)):
            if "{interactionId}" not in path:
                raise ValueError(f"{name} must contain {{interactionId}}")
        self._wrapup_path = wrapup_path
        self._interaction_path = interaction_path
        text = body_template.replace("{codeId}", _ID).replace("{codeLabel}", _LABEL)
        try:
            self._body: Any = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ValueError("body template is not JSON once placeholders are filled") from None

    def wrapup_path(self, interaction_id: str) -> str:
        return self._wrapup_path.replace("{interactionId}", quote(interaction_id, safe=""))

    def interaction_path(self, interaction_id: str) -> str:
        return self._interaction_path.replace("{interactionId}", quote(interaction_id, safe=""))

    def body(self, code: WrapupCode) -> Any:
        """The POST body for ``code``: the template's document with the values filled in."""
        return _fill(self._body, code)


def _fill(node: Any, code: WrapupCode) -> Any:
    if isinstance(node, str):
        return node.replace(_ID, code.id).replace(_LABEL, code.label)
    if isinstance(node, dict):
        return {_fill(k, code): _fill(v, code) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill(v, code) for v in node]
    return node
