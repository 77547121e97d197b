"""``wrapup dashboards``: look at the Grafana dashboards without Grafana."""

from __future__ import annotations

import time
from pathlib import Path

import click
import httpx

from streams.dev.prometheus import JOB, PrometheusClient, PrometheusError


@click.group()
def dashboards() -> None:
    """The Grafana dashboards, rendered without Grafana."""


@dashboards.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("var/charts"), show_default=True, help="where the PNGs go")
@click.option("--prometheus-url", default=None,
              help="query this Prometheus instead of running a simulation")
@click.option("--minutes", type=float, default=15.0, show_default=True,
              help="with --prometheus-url: how far back to chart")
@click.option("--job", default=JOB, show_default=True, help="the job label to chart")
@click.option("--interactions", type=int, default=150, show_default=True,
              help="size of the simulated run")
@click.option("--speed", type=float, default=4.0, show_default=True,
              help="simulated seconds per real second")
@click.option("--rate-interval", default=None,
              help="what $__rate_interval becomes (default: 10s for a simulated run, "
                   "1m for --prometheus-url)")
def render(out_dir: Path, prometheus_url: str | None, minutes: float, job: str,
           interactions: int, speed: float, rate_interval: str | None) -> None:
    """Chart every dashboard panel's queries into PNG files (matplotlib: the charts extra).

    Without --prometheus-url this runs a short simulation first: a Kafka broker
    (KAFKA_BOOTSTRAP_SERVERS, else a local one), the simulated platform with faults,
    the event bridge, a worker and a Prometheus scraping it every second, all on loopback.
    """
    from streams.dev.charts.render import ChartsUnavailable
    from streams.dev.charts.render import render as draw

    try:
        if prometheus_url is not None:
            client = PrometheusClient(prometheus_url)
            end = time.time()
            paths = draw(client, out_dir, start=end - minutes * 60, end=end,
                         step=max(1.0, minutes * 60 / 300), rate_interval=rate_interval or "1m",
                         job=job)
            client.close()
        else:
            paths = _simulate_and_draw(out_dir, interactions=interactions, speed=speed,
                                       rate_interval=rate_interval or "10s", job=job)
    except (ChartsUnavailable, PrometheusError, httpx.HTTPError) as exc:
        raise click.ClickException(str(exc)) from None
    for path in paths:
        click.echo(str(path))


def _simulate_and_draw(out_dir: Path, *, interactions: int, speed: float, rate_interval: str,
                       job: str) -> list[Path]:
    from streams.dev.charts.render import pyplot
    from streams.dev.charts.render import render as draw
    from streams.dev.charts.simrun import RunSpec, SimulatedRun
    from streams.dev.kafka import kafka_from_env

    pyplot()  # fail before the run if matplotlib is missing
    spec = RunSpec(interactions=interactions, speed=speed)
    with kafka_from_env() as bootstrap:
        click.echo(f"simulating {interactions} interactions (~{spec.real_duration:.0f} s) "
                   f"on Kafka {bootstrap}", err=True)
        with SimulatedRun(bootstrap, spec, job=job) as run:
            stats = run.play()
            click.echo(f"bridge: {stats}", err=True)
            assert run.prometheus is not None
            return draw(run.prometheus, out_dir, start=run.started_at - 5,
                        end=time.time(), step=1.0, rate_interval=rate_interval, job=job)
