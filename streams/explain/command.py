"""``wrapup explain``: why did an interaction (not) get its wrap-up code?"""

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
Times: ISO-8601 (2026-11-25T10:00:00Z; no zone means UTC), now, -2h, 30m ago.
Reads the events topic (the key's partition, over the window), the table's changelog,
the outcomes and dead-letter topics; needs no running worker and changes nothing.
Decisions are re-run with the current policy (WRAPUP_POLICY_FILE / WRAPUP_POLICY_JSON).
Exit status: 0 explained, 2 bad input, unknown interaction, empty window, broker down.
"""


def _fail(message: str) -> NoReturn:
    click.echo(f"wrapup: explain: {message}", err=True)
    sys.exit(2)


@click.command("explain", epilog=EPILOG)
@click.argument("interaction_id")
@click.option("--since", default="7d ago", show_default=True, metavar="TIME",
              help="Start of the window of the events topic (record time).")
@click.option("--until", metavar="TIME", help="End of the window (default: the end now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def explain_command(interaction_id: str, since: str, until: str | None, as_json: bool) -> None:
    """Print the timeline of INTERACTION_ID: events, decisions, API calls, outcome."""
    from streams.explain.found import ExplainError
    from streams.explain.gather import gather
    from streams.explain.timeline import build, render, to_json
    from streams.replay.errors import ReplayError
    from streams.replay.timespec import Window, format_time

    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # errors are reported below
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        _fail(f"configuration error: {exc}")
    if not interaction_id.strip():
        _fail("the interaction ID is empty")
    now = time.time()
    try:
        window = Window.parse(since, until, now)
        found = asyncio.run(gather(settings, interaction_id, window))
    except (ReplayError, ExplainError) as exc:
        _fail(str(exc))
    where = (f"{found.events_topic} partition {found.partition} from {format_time(window.since)}"
             + (f" to {format_time(window.until)}" if window.until else ""))
    if not found.anything:
        if found.window_records == 0:
            _fail(f"nothing in the window: no record on {where}")
        _fail(f"unknown interaction {interaction_id!r}: no event on {where}, no table "
              "state, outcome or dead letter")
    timeline = build(found, settings.join_rules(), now)
    if as_json:
        click.echo(orjson.dumps(to_json(timeline)).decode())
    else:
        click.echo(render(timeline))
