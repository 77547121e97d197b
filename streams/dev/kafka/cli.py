"""``wrapup kafka start|stop|status|fetch``: a local broker for development, from a terminal.

``start`` runs the broker in the foreground and records it (supervisor PID, JVM PID,
bootstrap address, data directory) in ``<cache>/run/local-kafka.json``, so that
``status`` and ``stop`` in another terminal find it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import click

from streams.dev.kafka.broker import LocalKafka, external_bootstrap_servers
from streams.dev.kafka.jars import fetch_jars
from streams.dev.kafka.process import log_excerpt
from streams.kafka.admin import probe_broker
from streams.kafka.errors import KafkaAccessError
from streams.kafka.tools import cache_dir


def _state_file() -> Path:
    return cache_dir() / "run" / "local-kafka.json"


def _read_state() -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = json.loads(_state_file().read_text())
    except (OSError, ValueError):
        return None
    return state


def _pid_matches(pid: int, needle: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return False
    return needle in cmdline


def _fail(exc: KafkaAccessError) -> None:
    click.echo(f"wrapup: kafka: {exc}", err=True)
    sys.exit(2)


@click.group("kafka")
def kafka() -> None:
    """A local single-node Apache Kafka for development (jars from Maven Central)."""


@kafka.command("start")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the broker's data here (reused by the next start); default: a "
                   "temporary directory removed on stop.")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="PLAINTEXT port (default: a free one).")
def start(data_dir: Path | None, port: int | None) -> None:
    """Run a broker in the foreground until Ctrl-C / SIGTERM; print its bootstrap address."""
    state = _read_state()
    if state and _pid_matches(int(state.get("jvm_pid", 0)), "kafka.Kafka"):
        click.echo(f"a local Kafka is already running at {state['bootstrap_servers']}", err=True)
        sys.exit(1)
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    broker = LocalKafka(data_dir, port=port)
    try:
        broker.start()
        path = _state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"pid": os.getpid(), "jvm_pid": broker.pid,
                                    "bootstrap_servers": broker.bootstrap_servers,
                                    "data_dir": str(broker.data_dir)}))
        click.echo(broker.bootstrap_servers)
        sys.stdout.flush()
        while not stop_requested.is_set():
            if not broker.is_running():
                click.echo(f"Kafka exited unexpectedly:\n{log_excerpt(broker.log_file)}", err=True)
                sys.exit(1)
            stop_requested.wait(0.5)
    except KafkaAccessError as exc:
        _fail(exc)
    finally:
        broker.stop()
        with contextlib.suppress(OSError):
            state = _read_state()
            if state and state.get("pid") == os.getpid():
                _state_file().unlink()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@kafka.command("status")
def status() -> None:
    """Print where the broker run by ``start`` is; exit 0 if it answers, else 1."""
    external = external_bootstrap_servers()
    state = _read_state()
    if state is None:
        if external is not None and probe_broker(external):
            click.echo(f"{external} (KAFKA_BOOTSTRAP_SERVERS) up")
            sys.exit(0)
        click.echo("not running")
        sys.exit(1)
    bootstrap = str(state["bootstrap_servers"])
    if probe_broker(bootstrap):
        click.echo(f"{bootstrap} up (pid {state.get('jvm_pid')}, data {state.get('data_dir')})")
        sys.exit(0)
    click.echo(f"{bootstrap} not answering")
    sys.exit(1)


@kafka.command("stop")
@click.option("--timeout", type=float, default=60.0, show_default=True,
              help="Seconds to wait for a clean shutdown before SIGKILL.")
def stop(timeout: float) -> None:
    """Stop the broker run by ``start`` (SIGTERM its supervisor, then SIGKILL what is left)."""
    state = _read_state()
    if state is None:
        click.echo("not running")
        return
    # `wrapup kafka start` or `python -m streams.cli kafka start`: both say "kafka start".
    targets = [(int(state.get("pid", 0)), "kafka start"),
               (int(state.get("jvm_pid", 0)), "kafka.Kafka")]
    live = [pid for pid, needle in targets if pid > 0 and _pid_matches(pid, needle)]
    if live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(live[0], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        _pid_matches(pid, needle) for pid, needle in targets if pid > 0
    ):
        time.sleep(0.2)
    for pid, needle in targets:
        if pid > 0 and _pid_matches(pid, needle):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        _state_file().unlink()
    click.echo("stopped")


@kafka.command("fetch")
@click.option("--force", is_flag=True, help="Download again even if the cache is complete.")
def fetch(force: bool) -> None:
    """Download the Kafka jars into the cache (once per pom); print the jars directory."""
    try:
        click.echo(str(fetch_jars(force=force)))
    except KafkaAccessError as exc:
        _fail(exc)
