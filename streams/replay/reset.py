"""The other way to replay: move the worker's consumer group back to a time.

This runs Kafka's own ``kafka-consumer-groups --reset-offsets --to-datetime`` (the
``ConsumerGroupCommand`` class of ``org.apache.kafka:kafka-tools``, run by
:mod:`streams.kafka.tools` on the jars ``wrapup kafka fetch`` caches), for the events
topic only, so a development machine needs no Kafka distribution. In production the same
command from any Kafka install does the same thing. The group must be inactive: stop every
worker first.

It is safe because the re-consumed events meet the join table: every interaction with
a final outcome (the worker's, or a replay's, which the worker folds in from the outcomes
topic) is ``DONE`` there and swallows them (``after_final``), so nothing is posted. Only
an interaction the table has forgotten (older than WRAPUP_STATE_RETENTION_SECONDS) could
pair again; its POST is then refused by the platform (409, already wrapped) and read back
as ``already_applied``: a code is never applied twice. Keep resets within the retention.

Usage (WRAPUP_* settings give the broker, the group = WRAPUP_APP_ID, and the topic)::

    python -m streams.replay.reset --to 2026-11-25T10:00:00Z [--execute]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from streams.kafka.security import KafkaSecurity, command_config
from streams.kafka.tools import CONSUMER_GROUP_COMMAND, KafkaToolError, run_kafka_tool
from streams.replay.errors import ReplayError
from streams.replay.timespec import TimeSpecError, format_time, parse_time

_ERROR_MARKERS = ("Error", "error:", "can only be reset", "does not exist", "Exception")


def reset_args(bootstrap: str, group: str, topic: str, to: float | None,
               *, execute: bool) -> list[str]:
    """ConsumerGroupCommand arguments: to the offsets for ``to`` (None: the latest)."""
    target = ["--to-latest"] if to is None else ["--to-datetime", format_time(to)]
    return ["--bootstrap-server", bootstrap, "--group", group, "--topic", topic,
            "--reset-offsets", *target, "--execute" if execute else "--dry-run"]


def reset_offsets(bootstrap: str, group: str, topic: str, to: float | None,
                  *, execute: bool = True, timeout: float = 120.0,
                  security: KafkaSecurity | None = None) -> str:
    """Reset (or with ``execute=False`` preview) the group's offsets of ``topic``.

    The connection settings (``security``; secrets included) go to the tool in a
    ``--command-config`` file that only this user can read and that is removed when the
    tool exits: never on its command line. Returns the tool's table of new offsets;
    raises :class:`ReplayError` with one line (e.g. the group is still active) when the
    tool refuses or fails.
    """
    args = reset_args(bootstrap, group, topic, to, execute=execute)
    try:
        with command_config(security or KafkaSecurity()) as config:
            proc = run_kafka_tool(CONSUMER_GROUP_COMMAND,
                                  [*args, "--command-config", str(config)],
                                  timeout=timeout, check=False)
    except KafkaToolError as exc:
        raise ReplayError(str(exc).splitlines()[0]) from None
    output = proc.stdout + proc.stderr
    problem = next((line.strip() for line in output.splitlines()
                    if any(m in line for m in _ERROR_MARKERS)), None)
    if proc.returncode != 0 or problem is not None or "NEW-OFFSET" not in proc.stdout:
        detail = problem or (output.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise ReplayError(f"resetting {group!r} on {topic!r} failed: {detail}")
    return proc.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m streams.replay.reset``: preview by default, ``--execute`` to apply."""
    from streams.config import ConfigError, Settings

    parser = argparse.ArgumentParser(
        prog="python -m streams.replay.reset",
        description="Reset the worker's consumer group (WRAPUP_APP_ID) on the events topic "
                    "to a time, so the worker re-consumes from there. Stop the worker first.")
    parser.add_argument("--to", required=True,
                        help="ISO-8601 time, -2h, 30m ago, or 'latest' (skip the backlog)")
    parser.add_argument("--topic", help="default: WRAPUP_EVENTS_TOPIC")
    parser.add_argument("--execute", action="store_true", help="apply (default: preview)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        to = None if args.to == "latest" else parse_time(args.to, time.time())
        if to is not None and to > time.time() + 1:
            raise TimeSpecError(f"--to {format_time(to)} is in the future")
        table = reset_offsets(settings.kafka_bootstrap_servers, settings.app_id,
                              args.topic or settings.events_topic, to, execute=args.execute,
                              security=settings.kafka_security)
    except (ConfigError, ReplayError) as exc:
        print(f"wrapup: reset: {exc}", file=sys.stderr)
        return 2
    print(table)
    if not args.execute:
        print("(preview only: add --execute to apply)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
