"""The Connect simulator dialect over real loopback HTTP, driven by the product's Connect
profile (botocore-signed requests, the dispatcher's read before every write)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from streams.config import Settings
from streams.delivery import Dispatcher
from streams.delivery.job import DeliveryJob
from streams.dev.simulator.dialects import load
from streams.dev.simulator.dialects.connect import ConnectDialect, connect_scenario, transfers
from streams.dev.simulator.lifecycle import State, Timeline, Transition
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import WorkloadParams, generate
from streams.outcomes import Outcome
from streams.platforms.connect.events import ConnectEvents
from streams.policy import WrapupCode

SALES = WrapupCode("wc-sales-auto", "Sales - auto")
POLICY = '{"rules": [{"queue": "q-sales", "code": {"id": "wc-sales-auto", "label": "x"}}]}'


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def platform_with(*contacts: tuple[str, float | None]) -> Platform:
    """Contacts in after-contact work; ``(id, agent_pick_after)``."""
    platform = Platform(connect_scenario(), auth=AuthConfig())
    now = platform.clock()
    for contact, pick in contacts:
        platform.add_interaction(
            InteractionInfo(contact, "agent-001", "c-renewals", "q-sales"),
            Timeline(now - 3, now - 2, now - 1, now + 600,
                     None if pick is None else now - 1 + pick,
                     None if pick is None else WrapupCode("wc-sales-no-sale", "No sale")))
    return platform


def dispatcher_for(server: PlatformServer, dialect: ConnectDialect,
                   monkeypatch: pytest.MonkeyPatch) -> Dispatcher:
    env = dialect.worker_env(server.base_url, server.platform.auth)
    for name, value in env.items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    settings = Settings.from_env({**{k: v for k, v in env.items() if k.startswith("WRAPUP_")},
                                  "WRAPUP_POLICY_JSON": POLICY, "WRAPUP_API_RATE_LIMIT": "100"})
    return Dispatcher.from_settings(settings, backoff_base=0.01, backoff_cap=0.05)


async def deliver(server: PlatformServer, dialect: ConnectDialect, *contacts: str,
                  monkeypatch: pytest.MonkeyPatch) -> list[tuple[Outcome, str]]:
    """Deliver to each contact in turn over one dispatcher (one credential chain)."""
    dispatcher = dispatcher_for(server, dialect, monkeypatch)
    done = []
    try:
        for contact in contacts:
            job = DeliveryJob(contact, SALES, deadline=server.platform.clock() + 30)
            report = await dispatcher.deliver(job)
            done.append((report.outcome, report.reason))
            if contact == "c-3":
                server.platform.expire_tokens()
    finally:
        await dispatcher.aclose()
    return done


def reasons(platform: Platform) -> list[tuple[str, str]]:
    return [(r.method, r.reason) for r in platform.ledger.requests]


async def test_a_signed_read_then_one_write(aws_env: pytest.MonkeyPatch) -> None:
    platform = platform_with(("c-1", None))
    dialect = load("connect")
    assert isinstance(dialect, ConnectDialect)
    async with PlatformServer(platform, dialect=dialect) as server:
        assert await deliver(server, dialect, "c-1", monkeypatch=aws_env) == [
            (Outcome.APPLIED, "posted")]
    assert reasons(platform) == [("GET", "ok"), ("POST", "applied")]
    assert platform.ledger.wrapups["c-1"].by == "api"


async def test_an_attribute_the_agent_set_first_is_left_alone(
        aws_env: pytest.MonkeyPatch) -> None:
    platform = platform_with(("c-2", 0.0))
    dialect = ConnectDialect()
    async with PlatformServer(platform, dialect=dialect) as server:
        (outcome,) = await deliver(server, dialect, "c-2", monkeypatch=aws_env)
        unsigned = await httpx.AsyncClient().post(
            f"{server.base_url}/contact/attributes",
            json={"InstanceId": "x", "InitialContactId": "c-2", "Attributes": {}})
    assert outcome == (Outcome.SKIPPED, "wrapped_by_other_code")
    assert reasons(platform)[0] == ("GET", "ok") and ("POST", "overwrote") not in \
        reasons(platform)
    assert unsigned.status_code == 403
    assert unsigned.json()["__type"] == "MissingAuthenticationTokenException"


async def test_expired_container_credentials_are_fetched_again(
        aws_env: pytest.MonkeyPatch) -> None:
    platform = platform_with(("c-3", None), ("c-4", None))
    dialect = ConnectDialect(credentials="container")
    async with PlatformServer(platform, dialect=dialect) as server:
        # c-3 applied, then every session token is expired: c-4 needs new credentials
        assert await deliver(server, dialect, "c-3", "c-4", monkeypatch=aws_env) == [
            (Outcome.APPLIED, "posted")] * 2
    seen = reasons(platform)
    assert seen.count(("GET", "credentials_issued")) >= 2
    assert ("GET", "token_expired") in seen
    assert [r for r in seen if r[0] == "POST"] == [("POST", "applied")] * 2


async def test_a_wrong_secret_is_refused_and_never_writes(aws_env: pytest.MonkeyPatch) -> None:
    platform = platform_with(("c-5", None))
    dialect = ConnectDialect()
    async with PlatformServer(platform, dialect=dialect) as server:
        bad = PlatformServer(platform, dialect=dialect)
        bad.platform = Platform(connect_scenario(), auth=AuthConfig(client_secret="wrong"))
        env = dialect.worker_env(server.base_url, bad.platform.auth)
        aws_env.setenv("AWS_ACCESS_KEY_ID", env["AWS_ACCESS_KEY_ID"])
        aws_env.setenv("AWS_SECRET_ACCESS_KEY", env["AWS_SECRET_ACCESS_KEY"])
        settings = Settings.from_env({**{k: v for k, v in env.items()
                                         if k.startswith("WRAPUP_")},
                                      "WRAPUP_POLICY_JSON": POLICY})
        dispatcher = Dispatcher.from_settings(settings, backoff_base=0.01, backoff_cap=0.05)
        try:
            report = await dispatcher.deliver(DeliveryJob("c-5", SALES, platform.clock() + 5))
        finally:
            await dispatcher.aclose()
    assert report.outcome is Outcome.FAILED
    assert {r.reason for r in platform.ledger.requests} == {"bad_signature"}


async def test_a_write_on_a_wrapped_contact_is_recorded_as_an_overwrite(
        aws_env: pytest.MonkeyPatch) -> None:
    """The simulator answers as Connect does (200) and flags it: what tests look for."""
    platform = platform_with(("c-6", 0.0))
    dialect = ConnectDialect()
    async with PlatformServer(platform, dialect=dialect) as server:
        env = dialect.worker_env(server.base_url, platform.auth)
        from streams.platforms.connect.credentials import Frozen
        from streams.platforms.connect.sigv4 import sign
        request = httpx.Request("POST", f"{server.base_url}/contact/attributes", json={
            "InstanceId": env["WRAPUP_CONNECT_INSTANCE_ID"], "InitialContactId": "c-6",
            "Attributes": {"wrapupCode": "wc-sales-auto"}})
        sign(request, Frozen(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]),
             "us-east-1")
        async with httpx.AsyncClient() as http:
            answer = await http.send(request)
    assert answer.status_code == 200
    assert reasons(platform)[-1] == ("POST", "overwrote")


def test_the_records_decode_into_the_legs_the_plan_names() -> None:
    dialect = ConnectDialect(transfer_every=2)
    workload = dialect.plan(WorkloadParams(interactions=4, seed=3))
    assert workload.interactions[1].interaction_id == \
        f"{workload.interactions[0].interaction_id}/{workload.interactions[1].interaction_id[-10:]}"
    platform = Platform(workload.scenario)
    events = ConnectEvents()
    for planned in workload.interactions:
        platform.add_interaction(InteractionInfo(planned.interaction_id, planned.agent_id,
                                                 planned.campaign_id, planned.queue_id),
                                 planned.timeline(platform.clock()))
        transition = Transition(State.WRAPPING_UP, planned.timeline(platform.clock())
                                .wrapping_up_at)
        (message,) = dialect.messages(platform, planned, transition)
        decoded = events.decode(message.value)
        assert isinstance(decoded, tuple) and len(decoded) == 2
        assert {e.key for e in decoded} == {planned.interaction_id}
        assert decoded[0].queue_id == planned.queue_id
        assert dialect.record_key(planned) == planned.interaction_id.split("/")[0].encode()


def test_transfers_leave_a_plan_without_them_alone() -> None:
    workload = generate(WorkloadParams(interactions=3, seed=1))
    assert transfers(workload, 0) is workload
