"""The Genesys sample payloads (``fixtures/*.json``, each naming its source in ``_source``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

FIXTURES = Path(__file__).parent / "fixtures"
CONVERSATION = "5f0a3c1e-8b2d-4c6e-9a41-2d7b6e0c9f10"
AGENT_A = "a9e3d2c1-1111-4b2c-9d3e-00000000000a"
AGENT_B = "b8f4e3d2-2222-4c3d-8e4f-00000000000b"
USER_A = "7d1e2f3a-aaaa-4bbb-8ccc-0000000000a1"
USER_B = "7d1e2f3a-aaaa-4bbb-8ccc-0000000000b1"
QUEUE_SALES = "3c2b1a09-5555-4e6f-9a7b-0000000000f1"
QUEUE_RETENTION = "3c2b1a09-5555-4e6f-9a7b-0000000000f2"
COMM_A = "e0d1c2b3-3333-4f5a-8b6c-0000000000ca"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def doc(name: str) -> dict[str, Any]:
    value: dict[str, Any] = orjson.loads(raw(name))
    return value
