"""The ``wrapup`` command: ``worker`` runs the join, ``replay`` recovers, ``explain``
tells one interaction's story; dev tools mount here."""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import NoReturn

import click

from streams.config import ConfigError, Settings, describe_variables
from streams.explain import explain_command
from streams.replay import replay_command


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one error line and exit non-zero."""
    click.echo(f"wrapup: {message}", err=True)
    sys.exit(code)


def load_settings() -> Settings:
    """Settings from the environment, or one error line naming the bad variable."""
    from streams import platforms

    try:
        settings = Settings.from_env()
        platforms.load(settings)  # the platform's own variables, checked at start
    except ConfigError as exc:
        fail(f"configuration error: {exc}")
    return settings


# Development tooling's command groups, imported only when one of them is run (or listed
# by --help), so that `wrapup worker` never loads them. A module that is not installed
# (the Docker image leaves out streams.dev) hides its command.
LAZY_COMMANDS = {
    "kafka": ("streams.dev.kafka.cli", "kafka"),
    "simulate": ("streams.dev.simulator.cli", "simulate"),
    "dashboards": ("streams.dev.charts.cli", "dashboards"),
}


class LazyGroup(click.Group):
    """A click group whose :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        lazy = [name for name in LAZY_COMMANDS if self._load(name) is not None]
        return sorted([*super().list_commands(ctx), *lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        if name not in LAZY_COMMANDS:
            return None
        module, attribute = LAZY_COMMANDS[name]
        try:
            imported = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            missing = exc.name or ""
            if not (module == missing or module.startswith(f"{missing}.")):
                raise  # a real import error inside the module: surface it
            return None
        command = getattr(imported, attribute, None)
        return command if isinstance(command, click.Command) else None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


main.add_command(replay_command, "replay")
main.add_command(explain_command, "explain")


if __name__ == "__main__":
    main()
