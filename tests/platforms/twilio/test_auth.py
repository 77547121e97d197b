"""Basic auth for TaskRouter: a 401 is final, unless a credential file has changed."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx

from streams.platforms.twilio import TwilioBasicAuth
from streams.platforms.twilio.settings import Credential
from tests.platforms.twilio.fixtures import API_KEY


def basic(user: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


class Server:
    """Accepts one secret; records every Authorization header it sees."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers["Authorization"])
        ok = request.headers["Authorization"] == basic(API_KEY, self.secret)
        return httpx.Response(200 if ok else 401)


async def get(auth: TwilioBasicAuth, server: Server) -> int:
    async with httpx.AsyncClient(transport=httpx.MockTransport(server)) as client:
        return (await client.get("https://taskrouter.twilio.com/v1/x", auth=auth)).status_code


async def test_plain_credentials_are_sent_once_and_a_401_is_final() -> None:
    auth = TwilioBasicAuth(Credential(API_KEY, None, "K"), Credential("old", None, "S"))
    server = Server("new")
    assert not auth.refreshable
    assert await get(auth, server) == 401
    assert server.seen == [basic(API_KEY, "old")]


async def test_a_rotated_secret_file_is_read_after_a_401(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old\n")
    auth = TwilioBasicAuth(Credential(API_KEY, None, "K"), Credential("old", str(path), "S"))
    server = Server("old")
    assert auth.refreshable
    assert await get(auth, server) == 200
    server.secret = "new"  # rotated on the platform, the file not yet updated
    assert await get(auth, server) == 401
    assert server.seen[1:] == [basic(API_KEY, "old")]  # same file: not re-sent
    path.write_text("new\n")  # the Secret's update reaches the pod
    assert await get(auth, server) == 200
    assert server.seen[2:] == [basic(API_KEY, "old"), basic(API_KEY, "new")]
    assert await get(auth, server) == 200
    assert server.seen[4:] == [basic(API_KEY, "new")]  # the new pair is kept


async def test_an_unreadable_file_keeps_the_current_secret(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("old")
    auth = TwilioBasicAuth(Credential(API_KEY, None, "K"), Credential("old", str(path), "S"))
    path.unlink()
    server = Server("new")
    assert await get(auth, server) == 401
    assert server.seen == [basic(API_KEY, "old")]
    assert "old" not in repr(auth)
