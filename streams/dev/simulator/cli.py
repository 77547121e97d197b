"""``wrapup simulate …``: the platform API, the demo run, the baseline, the comparison.

Commands that need Kafka use ``KAFKA_BOOTSTRAP_SERVERS`` when it is set, and otherwise
start a local single-node broker for the duration of the command.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from streams.dev.kafka import kafka_from_env
from streams.dev.simulator.chaos import Chaos
from streams.dev.simulator.compare import (
    SIDES,
    BaselineConsumer,
    Consumer,
    RunOptions,
    WorkerConsumer,
    run_side,
)
from streams.dev.simulator.dialects import DIALECTS, Dialect
from streams.dev.simulator.dialects import load as load_dialect
from streams.dev.simulator.distributions import Distribution, fixed
from streams.dev.simulator.platform import AuthConfig, InteractionInfo, Platform
from streams.dev.simulator.report import SideReport, render
from streams.dev.simulator.server import PlatformServer
from streams.dev.simulator.workload import Workload, WorkloadParams
from streams.policy import Policy, PolicyError

F = TypeVar("F", bound=Callable[..., Any])
_DEFAULTS = WorkloadParams()


def _dist(ctx: click.Context, param: click.Parameter, value: str | None) -> Distribution | None:
    if value is None:
        return None
    try:
        return Distribution.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def workload_options(func: F) -> F:
    """The workload knobs shared by every command that generates a plan."""
    options = [
        click.option("--platform", "dialect", type=click.Choice(sorted(DIALECTS)),
                     default="generic", show_default=True,
                     callback=lambda _ctx, _param, value: load_dialect(value),
                     help="the dialect the simulator speaks (its API and event payloads)"),
        click.option("--interactions", "-n", type=click.IntRange(0, 1_000_000),
                     default=_DEFAULTS.interactions, show_default=True),
        click.option("--rate", type=click.FloatRange(min=0.001), default=_DEFAULTS.rate,
                     show_default=True, help="interactions ending per simulated second"),
        click.option("--agents", type=click.IntRange(1), default=_DEFAULTS.agents,
                     show_default=True),
        click.option("--seed", type=int, default=_DEFAULTS.seed, show_default=True),
        click.option("--transition", callback=_dist, metavar="DIST",
                     help="ended -> wrapping-up delay, e.g. lognormal:1:0.75:10 (default), "
                          "fixed:3"),
        click.option("--acw-timeout", type=click.FloatRange(min=0), default=30.0,
                     show_default=True, help="platform ACW timeout (s) after wrapping-up"),
        click.option("--agent-pick", type=click.FloatRange(0, 1),
                     default=_DEFAULTS.agent_pick_probability, show_default=True,
                     help="probability the agent picks a code in the UI"),
        click.option("--agent-pick-delay", callback=_dist, metavar="DIST",
                     help="when the agent picks, after wrapping-up (default lognormal:8:0.6:60)"),
        click.option("--bridge-delay", callback=_dist, metavar="DIST",
                     help="event bridge delay (default lognormal:0.05:0.5:2)"),
        click.option("--duplicates", type=click.FloatRange(0, 1),
                     default=_DEFAULTS.duplicate_fraction, show_default=True,
                     help="fraction of events delivered twice"),
        click.option("--lost", type=click.FloatRange(0, 1), default=_DEFAULTS.lost_fraction,
                     show_default=True, help="fraction of events never delivered"),
        click.option("--reorder", type=click.FloatRange(0, 1),
                     default=_DEFAULTS.reorder_fraction, show_default=True,
                     help="fraction of interactions whose ended arrives after wrapping-up"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _params(kw: dict[str, Any]) -> WorkloadParams:
    changes: dict[str, Any] = {
        "interactions": kw.pop("interactions"),
        "rate": kw.pop("rate"),
        "agents": kw.pop("agents"),
        "seed": kw.pop("seed"),
        "acw_timeout": fixed(kw.pop("acw_timeout")),
        "agent_pick_probability": kw.pop("agent_pick"),
        "duplicate_fraction": kw.pop("duplicates"),
        "lost_fraction": kw.pop("lost"),
        "reorder_fraction": kw.pop("reorder"),
    }
    for option, name in (("transition", "transition"), ("agent_pick_delay", "agent_pick_delay"),
                         ("bridge_delay", "bridge_delay")):
        value = kw.pop(option)
        if value is not None:
            changes[name] = value
    return dataclasses.replace(_DEFAULTS, **changes)


def chaos_options(func: F) -> F:
    """Fault injection on the simulated API."""
    options = [
        click.option("--error-fraction", type=click.FloatRange(0, 1), default=0.0,
                     help="fraction of API requests answered 5xx"),
        click.option("--timeout-fraction", type=click.FloatRange(0, 1), default=0.0,
                     help="fraction of API requests held past the client timeout"),
        click.option("--lost-response-fraction", type=click.FloatRange(0, 1), default=0.0,
                     help="fraction of wrap-up POSTs applied whose response is lost"),
        click.option("--latency", type=click.FloatRange(min=0), default=0.0,
                     help="seconds added to every API request"),
        click.option("--rate-limit", type=click.IntRange(min=1), default=None,
                     help="API requests per second above which the answer is 429"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _chaos(kw: dict[str, Any]) -> Chaos:
    return Chaos(
        error_fraction=kw.pop("error_fraction"),
        timeout_fraction=kw.pop("timeout_fraction"),
        lost_response_fraction=kw.pop("lost_response_fraction"),
        latency_seconds=kw.pop("latency"),
        rate_limit=kw.pop("rate_limit"),
        hold_seconds=10.0,
    )


def _describe(workload: Workload, speed: float) -> str:
    p = workload.params
    legs = len(workload.interactions)
    count = f"{p.interactions} interactions" + (f" ({legs} legs)" * (legs != p.interactions))
    return (
        f"workload: {count} at {p.rate:g}/s over {p.agents} agents, "
        f"seed {p.seed}, {len(workload.in_scope())} in scope; transition "
        f"{p.transition.describe()}; ACW timeout {p.acw_timeout.describe()}; agent picks "
        f"{p.agent_pick_probability:.0%}; duplicates {p.duplicate_fraction:.0%}, lost "
        f"{p.lost_fraction:.0%}, reordered {p.reorder_fraction:.0%}; speed x{speed:g}"
    )


def _async_command(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(func(*args, **kwargs))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--verbose", "-v", is_flag=True, help="show Kafka client logs too")
def simulate(verbose: bool) -> None:
    """Simulate the contact-center platform: API, event bridge, baseline, comparison."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        # A fresh broker makes aiokafka log coordinator errors until it settles.
        logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


