"""The topics the worker reads and writes, discovered and created before Faust starts.

The join table's changelog must be co-partitioned with everything the join agent
consumes, so every internal topic gets the events topic's partition count.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streams.config import ConfigError, Settings


@dataclass(frozen=True, slots=True)
class TopicLayout:
    """Names and partition count of every topic the worker uses."""

    events: str
    rekeyed: str | None  # set when the events topic is not keyed by interaction ID
    outcomes: str
    dead_letter: str
    ticks: str
    partitions: int

    @property
    def join_source(self) -> str:
        """The topic whose records reach the join keyed by interaction ID."""
        return self.rekeyed or self.events

    @classmethod
    def for_settings(cls, settings: Settings, partitions: int) -> TopicLayout:
        return cls(
            events=settings.events_topic,
            rekeyed=None if settings.events_keyed else f"{settings.app_id}-events-by-interaction",
            outcomes=settings.outcomes_topic,
            dead_letter=settings.dead_letter_topic,
            ticks=f"{settings.app_id}-ticks",
            partitions=partitions,
        )


async def prepare_topics(settings: Settings, *, timeout: float = 30.0) -> TopicLayout:
    """Read the events topic's partition count and create the internal topics to match.

    Raises :class:`ConfigError` (one line) when the broker is unreachable, the events
    topic is missing, or an existing internal topic has another partition count.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        request_timeout_ms=int(timeout * 1000),
        client_id=f"{settings.app_id}-admin",
    )
    try:
        await admin.start()
    except KafkaError as exc:
        raise ConfigError(
            f"WRAPUP_KAFKA_BOOTSTRAP_SERVERS: cannot reach {settings.kafka_bootstrap_servers}: "
            f"{type(exc).__name__}"
        ) from None
    try:
        counts = await _partition_counts(admin)
        partitions = counts.get(settings.events_topic)
        if partitions is None:
            raise ConfigError(
                f"WRAPUP_EVENTS_TOPIC: topic {settings.events_topic!r} does not exist on "
                f"{settings.kafka_bootstrap_servers}"
            )
        layout = TopicLayout.for_settings(settings, partitions)
        wanted = [
            NewTopic(layout.outcomes, partitions, settings.replication_factor,
                     topic_configs={"cleanup.policy": "compact"}),
            NewTopic(layout.dead_letter, partitions, settings.replication_factor,
                     topic_configs={"retention.ms": str(30 * 86_400_000)}),
            NewTopic(layout.ticks, partitions, settings.replication_factor,
                     topic_configs={"retention.ms": str(3_600_000)}),
        ]
        if layout.rekeyed:
            wanted.append(NewTopic(layout.rekeyed, partitions, settings.replication_factor,
                                   topic_configs={"retention.ms": str(7 * 86_400_000)}))
        for topic in wanted:
            if topic.name in counts:
                if topic.name != layout.dead_letter and counts[topic.name] != partitions:
                    raise ConfigError(
                        f"WRAPUP_EVENTS_TOPIC: {settings.events_topic!r} has {partitions} "
                        f"partitions but {topic.name!r} has {counts[topic.name]}; "
                        "they must match for the join"
                    )
                continue
            await _create(admin, topic)
        return layout
    finally:
        await admin.close()


async def _create(admin: AIOKafkaAdminClient, topic: NewTopic) -> None:
    try:
        response = await admin.create_topics([topic])
    except TopicAlreadyExistsError:
        return
    for error in getattr(response, "topic_errors", ()):
        code = error[1]
        if code not in (0, TopicAlreadyExistsError.errno):
            raise ConfigError(
                f"WRAPUP_KAFKA_BOOTSTRAP_SERVERS: creating topic {topic.name!r} failed "
                f"with Kafka error {code}"
            )


async def _partition_counts(admin: AIOKafkaAdminClient) -> dict[str, int]:
    described = await admin.describe_topics()
    return {
        t["topic"]: len(t["partitions"])
        for t in described
        if not t.get("error_code") and t.get("partitions")
    }
