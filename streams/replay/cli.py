"""``wrapup replay``: recover missed wrap-ups from the event topic, without double posts."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import NoReturn

import click
import orjson

from streams.config import ConfigError, Settings

EPILOG = """\b
Times: ISO-8601 (2026-11-25T10:00:00Z; no zone means UTC), now, -2h, 30m ago, 1h30m ago.
Exit status: 0 done, 1 some wrap-ups failed or an outcome was not recorded,
2 bad input or an unreachable broker/API (nothing was posted).
Configuration: the worker's WRAPUP_* environment variables (see `wrapup worker --help`).
"""


def _fail(message: str) -> NoReturn:
    click.echo(f"wrapup: replay: {message}", err=True)
    sys.exit(2)


def _processes(text: str) -> int | None:
    from streams.replay.errors import ReplayError

    if text.strip().lower() == "auto":
        return None
    if text.strip().isdigit() and 1 <= int(text) <= 64:
        return int(text)
    raise ReplayError(f"--processes {text!r} is not 1..64 or auto")


@click.command("replay", epilog=EPILOG)
@click.option("--since", required=True, metavar="TIME",
              help="Start of the window (record time of the event topic).")
@click.option("--until", metavar="TIME",
              help="End of the window (default: the end of the topic when the replay starts).")
@click.option("--topic", metavar="NAME", help="Event topic (default: WRAPUP_EVENTS_TOPIC).")
@click.option("--lookback", metavar="DURATION",
              help="Also scan this long before --since, so pairs whose first event precedes "
                   "the window are found; only pairs completed in the window are posted "
                   "(default: WRAPUP_PENDING_TTL_SECONDS).")
@click.option("--dry-run", is_flag=True, help="Print what would be posted; post and publish "
                                               "nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--concurrency", type=click.IntRange(1, 1000), default=None,
              help="Wrap-ups delivered at once (default: WRAPUP_MAX_IN_FLIGHT).")
@click.option("--processes", default="auto", show_default=True, metavar="N|auto",
              help="Processes that scan a topic keyed by interaction ID, by partition; "
                   "auto: one per usable CPU (pod limit honoured) for long windows.")
@click.option("--retry-for", metavar="DURATION", default="60s", show_default=True,
              help="Retry a transient failure at least this long, even past its ACW deadline.")
def replay_command(since: str, until: str | None, topic: str | None, lookback: str | None,
                   dry_run: bool, as_json: bool, concurrency: int | None,
                   processes: str, retry_for: str) -> None:
    """Replay the event topic over a window and post the wrap-ups still missing.

    Reads the topic from the offsets for --since up to the end offsets taken at the start,
    joins with the worker's join core, skips what the outcomes ledger says is done, reads
    each remaining interaction back from the API, and posts only what is still open,
    through the worker's dispatcher (rate limit, retries); outcomes are recorded.
    """
    from streams.logs import configure_logging
    from streams.replay.errors import ReplayError
    from streams.replay.progress import for_stream
    from streams.replay.run import ReplayOptions, replay
    from streams.replay.timespec import Window, parse_duration

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    interactive = sys.stdout.isatty()
    # On a terminal the bar shows progress; only warnings and errors are logged over it.
    level = settings.log_level
    if interactive and level in ("DEBUG", "INFO"):
        level = "WARNING"
    configure_logging(level)
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
    try:
        window = Window.parse(since, until, time.time())
        options = ReplayOptions(
            window=window,
            topic=topic or settings.events_topic,
            lookback=parse_duration(lookback) if lookback else settings.pending_ttl,
            dry_run=dry_run,
            concurrency=concurrency or settings.max_in_flight,
            retry_for=parse_duration(retry_for),
            processes=_processes(processes),
        )
        echo = (lambda _line: None) if as_json else click.echo
        progress = for_stream(sys.stdout)
        summary = asyncio.run(replay(settings, options, progress=progress, echo=echo))
    except ReplayError as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        _fail("interrupted (outcomes of finished deliveries were recorded; "
              "running the replay again is safe)")
    if as_json:
        click.echo(orjson.dumps(summary.to_dict()).decode())
    else:
        click.echo(summary.table())
    sys.exit(0 if summary.ok else 1)