# --------------------------------------------------------------------------- platform


@simulate.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True)
@click.option("--client-id", default="wrapup-sim", show_default=True)
@click.option("--client-secret", envvar="WRAPUP_SIM_CLIENT_SECRET", default="wrapup-sim-secret",
              show_default="$WRAPUP_SIM_CLIENT_SECRET or a local dev value")
@click.option("--token-ttl", type=click.FloatRange(min=1), default=3600.0, show_default=True)
@click.option("--speed", type=click.FloatRange(min=0.001), default=1.0, show_default=True)
@click.option("--duration", type=click.FloatRange(min=0), default=None,
              help="stop after this many seconds (default: until interrupted)")
@workload_options
@chaos_options
@_async_command
async def platform(host: str, port: int, client_id: str, client_secret: str, token_ttl: float,
                   speed: float, duration: float | None, dialect: Dialect, **kw: Any) -> None:
    """Serve the platform API only (no Kafka): interactions from the workload plan.

    Admin views: /_sim/summary, /_sim/ledger, /_sim/interactions, /_sim/chaos.
    """
    chaos = _chaos(kw)
    workload = dialect.plan(_params(kw))
    sim = Platform(workload.scenario, chaos=chaos, seed=workload.params.seed,
                   auth=AuthConfig(client_id, client_secret, token_ttl))
    t0 = time.time() + 1.0
    for p in workload.interactions:
        sim.add_interaction(InteractionInfo(p.interaction_id, p.agent_id, p.campaign_id,
                                            p.queue_id), p.timeline(t0, speed))
    async with PlatformServer(sim, host, port, dialect=dialect) as server:
        click.echo(f"platform API on {server.base_url} (client id {client_id}); "
                   f"{len(sim)} interactions; Ctrl-C to stop")
        await _until_stopped(duration)
        click.echo(orjson.dumps(sim.ledger.summary()).decode())


