"""The topics the worker reads and writes, discovered and created before Faust starts.

The join table's changelog must be co-partitioned with everything the join agent
consumes, so every internal topic gets the events topic's partition count.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.config import ConfigError, Settings
from streams.kafka.admin import Admin, TopicSpec
from streams.kafka.errors import KafkaAdminError

# The join table's changelog (created by Faust, compacted) is what a takeover replays:
# small segments rolled every 10 minutes and a low dirty ratio let the cleaner compact
# each interaction's records (pending, dispatching, done) down to its last one soon after
# they are written, and deleted states' tombstones go after an hour.
CHANGELOG_CONFIGS = {
    "segment.bytes": str(64 * 1024 * 1024),
    "segment.ms": str(10 * 60_000),
    "min.cleanable.dirty.ratio": "0.1",
    "delete.retention.ms": str(3_600_000),
}
CHANGELOG_BATCH_BYTES = 512 * 1024  # per partition and request; below message.max.bytes


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

    def internal_topics(self, replication_factor: int) -> list[TopicSpec]:
        """The topics the worker creates to match the events topic, with their configs."""
        day = 86_400_000
        specs = [
            TopicSpec(self.outcomes, self.partitions, replication_factor,
                      {"cleanup.policy": "compact"}),
            TopicSpec(self.dead_letter, self.partitions, replication_factor,
                      {"retention.ms": str(30 * day)}),
            TopicSpec(self.ticks, self.partitions, replication_factor,
                      {"retention.ms": str(3_600_000)}),
        ]
        if self.rekeyed:
            specs.append(TopicSpec(self.rekeyed, self.partitions, replication_factor,
                                   {"retention.ms": str(7 * day)}))
        return specs


async def prepare_topics(settings: Settings, *, timeout: float = 30.0) -> TopicLayout:
    """Read the events topic's partition count and create the internal topics to match.

    Raises :class:`ConfigError` (one line) when the broker is unreachable, the events
    topic is missing, or an existing internal topic has another partition count.
    """
    servers = settings.kafka_bootstrap_servers
    try:
        async with Admin(servers, client_id=f"{settings.app_id}-admin", timeout=timeout,
                         security=settings.kafka_security) as admin:
            counts = await admin.partition_counts()
            partitions = counts.get(settings.events_topic)
            if partitions is None:
                raise ConfigError(f"WRAPUP_EVENTS_TOPIC: topic {settings.events_topic!r} does "
                                  f"not exist on {servers}")
            layout = TopicLayout.for_settings(settings, partitions)
            missing = []
            for topic in layout.internal_topics(settings.replication_factor):
                if topic.name not in counts:
                    missing.append(topic)
                elif topic.name != layout.dead_letter and counts[topic.name] != partitions:
                    raise ConfigError(
                        f"WRAPUP_EVENTS_TOPIC: {settings.events_topic!r} has {partitions} "
                        f"partitions but {topic.name!r} has {counts[topic.name]}; "
                        "they must match for the join")
            await admin.create(missing)
            return layout
    except KafkaAdminError as exc:
        raise ConfigError(f"WRAPUP_KAFKA_BOOTSTRAP_SERVERS: {exc}") from None
