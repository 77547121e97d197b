"""The platform API over TLS: a private CA (WRAPUP_API_CA_FILE), verification never
off, and the standard proxy variables honoured. A real HTTPS server on loopback."""

from __future__ import annotations

import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from streams.delivery import Dispatcher
from streams.dev.kafka.tls import TlsFiles, make_tls_files
from tests.delivery.fixtures import settings


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


@pytest.fixture
async def https_url(tls: TlsFiles) -> AsyncIterator[str]:
    async def interaction(request: web.Request) -> web.Response:
        return web.json_response({"id": request.match_info["iid"], "state": "wrapping-up"})

    app = web.Application()
    app.router.add_get("/api/v2/conversations/interactions/{iid}", interaction)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.broker_cert, tls.broker_key)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"https://127.0.0.1:{port}"
    await runner.cleanup()


async def probe(url: str, **env: str) -> int | None:
    dispatcher = Dispatcher.from_settings(settings(WRAPUP_API_BASE_URL=url,
                                                   WRAPUP_API_TOKEN="t", **env))
    try:
        return (await dispatcher.probe("i-1")).status
    finally:
        await dispatcher.aclose()


async def test_a_private_ca_is_trusted_only_when_given(https_url: str, tls: TlsFiles,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "SSL_CERT_FILE"):
        monkeypatch.delenv(var, raising=False)
    assert await probe(https_url, WRAPUP_API_CA_FILE=str(tls.ca)) == 200
    # Without it the system CAs do not know this one: refused, never silently accepted.
    assert await probe(https_url) is None


async def test_the_proxy_variables_are_honoured(https_url: str, tls: TlsFiles,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port where no proxy listens
        s.bind(("127.0.0.1", 0))
        dead_proxy = f"http://127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("HTTPS_PROXY", dead_proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert await probe(https_url, WRAPUP_API_CA_FILE=str(tls.ca)) is None  # via the proxy
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert await probe(https_url, WRAPUP_API_CA_FILE=str(tls.ca)) == 200