async def _until_stopped(duration: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), duration)


# --------------------------------------------------------------------------- run / compare


def _options(kw: dict[str, Any], speed: float, partitions: int, keyed: bool, dialect: Dialect,
             baseline_delay: float = 2.5, port: int = 0) -> RunOptions:
    return RunOptions(speed=speed, partitions=partitions, keyed=keyed, chaos=_chaos(kw),
                      baseline_delay=baseline_delay, port=port, echo=click.echo,
                      dialect=dialect)


def _worker_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith("WRAPUP_"):
            raise click.BadParameter(f"{pair!r}: expected WRAPUP_NAME=value",
                                     param_hint="--worker-env")
        env[name] = value
    return env


_common_run = [
    click.option("--speed", type=click.FloatRange(min=0.01), default=1.0, show_default=True,
                 help="simulated seconds per real second"),
    click.option("--partitions", type=click.IntRange(1, 64), default=4, show_default=True),
    click.option("--keyed/--unkeyed", default=True, show_default=True,
                 help="events keyed by interaction ID"),
    click.option("--worker-env", multiple=True, metavar="WRAPUP_NAME=VALUE",
                 help="extra environment for the worker (repeatable)"),
]


def run_options(func: F) -> F:
    for option in reversed(_common_run):
        func = option(func)
    return func


@simulate.command()
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="start the worker as a subprocess against the simulator")
@click.option("--port", type=click.IntRange(0, 65535), default=0,
              help="platform API port (default: a free one)")
@run_options
@workload_options
@chaos_options
def run(worker: bool, port: int, speed: float, partitions: int, keyed: bool,
        worker_env: tuple[str, ...], dialect: Dialect, **kw: Any) -> None:
    """Local Kafka + simulated platform + event bridge (+ the worker), with a live summary."""
    params = _params(kw)
    options = _options(kw, speed, partitions, keyed, dialect, port=port)
    workload = dialect.plan(params)
    click.echo(_describe(workload, speed))
    consumer: Consumer | None = (
        WorkerConsumer(_worker_env(worker_env), echo=click.echo) if worker else None
    )
    with kafka_from_env() as bootstrap:
        click.echo(f"kafka {bootstrap}")
        result = asyncio.run(run_side("worker" if worker else "no-consumer", consumer,
                                      workload, bootstrap, options))
    click.echo("")
    click.echo(render([result.report], title="final summary (from the simulator's ledger)"))
    if not result.completed:
        click.echo("warning: not every interaction was wrapped before the deadline", err=True)
        sys.exit(1)


@simulate.command()
@click.option("--sides", default=",".join(SIDES), show_default=True,
              help="comma-separated: baseline, worker")
@click.option("--baseline-delay", type=click.FloatRange(min=0), default=2.5, show_default=True,
              help="the baseline's fixed wait after ended (simulated seconds)")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the reports as JSON")
