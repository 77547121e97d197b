"""The ``wrapup`` command: ``worker`` runs the join; other groups mount here."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import NoReturn

import click

from streams.config import ConfigError, Settings, describe_variables


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit non-zero."""
    click.echo(f"wrapup: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    """Settings from the environment, or one error line naming the bad variable."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        fail(f"configuration error: {exc}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """wrapup-bridge: post wrap-up codes once an interaction has ended AND is wrapping up."""


@main.command(epilog="Environment variables:\n\n" + describe_variables().replace("\n", "\n\n"))
def worker() -> None:
    """Run the join worker (configured by WRAPUP_* environment variables)."""
    import faust

    from streams.logs import configure_logging
    from streams.topics import prepare_topics
    from streams.worker import JoinWorker

    settings = load_settings()
    configure_logging(settings.log_level)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        layout = loop.run_until_complete(prepare_topics(settings))
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
    join = JoinWorker(settings, layout)
    loop.run_until_complete(join.web.start())
    faust_worker = faust.Worker(
        join.app,
        loop=loop,
        loglevel=settings.log_level.lower().replace("warning", "warn"),
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    faust_worker.spinner = None  # its terminal escape codes would break the JSON log lines
    faust_worker.execute_from_commandline()


@main.group()
def kafka() -> None:
    """A local single-node Apache Kafka for development (jars from Maven Central)."""


@kafka.command("start")
def kafka_start() -> None:
    """Start a broker in the foreground and print its bootstrap address."""
    from streams.local_kafka import cmd_start

    sys.exit(cmd_start())


@kafka.command("stop")
def kafka_stop() -> None:
    """Stop the broker started by ``wrapup kafka start``."""
    from streams.local_kafka import cmd_stop

    sys.exit(cmd_stop())


@kafka.command("status")
def kafka_status() -> None:
    """Say whether the local broker runs, and where."""
    from streams.local_kafka import cmd_status

    sys.exit(cmd_status())


@kafka.command("fetch")
def kafka_fetch() -> None:
    """Download the Kafka jars into the cache (once)."""
    from streams.local_kafka import cmd_fetch

    sys.exit(cmd_fetch())


def _mount(name: str, module: str, attribute: str) -> None:
    """Add a sub-command group defined in another module of the package."""
    try:
        imported = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:  # a real import error inside the module: surface it
            raise
        return
    command = getattr(imported, attribute, None)
    if isinstance(command, click.Command):
        main.add_command(command, name)


_mount("simulate", "streams.simulator.cli", "simulate")
_mount("dashboards", "streams.observability.cli", "dashboards")
_mount("replay", "streams.replay", "replay_command")


if __name__ == "__main__":
    main()
