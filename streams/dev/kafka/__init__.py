"""A local single-node Kafka broker for development and tests (never used by the product).

* :mod:`~streams.dev.kafka.jars`: the Kafka jars from Maven Central, cached.
* :mod:`~streams.dev.kafka.config`: ``server.properties`` and log4j rendering, free ports.
* :mod:`~streams.dev.kafka.broker`: :class:`LocalKafka` (process control), :func:`kafka_from_env`.
* :mod:`~streams.dev.kafka.cli`: ``wrapup kafka start|stop|status|fetch``.

Topic administration is the product's, in :mod:`streams.kafka.admin`.
"""

from streams.dev.kafka.broker import (
    LocalKafka,
    SecureListeners,
    external_bootstrap_servers,
    kafka_from_env,
)
from streams.dev.kafka.config import find_free_port
from streams.dev.kafka.jars import LocalKafkaError, fetch_jars

__all__ = [
    "LocalKafka",
    "LocalKafkaError",
    "SecureListeners",
    "external_bootstrap_servers",
    "fetch_jars",
    "find_free_port",
    "kafka_from_env",
]