@run_options
@workload_options
@chaos_options
def compare(sides: str, baseline_delay: float, json_out: Path | None, speed: float,
            partitions: int, keyed: bool, worker_env: tuple[str, ...], dialect: Dialect,
            **kw: Any) -> None:
    """Same workload through the baseline and the worker; print a comparison table."""
    chosen = [s.strip() for s in sides.split(",") if s.strip()]
    unknown = set(chosen) - set(SIDES)
    if unknown or not chosen:
        raise click.BadParameter(f"unknown sides {sorted(unknown)}", param_hint="--sides")
    if not dialect.has_baseline and "baseline" in chosen:  # it has no baseline hooks
        click.echo(f"note: no baseline with --platform {dialect.name}", err=True)
        chosen = [s for s in chosen if s != "baseline"] or ["worker"]
    params = _params(kw)
    options = _options(kw, speed, partitions, keyed, dialect, baseline_delay)
    env = _worker_env(worker_env)
    workload = dialect.plan(params)
    click.echo(_describe(workload, speed))
    reports: list[SideReport] = []
    incomplete: list[str] = []
    with kafka_from_env() as bootstrap:
        click.echo(f"kafka {bootstrap}")
        for side in chosen:
            consumer: Consumer = (
                BaselineConsumer(baseline_delay) if side == "baseline"
                else WorkerConsumer(env, echo=click.echo)
            )
            result = asyncio.run(run_side(side, consumer, workload, bootstrap, options))
            reports.append(result.report)
            if not result.completed:
                incomplete.append(side)
    click.echo("")
    click.echo(render(reports, title=f"comparison (seed {params.seed}, baseline delay "
                                     f"{baseline_delay:g}s, speed x{speed:g})"))
    if json_out is not None:
        json_out.write_bytes(orjson.dumps([dataclasses.asdict(r) for r in reports],
                                          option=orjson.OPT_INDENT_2))
    if incomplete:
        click.echo(f"warning: sides that did not finish in time: {incomplete}", err=True)
        sys.exit(1)


# --------------------------------------------------------------------------- baseline, policy


@simulate.command()
@click.option("--bootstrap-servers", envvar="KAFKA_BOOTSTRAP_SERVERS", required=True)
@click.option("--topic", default="platform.interaction-events", show_default=True)
@click.option("--api-base-url", default="http://127.0.0.1:8080", show_default=True)
@click.option("--policy-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="default: the simulator scenario's policy")
@click.option("--client-id", default="wrapup-sim", show_default=True)
@click.option("--client-secret", envvar="WRAPUP_SIM_CLIENT_SECRET", default="wrapup-sim-secret",
              show_default="$WRAPUP_SIM_CLIENT_SECRET or a local dev value")
@click.option("--delay", type=click.FloatRange(min=0), default=2.5, show_default=True)
@click.option("--group-id", default="wrapup-baseline", show_default=True,
              help="consumer group ('' for none: read every partition from the start)")
@click.option("--duration", type=click.FloatRange(min=0), default=None,
              help="stop after this many seconds (default: until interrupted)")
@_async_command
async def baseline(bootstrap_servers: str, topic: str, api_base_url: str,
                   policy_file: Path | None, client_id: str, client_secret: str, delay: float,
                   group_id: str, duration: float | None) -> None:
    """Run the seed's approach: on ended, wait DELAY, POST once, give up on 409."""
    from streams.dev.simulator.baseline import Baseline, BaselineConfig
    from streams.dev.simulator.scenario import default_scenario

    try:
        policy = (Policy.from_json(policy_file.read_bytes()) if policy_file
                  else default_scenario().policy)
    except PolicyError as exc:
        raise click.BadParameter(str(exc), param_hint="--policy-file") from None
    runner = Baseline(BaselineConfig(bootstrap_servers, topic, api_base_url, policy, client_id,
                                     client_secret, delay, group_id or None))
    await runner.start()
    click.echo(f"baseline consuming {topic}, posting to {api_base_url} {delay:g}s after ended")
    try:
        await _until_stopped(duration)
    finally:
        await runner.stop()
    statuses: dict[int, int] = {}
    for attempt in runner.attempts:
        statuses[attempt.status] = statuses.get(attempt.status, 0) + 1
    click.echo(f"ended events {runner.ended_seen}, out of scope {runner.out_of_scope}, "
               f"POSTs by status {dict(sorted(statuses.items()))}")


@simulate.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write it here (default: print it)")
def policy(out: Path | None) -> None:
    """The policy JSON matching the simulator's scenario (what the worker should load)."""
    from streams.dev.simulator.scenario import default_scenario

    scenario = default_scenario()
    if out is None:
        click.echo(scenario.policy_json().decode(), nl=False)
    else:
        scenario.write_policy(out)
        click.echo(f"wrote {out}")


if __name__ == "__main__":
    simulate()
