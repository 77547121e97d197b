"""The simulator's dialect seam: the registry, the generic defaults, and an extension."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import orjson
import pytest

from streams.dev.simulator.dialects import DIALECTS, Dialect, Route, load
from streams.dev.simulator.dialects.generic import GenericDialect
from streams.dev.simulator.lifecycle import Timeline
from streams.dev.simulator.platform import (
    INTERACTION_PATH,
    TOKEN_PATH,
    WRAPUP_PATH,
    AuthConfig,
    InteractionInfo,
    Platform,
)
from streams.dev.simulator.server import PlatformServer


def test_registry_loads_generic_and_refuses_unknown() -> None:
    assert "generic" in DIALECTS
    assert isinstance(load("generic"), GenericDialect)
    with pytest.raises(ValueError, match="unknown simulator dialect 'nope'"):
        load("nope")


def test_generic_routes_are_the_historic_ones() -> None:
    assert load().routes() == (Route("POST", TOKEN_PATH, "token"),
                               Route("GET", INTERACTION_PATH, "readback"),
                               Route("POST", WRAPUP_PATH, "wrapup"))


async def _url(server: PlatformServer) -> str:
    return server.base_url


class _Renamed(Dialect):
    """A dialect that only moves the wrap-up route and renames the body field."""

    name = "renamed"

    def routes(self) -> tuple[Route, ...]:
        return (Route("PUT", "/v9/legs/{leg}/code", "wrapup"),
                Route("GET", "/v9/legs/{leg}", "readback"))

    def key(self, match_info: Mapping[str, str]) -> str:
        return match_info["leg"]

    def parse_wrapup(self, method: str, raw: bytes) -> str:
        return str(orjson.loads(raw)["code"])


async def test_a_subclass_changes_only_what_it_overrides() -> None:
    platform = Platform(auth=AuthConfig(static_token="t"))
    now = platform.clock()
    platform.add_interaction(InteractionInfo("ix-1", "a-1", "c-renewals", "q-sales"),
                             Timeline(now - 3, now - 2, now - 1, now + 60))
    server = PlatformServer(platform, dialect=_Renamed())
    async with server, httpx.AsyncClient(base_url=await _url(server),
                                         headers={"Authorization": "Bearer t"}) as http:
        old = await http.post("/api/v2/conversations/interactions/ix-1/wrapup",
                              json={"wrapupCode": {"id": "wc-renewal"}})
        put = await http.put("/v9/legs/ix-1/code", json={"code": "wc-renewal"})
        again = await http.put("/v9/legs/ix-1/code", json={"code": "wc-renewal"})
        got = await http.get("/v9/legs/ix-1")
    assert old.status_code == 404  # the generic route is gone
    assert put.status_code == 200 and again.status_code == 409
    assert got.json()["wrapupCode"]["id"] == "wc-renewal"
    assert [r.status for r in platform.ledger.posts()] == [200, 409]  # by route, not method
    assert platform.ledger.wrapup("ix-1") is not None
