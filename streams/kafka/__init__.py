"""Kafka plumbing shared by the worker, replay and the tools.

* :mod:`~streams.kafka.errors`: the neutral errors (one-line messages).
* :mod:`~streams.kafka.admin`: topic administration (create, wait for leaders, describe).
* :mod:`~streams.kafka.reader`: a bounded reader, from offsets for a time to an end snapshot.
* :mod:`~streams.kafka.tools`: Kafka's Java CLI classes run on a classpath of cached jars.

Nothing is re-exported here, so that a scan process importing the reader pays for
nothing else.
"""
