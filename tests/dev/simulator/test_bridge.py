"""The event bridge against real Kafka: what it publishes is what the platform did."""

from __future__ import annotations

import asyncio
from collections import defaultdict

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.dev.simulator.bridge import Bridge, KafkaPublisher
from streams.dev.simulator.lifecycle import State
from streams.dev.simulator.platform import AuthConfig, Platform
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import WorkloadParams, generate
from streams.events import Event, EventType, parse_event
from tests.conftest import TopicFactory
from tests.helpers import async_wait_for

SPEED = 20.0  # median transition 50 ms, ACW timeout 1.5 s


async def read_all(bootstrap: str, topic: str, partitions: int
                   ) -> list[tuple[int, bytes | None, bytes]]:
    """Every message of ``topic`` as (partition, key, value), in partition order."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        end = await consumer.end_offsets(parts)
        out: list[tuple[int, bytes | None, bytes]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 20
        while [tp for tp in parts if await consumer.position(tp) < end[tp]]:
            assert loop.time() < deadline, "could not read the topic back in time"
            batch = await consumer.getmany(timeout_ms=200)
            for tp, records in batch.items():
                out.extend((tp.partition, r.key, r.value) for r in records)
        return sorted(out, key=lambda m: m[0])  # stable: keeps each partition's order
    finally:
        await consumer.stop()


async def test_bridge_publishes_each_transition_with_faults_as_planned(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=3)
    workload = generate(WorkloadParams(
        interactions=40, seed=11, agent_pick_probability=0.4, duplicate_fraction=0.2,
        lost_fraction=0.1, reorder_fraction=0.25))
    platform = Platform()
    publisher = KafkaPublisher(kafka_bootstrap, topic)
    await publisher.start()
    bridge = Bridge(platform, workload, publisher, speed=SPEED)
    await bridge.start()
    try:
        assert await bridge.wait_done(timeout=30), bridge.stats()
    finally:
        await bridge.stop()

    messages = await read_all(kafka_bootstrap, topic, 3)
    assert len(messages) == len(bridge.published) == bridge.stats()["published"]
    events: dict[str, list[Event]] = defaultdict(list)
    partitions: dict[str, set[int]] = defaultdict(set)
    for partition, key, value in messages:
        event = parse_event(value)
        assert isinstance(event, Event), event
        assert key == event.interaction_id.encode()
        events[event.interaction_id].append(event)
        partitions[event.interaction_id].add(partition)
    assert all(len(p) == 1 for p in partitions.values())

    ledger = platform.ledger
    assert len(ledger.wrapups) == 40 and ledger.duplicate_wrapups == []
    assert {w.by for w in ledger.wrapups.values()} == {"agent", "platform"}
    reordered = 0
    for plan in workload.interactions:
        got = events[plan.interaction_id]
        faults = {EventType.ENDED: plan.ended_event,
                  EventType.WRAPPING_UP: plan.wrapping_up_event,
                  EventType.WRAPPED: plan.wrapped_event}
        for event_type, fault in faults.items():
            copies = [e for e in got if e.type is event_type]
            assert len(copies) == (0 if fault.lost else 1 + fault.duplicates)
        for e in got:
            assert (e.campaign_id, e.queue_id, e.agent_id) == (
                plan.campaign_id, plan.queue_id, plan.agent_id)
            assert e.event_id == f"{plan.interaction_id}:{e.type.value}"
            if e.type is EventType.WRAPPED:
                wrap = ledger.wrapup(plan.interaction_id)
                assert wrap is not None
                assert (e.wrapped_by, e.wrapup_code_id) == (wrap.by, wrap.code_id)
                assert e.occurred_at == round(wrap.at * 1000) / 1000
            else:
                timeline = platform.lifecycle(plan.interaction_id).timeline
                assert e.acw_deadline == round(timeline.acw_deadline * 1000) / 1000
        kinds = [e.type for e in got]
        if EventType.ENDED in kinds and EventType.WRAPPING_UP in kinds:
            reordered += kinds.index(EventType.WRAPPING_UP) < kinds.index(EventType.ENDED)
    planned_reorders = sum(
        p.ended_event.delay > p.transition + p.wrapping_up_event.delay
        and not p.ended_event.lost and not p.wrapping_up_event.lost
        for p in workload.interactions)
    assert planned_reorders > 0 and reordered >= planned_reorders


async def test_unkeyed_bridge_and_our_post_shows_up_as_source_api(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = topic_factory(partitions=2)
    workload = generate(WorkloadParams(interactions=6, seed=3, agent_pick_probability=0.0,
                                       duplicate_fraction=0.0, reorder_fraction=0.0))
    auth = AuthConfig(static_token="static-test-token")
    platform = Platform(auth=auth)
    publisher = KafkaPublisher(kafka_bootstrap, topic)
    await publisher.start()
    bridge = Bridge(platform, workload, publisher, speed=SPEED, keyed=False)
    target = next(p for p in workload.interactions if p.expected_code is not None)
    async with PlatformServer(platform) as server:
        await bridge.start()
        try:
            await async_wait_for(
                lambda: platform.state(target.interaction_id) is State.WRAPPING_UP,
                timeout=10, interval=0.005, message="target wrapping-up")
            assert target.expected_code is not None
            async with httpx.AsyncClient(base_url=server.base_url) as http:
                resp = await http.post(
                    f"/api/v2/conversations/interactions/{target.interaction_id}/wrapup",
                    headers={"Authorization": "Bearer static-test-token"},
                    json={"wrapupCode": {"id": target.expected_code.id,
                                         "label": target.expected_code.label}})
            assert resp.status_code == 200, resp.text
            assert await bridge.wait_done(timeout=30)
        finally:
            await bridge.stop()
    messages = await read_all(kafka_bootstrap, topic, 2)
    assert all(key is None for _, key, _ in messages)
    wrapped = [orjson.loads(v) for _, _, v in messages
               if orjson.loads(v)["type"] == "interaction:wrapped"
               and orjson.loads(v)["data"]["id"] == target.interaction_id]
    assert len(wrapped) == 1
    assert wrapped[0]["data"]["source"] == "api"
    assert wrapped[0]["data"]["wrapupCode"] == {"id": target.expected_code.id}
    assert platform.ledger.applied_by_api(target.interaction_id) == 1
